#include "actors/bucket.hpp"

#include <cstdlib>
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
  bucket(std::uint64_t app_uid, std::string name, const std::vector<core::trigger_spec>& specs)
      : app_uid_(app_uid), name_(std::move(name)) {
    for (auto& spec : specs) {
      auto t = core::make_trigger(spec);
      if (t) triggers_.push_back(std::move(*t));  // validated at deploy: cannot fail here
    }
    held_.resize(triggers_.size());
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
      r.problem = status::app_error("bucket '" + name_ + "' has no dynamic trigger to " +
                                    (a.is_done ? "mark done" : "announce to"));
      return finish(std::move(r));
    }
    std::vector<core::fire> fires;
    status st = a.is_done ? triggers_[i]->done(a.session, a.producer, now, fires)
                          : triggers_[i]->announce(a.session, a.count, now, fires);
    if (!st.ok()) r.problem = status::app_error(st.message());  // (the function's misuse)
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
        r.problem = status::app_error(a.error + " (and bucket '" + name_ + "' can no longer collect " +
                                      std::to_string(t->spec().k) + " of " + std::to_string(t->spec().n) + ")");
    }
    return finish(std::move(r));
  }

  bucket_result on_timer() {
    bucket_result r = result_for(0);
    r.counted = false;
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
    take_refs(r);
    return r;
  }

  // The references of the session's objects its triggers held.
  bucket_released end_session(std::uint64_t s) {
    for (std::size_t i = 0; i < triggers_.size(); ++i)
      for (auto& o : triggers_[i]->end_session(s)) {
        if (auto it = held_[i].find(o.id); it != held_[i].end()) held_[i].erase(it);
        release_.push_back(o.id);
      }
    return {std::exchange(release_, {})};
  }

  // The actor stops (its app version is gone, or the node shuts down): every
  // reference the triggers' state held.
  bucket_released release_all() {
    for (auto& h : held_) release_.insert(release_.end(), h.begin(), h.end());
    for (auto& h : held_) h.clear();
    return {std::exchange(release_, {})};
  }

  // What each trigger still waits for in session `s`: pairs of words,
  // "trigger (type) -> target" and what it waits for.
  std::vector<std::string> waits_for(std::uint64_t s) const {
    std::vector<std::string> out;
    auto now = clock::now();
    for (auto& t : triggers_) {
      auto what = t->waits_for(s, now);
      if (what.empty()) continue;
      auto& spec = t->spec();
      out.push_back((spec.name.empty() ? spec.type : spec.name + " (" + spec.type + ")") + " -> " + spec.target);
      out.push_back(std::move(what));
    }
    return out;
  }

  // Earliest by_time deadline of any trigger.
  std::optional<clock::time_point> next_deadline() const {
    std::optional<clock::time_point> t;
    for (auto& tr : triggers_)
      if (auto d = tr->next_deadline(); d && (!t || *d < *t)) t = d;
    return t;
  }

 private:
  bucket_result result_for(std::uint64_t s) {
    bucket_result r;
    r.app_uid = app_uid_;
    r.bucket = name_;
    r.session = s;
    return r;
  }

  // Moves trigger i's fires into r; each input carries a reference: the one
  // the trigger held, or a new one.
  void take(std::size_t i, std::vector<core::fire>& fires, bucket_result& r) {
    for (auto& f : fires) {
      for (auto& in : f.inputs) {
        if (auto it = held_[i].find(in.id); it != held_[i].end()) held_[i].erase(it);
        else retain_.push_back(in.id);
      }
      if (fire_twice_) {  // the deliberately broken build: the copy takes references of its own
        for (auto& in : f.inputs) retain_.push_back(in.id);
        r.fires.push_back(f);
      }
      r.fires.push_back(std::move(f));
    }
  }

  bucket_result finish(bucket_result r) {
    for (auto& t : triggers_) r.waiting = r.waiting || t->waiting(r.session);
    take_refs(r);
    return r;
  }

  // The store operations so far go to the scheduler with `r`.
  void take_refs(bucket_result& r) {
    r.retain = std::exchange(retain_, {});
    r.release = std::exchange(release_, {});
  }

  std::size_t dynamic_index() const {
    for (std::size_t i = 0; i < triggers_.size(); ++i)
      if (is_dynamic(*triggers_[i])) return i;
    return triggers_.size();
  }

  std::uint64_t app_uid_;
  std::string name_;
  std::vector<std::unique_ptr<core::trigger>> triggers_;
  std::vector<std::multiset<std::uint64_t>> held_;  // per trigger: objects it holds a reference for
  std::vector<std::uint64_t> retain_, release_;      // store operations for the scheduler
  // Test only: TRAIL_TEST_FIRE_TWICE=1 in the node's environment breaks the
  // build on purpose — every fire goes out twice — so that a failure
  // scenario's `check` can show it catches it (tests/faults/).
  const bool fire_twice_ = std::getenv("TRAIL_TEST_FIRE_TWICE") != nullptr;
};

struct bucket_state {
  std::unique_ptr<bucket> b;
  caf::actor scheduler;
  std::optional<clock::time_point> armed;  // deadline the pending tick is for
  static inline const char* name = "trail.bucket";

  // The actor stops (its app version is gone, or the node shuts down): what
  // the triggers held goes back to the scheduler.
  ~bucket_state() {
    if (!b || !scheduler) return;
    if (auto r = b->release_all(); !r.release.empty()) caf::anon_send(scheduler, std::move(r));
  }
};

using bucket_self = caf::stateful_actor<bucket_state, loop_actor>*;

// Arms one timer for the earliest deadline, unless one is already due sooner.
void rearm(bucket_self self) {
  auto d = self->state.b->next_deadline();
  if (!d || (self->state.armed && *self->state.armed <= *d)) return;
  self->state.armed = d;
  auto delay = std::max(*d - clock::now(), clock::duration::zero());
  self->delayed_send(self, delay, tick_atom_t::value);
}

caf::behavior bucket_actor(bucket_self self, std::uint64_t app_uid, std::string name,
                           std::vector<core::trigger_spec> specs, caf::actor scheduler) {
  self->state.b = std::make_unique<bucket>(app_uid, std::move(name), specs);
  self->state.scheduler = scheduler;
  auto reply = [self, scheduler](bucket_result r) {
    self->send(scheduler, std::move(r));
    rearm(self);
  };
  return {
      [=](const bucket_object& o) { reply(self->state.b->on_object(o.object, o.scope)); },
      [=](const bucket_announce& a) { reply(self->state.b->on_announce(a)); },
      [=](admin_atom, std::uint64_t session) { return self->state.b->waits_for(session); },
      [=](end_atom, std::uint64_t session) {
        if (auto r = self->state.b->end_session(session); !r.release.empty()) self->send(scheduler, std::move(r));
      },
      [=](tick_atom_t) {
        self->state.armed.reset();
        auto r = self->state.b->on_timer();
        if (!r.fires.empty()) self->send(scheduler, std::move(r));
        rearm(self);
      },
  };
}

}  // namespace

caf::actor spawn_bucket(node_loop& loop, std::uint64_t app_uid, std::string bucket,
                        std::vector<core::trigger_spec> specs, caf::actor scheduler) {
  return spawn_on(loop, bucket_actor, app_uid, std::move(bucket), std::move(specs), std::move(scheduler));
}

}  // namespace trail::actors
