#include "actors/keeper.hpp"

#include "actors/durable/app_records.hpp"
#include "actors/durable/session_records.hpp"
#include "actors/cluster_types.hpp"
#include "actors/types.hpp"

namespace trail::actors {
namespace {

using flush_atom = caf::atom_constant<caf::atom("tflush")>;

struct keeper_state {
  std::optional<durable::etcd> db;
  std::vector<durable::write_op> pending;         // the next group's writes
  std::vector<caf::response_promise> answers;     // ... and who waits for them
  bool flush_queued = false;
  std::function<void(const std::string&)> fenced;  // called once, when a write is refused as fenced
  static inline const char* name = "trail.keeper";
};

using self_ptr = caf::stateful_actor<keeper_state>*;

// Passes `s` on, after telling the coordinator once if it was fenced.
status checked(self_ptr self, status s) {
  auto& st = self->state;
  if (st.db->fenced() && st.fenced) std::exchange(st.fenced, nullptr)("a write to etcd was refused: " + s.message());
  return s;
}

void queue(self_ptr self, durable::write_op op, std::optional<caf::response_promise> rp) {
  auto& st = self->state;
  st.pending.push_back(std::move(op));
  if (rp) st.answers.push_back(std::move(*rp));
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, flush_atom::value);  // after what is queued already: the group
  }
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  auto ops = std::move(st.pending);
  auto answers = std::move(st.answers);
  st.pending.clear(), st.answers.clear();
  status outcome;
  for (std::size_t at = 0; at < ops.size() && outcome.ok(); at += 128) {
    std::vector<durable::write_op> part(ops.begin() + at, ops.begin() + std::min(ops.size(), at + 128));
    outcome = checked(self, st.db->write_all(part));
  }
  for (auto& rp : answers) {
    if (outcome.ok()) rp.deliver(true);
    else rp.deliver(to_error(status(outcome.code(), "cannot keep the session in etcd: " + outcome.message())));
  }
}

caf::behavior keeper(self_ptr self, durable::etcd db, std::function<void(const std::string&)> fenced) {
  self->state.db.emplace(std::move(db));
  self->state.fenced = std::move(fenced);
  reject_unexpected(self, "trail-coordinator: keeper");
  return {
      [=](keep_atom, const std::string& app, std::uint32_t version, const std::string& manifest,
          const std::vector<std::string>& names, const std::vector<std::string>& bytes) -> caf::result<bool> {
        status s = checked(self, durable::save_app(*self->state.db, {app, version, manifest, names, bytes}));
        if (!s.ok()) return to_error(status(s.code(), "cannot keep " + app + " in etcd: " + s.message()));
        return true;
      },
      [=](forget_atom, const std::string& app) -> caf::result<bool> {
        status s = checked(self, durable::forget_app(*self->state.db, app));
        if (!s.ok()) return to_error(status(s.code(), "cannot remove " + app + " from etcd: " + s.message()));
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
        if (!s.ok()) return to_error(status(s.code(), "cannot reserve session ids in etcd: " + s.message()));
        return true;
      },
      [=](flush_atom) { flush(self); },
  };
}

}  // namespace

caf::actor spawn_keeper(caf::actor_system& sys, durable::etcd db, std::function<void(const std::string&)> fenced) {
  return sys.spawn<caf::detached>(keeper, std::move(db), std::move(fenced));
}

}  // namespace trail::actors
