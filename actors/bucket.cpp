#include "actors/bucket.hpp"

#include <set>

namespace trail::actors {
namespace {

using clock = std::chrono::steady_clock;

bool is_dynamic(const core::trigger& t) {
  return t.spec().type == "dynamic_group" || t.spec().type == "dynamic_join";
}

// The triggers of one bucket and the store references they hold.
class bucket {
 public:
  bucket(std::uint64_t app_uid, std::string name, const std::vector<core::trigger_spec>& specs,
         shm::executor_service* svc)
      : app_uid_(app_uid), name_(std::move(name)), svc_(svc) {
    for (auto& spec : specs) {
      auto t = core::make_trigger(spec);
      if (t) triggers_.push_back(std::move(*t));  // validated at deploy: cannot fail here
    }
    held_.resize(triggers_.size());
  }

  // The actor stops (its app version is gone, or the node shuts down): the
  // references the triggers' state held go with it.
  ~bucket() {
    for (auto& h : held_) release_.insert(release_.end(), h.begin(), h.end());
    apply_refs();
  }
  bucket(const bucket&) = delete;
  bucket& operator=(const bucket&) = delete;

  bucket_result on_object(const core::object_meta& o, bucket_object::scope_filter filter) {
    using f = bucket_object::scope_filter;
    auto r = result_for(o.session);
    auto now = clock::now();
    for (std::size_t i = 0; i < triggers_.size(); ++i) {
      bool app_scoped = triggers_[i]->spec().sc == core::scope::app;
      if ((filter == f::session_only && app_scoped) || (filter == f::app_only && !app_scoped)) continue;
      auto out = triggers_[i]->on_object(o, now);
      if (out.held) {
        held_[i].insert(o.id);
        retain_.push_back(o.id);
      }
      take(i, out.fires, r);
    }
    release_.push_back(o.id);  // the reference the scheduler took for the trip here
    r.counted = filter != f::app_only;  // an object of another node's session: not counted here
    return finish(std::move(r));
  }

  bucket_result on_announce(const bucket_announce& a) {
    if (a.is_replica_failure) return on_replica_failure(a);
    auto r = result_for(a.session);
    auto now = clock::now();
    std::size_t i = dynamic_index();
    if (i == triggers_.size()) {
      r.problem = status::invalid("bucket '" + name_ + "' has no dynamic trigger to " +
                                  (a.is_done ? "mark done" : "announce to"));
      return finish(std::move(r));
    }
    std::vector<core::fire> fires;
    status st = a.is_done ? triggers_[i]->done(a.session, a.producer, now, fires)
                          : triggers_[i]->announce(a.session, a.count, now, fires);
    if (!st.ok()) r.problem = st;
    take(i, fires, r);
    return finish(std::move(r));
  }

  // A function of the session failed for good. If it was a replica, the
  // session survives as long as every redundant round can still reach k.
  bucket_result on_replica_failure(const bucket_announce& a) {
    auto r = result_for(a.session);
    for (auto& t : triggers_) {
      if (t->spec().type != "redundant") continue;
      auto reachable = t->replica_failed(a.session);
      if (!reachable.ok() || !*reachable)
        r.problem = status::internal(a.error + " (and bucket '" + name_ + "' can no longer collect " +
                                     std::to_string(t->spec().k) + " of " + std::to_string(t->spec().n) + ")");
    }
    return finish(std::move(r));
  }

  bucket_result on_timer() {
    bucket_result r{app_uid_, name_, 0, {}, false, false, {}, {}};
    auto now = clock::now();
    for (std::size_t i = 0; i < triggers_.size(); ++i) {
      auto fires = triggers_[i]->on_timer(now);
      take(i, fires, r);
    }
    // A closed window may have been all its session was waiting for.
    std::set<std::uint64_t> sessions;
    for (auto& f : r.fires)
      if (f.session) sessions.insert(*f.session);
    for (auto s : sessions) {
      bool waiting = false;
      for (auto& t : triggers_) waiting = waiting || t->waiting(s);
      r.waiting_updates.emplace_back(s, waiting);
    }
    apply_refs();
    return r;
  }

