#include "actors/keeper.hpp"

#include <algorithm>

#include "actors/durable/app_records.hpp"
#include "actors/durable/node_records.hpp"
#include "actors/durable/session_records.hpp"
#include "actors/cluster_types.hpp"
#include "actors/types.hpp"

namespace trail::actors {
namespace {

using flush_atom = caf::atom_constant<caf::atom("tflush")>;
using late_atom = caf::atom_constant<caf::atom("tlate")>;  // the wait for ends to share a group is up

// How long ends (and drops) wait for an accept to share its transaction:
// nobody waits for them, and a client invoking one session after another
// sends its next accept well within this, so each session costs one etcd
// round trip, not two. While accepts keep the keeper busy they ride with
// those; a quiet coordinator writes them end_wait after its last write.
constexpr auto end_wait = std::chrono::milliseconds(2);
// How long writes nobody waits for pause after etcd refused them, before they go again.
constexpr auto retry_after = std::chrono::milliseconds(200);

// A write of the next group, and who waits for its answer (nobody: an end,
// a drop, a node listing).
struct entry {
  durable::write_op op;
  bool awaited = false;                        // the op itself came with someone waiting (an accept)
  std::vector<caf::response_promise> waiting;  // (with those of the earlier writes of its key it replaced)
};

struct keeper_state {
  std::optional<durable::etcd> db;
  std::vector<entry> pending;  // the next group
  bool flush_queued = false;  // a flush is in the mailbox: the group goes when it is read
  bool late_queued = false;   // a flush after end_wait is on its way
  std::chrono::steady_clock::time_point last_flush{};
  bool retrying = false;  // writes etcd refused wait to go again (said once, and when they went)
  std::uint64_t refused_groups = 0;  // groups etcd did not take, ever
  std::string last_refusal;          // why, the last time
  caf::actor tell;                   // the front, told how the writes fare
  std::size_t writers = 0;           // the front and shards watched and not yet gone
  bool closing = false;              // they are all gone: the last try, no retries
  std::function<void(const std::string&)> fenced;  // called once, when a write is refused as fenced
  static inline const char* name = "trail.keeper";

  // Ends still waiting for company when the coordinator stops: written now
  // (or, if etcd refuses, their sessions run again after the restart).
  ~keeper_state() {
    for (std::size_t at = 0; db && at < pending.size(); at += 128) {
      std::vector<durable::write_op> part;
      for (std::size_t i = at; i < std::min(pending.size(), at + 128); ++i) part.push_back(pending[i].op);
      if (!db->write_all(part).ok()) break;
    }
  }
};

using self_ptr = caf::stateful_actor<keeper_state>*;

// Passes `s` on, after telling the coordinator once if it was fenced.
status checked(self_ptr self, status s) {
  auto& st = self->state;
  if (st.db->fenced() && st.fenced) std::exchange(st.fenced, nullptr)("a write to etcd was refused: " + s.message());
  return s;
}

// Someone waits for an answered write (rp): it goes with the next group at
// once; an unanswered one waits up to end_wait for company.
void queue(self_ptr self, durable::write_op op, std::optional<caf::response_promise> rp) {
  auto& st = self->state;
  // One op per key in a group: etcd refuses a transaction that names a key
  // twice (a node's erase and its newer incarnation's put), and the last
  // write is what the group means anyway; who waited for the earlier one
  // hears how the last one went.
  entry e{std::move(op), rp.has_value(), {}};
  if (auto same = std::find_if(st.pending.begin(), st.pending.end(), [&](const entry& o) { return o.op.key == e.op.key; });
      same != st.pending.end()) {
    e.waiting = std::move(same->waiting);
    st.pending.erase(same);
  }
  if (rp) e.waiting.push_back(std::move(*rp));
  st.pending.push_back(std::move(e));
  if (rp) {
    if (!st.flush_queued) {
      st.flush_queued = true;
      self->send(self, flush_atom::value);  // after what is queued already: the group
    }
  } else if (!st.flush_queued && !st.late_queued) {
    st.late_queued = true;
    self->delayed_send(self, end_wait, late_atom::value);
  }
}

// Tells the front how its writes fare: writes nobody waits for kept back
// to go again, groups refused so far, and why the last one was.
void report(self_ptr self) {
  auto& st = self->state;
  if (!st.tell) return;
  std::uint64_t kept_back = 0;
  if (st.retrying)
    for (auto& e : st.pending) kept_back += e.awaited ? 0 : 1;
  self->send(st.tell, etcd_writes_atom::value, kept_back, st.refused_groups, st.last_refusal);
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.pending.empty()) return;  // (a late flush after an earlier one took its writes)
  auto group = std::move(st.pending);
  st.pending.clear();
  status outcome;
  std::size_t written = 0;  // in transactions of at most 128 ops (etcd's limit)
  while (written < group.size()) {
    std::size_t end = std::min(group.size(), written + 128);
    std::vector<durable::write_op> part;
    for (std::size_t i = written; i < end; ++i) part.push_back(std::move(group[i].op));
    outcome = checked(self, st.db->write_all(part));
    if (!outcome.ok()) {
      for (std::size_t i = written; i < end; ++i) group[i].op = std::move(part[i - written]);  // (to go again)
      break;
    }
    written = end;
  }
  st.last_flush = std::chrono::steady_clock::now();  // (after the round trip: ends wait on while accepts keep it busy)
  for (std::size_t i = 0; i < group.size(); ++i)
    for (auto& rp : group[i].waiting) {
      if (i < written) rp.deliver(true);
      else rp.deliver(to_error(outcome.prefixed("cannot keep the session in etcd")));
    }
  if (outcome.ok() && st.retrying) {
    st.retrying = false;
    log_line("trail-coordinator: etcd took the writes it had refused");
    report(self);
  }
  if (outcome.ok()) return;
  ++st.refused_groups;
  st.last_refusal = outcome.message();
  if (st.db->fenced()) return report(self);  // (fenced: the coordinator starts over; its successor restores)
  // Etcd did not take them: the refused accepts were answered so, but ends,
  // drops and node listings wait for nobody and must not be lost. They go
  // again, before what came meanwhile (a newer write of a key wins), after
  // a pause: etcd is likely still away.
  std::vector<entry> again;
  for (std::size_t i = written; i < group.size(); ++i) {
    auto& key = group[i].op.key;
    bool newer = std::any_of(st.pending.begin(), st.pending.end(), [&](const entry& o) { return o.op.key == key; });
    if (!group[i].awaited && !newer) again.push_back({std::move(group[i].op), false, {}});
  }
  if (again.empty() || st.closing) return report(self);
  if (!st.retrying) {
    st.retrying = true;
    log_line("trail-coordinator: etcd refused " + std::to_string(again.size()) + " write(s) nobody waits for (" +
             outcome.message() + "); they go again every " + std::to_string(retry_after.count()) + " ms");
  }
  st.pending.insert(st.pending.begin(), std::make_move_iterator(again.begin()), std::make_move_iterator(again.end()));
  if (!st.late_queued) {
    st.late_queued = true;
    self->delayed_send(self, retry_after, late_atom::value);
  }
  report(self);
}

// Watches one more writer (the front, a shard).
void watch(self_ptr self, const caf::actor& writer) {
  self->monitor(writer);
  ++self->state.writers;
}

caf::behavior keeper(self_ptr self, durable::etcd db, std::function<void(const std::string&)> fenced) {
  self->state.db.emplace(std::move(db));
  self->state.fenced = std::move(fenced);
  reject_unexpected(self, "trail-coordinator: keeper");
  // What a writer sent before it went is in the mailbox ahead of its down
  // message: once the last is gone, nothing more comes.
  self->set_down_handler([=](caf::down_msg&) {
    auto& st = self->state;
    if (st.writers == 0 || --st.writers > 0) return;
    st.closing = true;
    flush(self);
    st.pending.clear();  // (refused: not tried again by the destructor either)
    self->quit();
  });
  return {
      [=](keep_atom, const std::string& app, std::uint32_t version, const std::string& manifest,
          const std::vector<std::string>& names, const std::vector<std::string>& bytes) -> caf::result<bool> {
        status s = checked(self, durable::save_app(*self->state.db, {app, version, manifest, names, bytes}));
        if (!s.ok()) return to_error(s.prefixed("cannot keep " + app + " in etcd"));
        return true;
      },
      [=](forget_atom, const std::string& app) -> caf::result<bool> {
        status s = checked(self, durable::forget_app(*self->state.db, app));
        if (!s.ok()) return to_error(s.prefixed("cannot remove " + app + " from etcd"));
        return true;
      },
      [=](accept_atom, std::uint64_t session, const std::string& app, const std::vector<std::string>& args,
          std::uint32_t timeout_ms, std::uint64_t request) {
        auto rp = self->make_response_promise<bool>();
        queue(self,
              {durable::write_op::kind::put, durable::session_key(session),
               durable::encode_session({session, app, args, timeout_ms, request})},
              rp);
        return rp;
      },
      [=](ended_atom, std::uint64_t session, bool ok, std::string& output, std::uint64_t size, std::uint16_t code,
          std::string& message, std::uint64_t request, const std::vector<std::uint64_t>& forgotten) {
        durable::stored_result r{session, ok, std::move(output), size, code, std::move(message), request};
        queue(self, {durable::write_op::kind::put, durable::result_key(session), durable::encode_result(r)}, std::nullopt);
        queue(self, {durable::write_op::kind::erase, durable::session_key(session), {}}, std::nullopt);
        for (auto id : forgotten) queue(self, {durable::write_op::kind::erase, durable::result_key(id), {}}, std::nullopt);
      },
      [=](drop_atom, std::uint64_t session) {
        queue(self, {durable::write_op::kind::erase, durable::session_key(session), {}}, std::nullopt);
      },
      [=](reserve_atom, std::uint32_t shard, std::uint64_t upto) -> caf::result<bool> {
        status s = checked(self, self->state.db->put(durable::reserved_key(shard), std::to_string(upto)));
        if (!s.ok()) return to_error(s.prefixed("cannot reserve session ids in etcd"));
        return true;
      },
      [=](listed_atom, const std::string& node, std::string& record) {
        if (record.empty()) queue(self, {durable::write_op::kind::erase, durable::node_key(node), {}}, std::nullopt);
        else queue(self, {durable::write_op::kind::put, durable::node_key(node), std::move(record)}, std::nullopt);
      },
      [=](flush_atom) { flush(self); },
      [=](const caf::actor& front) {
        self->state.tell = front;
        watch(self, front);
      },
      [=](writers_atom, const std::vector<caf::actor>& shards) {
        for (auto& s : shards) watch(self, s);
      },
      [=](late_atom) {
        auto& st = self->state;
        st.late_queued = false;
        if (st.pending.empty()) return;
        // While accepts keep coming, the ends ride with them (a group of
        // their own would cost the accepts a round trip): wait on.
        if (auto since = std::chrono::steady_clock::now() - st.last_flush; since < end_wait) {
          st.late_queued = true;
          self->delayed_send(self, end_wait - since, late_atom::value);
          return;
        }
        flush(self);
      },
  };
}

}  // namespace

caf::actor spawn_keeper(caf::actor_system& sys, durable::etcd db, std::function<void(const std::string&)> fenced) {
  return sys.spawn<caf::detached>(keeper, std::move(db), std::move(fenced));
}

}  // namespace trail::actors