  void end_session(std::uint64_t s) {
    for (std::size_t i = 0; i < triggers_.size(); ++i)
      for (auto& o : triggers_[i]->end_session(s)) {
        if (auto it = held_[i].find(o.id); it != held_[i].end()) held_[i].erase(it);
        release_.push_back(o.id);
      }
    apply_refs();
  }

  // Earliest by_time deadline of any trigger.
  std::optional<clock::time_point> next_deadline() const {
    std::optional<clock::time_point> t;
    for (auto& tr : triggers_)
      if (auto d = tr->next_deadline(); d && (!t || *d < *t)) t = d;
    return t;
  }

 private:
  bucket_result result_for(std::uint64_t s) { return {app_uid_, name_, s, {}, false, true, {}, {}}; }

  // Moves trigger i's fires into r; each input carries a reference: the one
  // the trigger held, or a new one.
  void take(std::size_t i, std::vector<core::fire>& fires, bucket_result& r) {
    for (auto& f : fires) {
      for (auto& in : f.inputs) {
        if (auto it = held_[i].find(in.id); it != held_[i].end()) held_[i].erase(it);
        else retain_.push_back(in.id);
      }
      r.fires.push_back(std::move(f));
    }
  }

  bucket_result finish(bucket_result r) {
    for (auto& t : triggers_) r.waiting = r.waiting || t->waiting(r.session);
    apply_refs();
    return r;
  }

  void apply_refs() {
    if (retain_.empty() && release_.empty()) return;
    svc_->with_store([&](shm::store& st) {
      for (auto id : retain_) st.retain(id);
      for (auto id : release_) st.release(id);
    });
    retain_.clear(), release_.clear();
  }

  std::size_t dynamic_index() const {
    for (std::size_t i = 0; i < triggers_.size(); ++i)
      if (is_dynamic(*triggers_[i])) return i;
    return triggers_.size();
  }

  std::uint64_t app_uid_;
  std::string name_;
  shm::executor_service* svc_;
  std::vector<std::unique_ptr<core::trigger>> triggers_;
  std::vector<std::multiset<std::uint64_t>> held_;  // per trigger: objects it holds a reference for
  std::vector<std::uint64_t> retain_, release_;      // batched store operations
};

struct bucket_state {
  std::unique_ptr<bucket> b;
  std::optional<clock::time_point> armed;  // deadline the pending tick is for
  static inline const char* name = "trail.bucket";
};

// Arms one timer for the earliest deadline, unless one is already due sooner.
void rearm(caf::stateful_actor<bucket_state>* self) {
  auto d = self->state.b->next_deadline();
  if (!d || (self->state.armed && *self->state.armed <= *d)) return;
  self->state.armed = d;
  auto delay = std::max(*d - clock::now(), clock::duration::zero());
  self->delayed_send(self, delay, tick_atom_t::value);
}

caf::behavior bucket_actor(caf::stateful_actor<bucket_state>* self, std::uint64_t app_uid, std::string name,
                           std::vector<core::trigger_spec> specs, shm::executor_service* svc,
                           caf::actor scheduler) {
  self->state.b = std::make_unique<bucket>(app_uid, std::move(name), specs, svc);
  auto reply = [self, scheduler](bucket_result r) {
    self->send(scheduler, std::move(r));
    rearm(self);
  };
  return {
      [=](const bucket_object& o) { reply(self->state.b->on_object(o.object, o.scope)); },
      [=](const bucket_announce& a) { reply(self->state.b->on_announce(a)); },
      [=](end_atom, std::uint64_t session) { self->state.b->end_session(session); },
      [=](tick_atom_t) {
        self->state.armed.reset();
        auto r = self->state.b->on_timer();
        if (!r.fires.empty()) self->send(scheduler, std::move(r));
        rearm(self);
      },
  };
}

}  // namespace

caf::actor spawn_bucket(caf::local_actor* parent, std::uint64_t app_uid, std::string bucket,
                        std::vector<core::trigger_spec> specs, shm::executor_service* svc,
                        caf::actor scheduler) {
  return parent->home_system().spawn(bucket_actor, app_uid, std::move(bucket), std::move(specs), svc, std::move(scheduler));
}

}  // namespace trail::actors
