// A coordinator shard; see coordinator.hpp. This file is its protocol; its
// steps live in shards/ (state.hpp lists them).
//
// Sessions. An invocation gets a session id from this shard; its first
// attempt runs under that id on the home node the shard picks (capacity
// first: core::place_session). If the home is lost, the session starts again
// from its arguments under a new node-level id (a new attempt) on a live
// node; whatever the lost attempt left is ignored (reports of a dead node
// are rejected everywhere, and its session ids are never reused). The client
// sees one session id and exactly one outcome.
//
// Invocations that arrive while no node holds the app wait, bounded by
// `placement_wait` (or the invocation's own timeout), then fail "unavailable".
//
// Puts and gets (data in and out) are not carried here: the shard picks the
// node and the client is redirected there. A put into a new session starts
// that session on the node (expect_atom) before the client is told where to
// go; having no arguments to start again from, such a session fails when its
// home is lost. App-scoped objects live on the app's owner.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "actors/keeper.hpp"
#include "actors/registry.hpp"
#include "actors/shards/state.hpp"

namespace trail::actors {
namespace {

using namespace shards;

std::string status_json(self_ptr self) {
  auto& st = self->state;
  std::size_t waiting = 0;
  for (auto& [id, rec] : st.sessions) waiting += rec.home == 0;
  nlohmann::json apps = nlohmann::json::object();
  for (auto& [name, a] : st.apps)
    apps[name] = {{"version", a.version}, {"holders", a.holders}, {"owner", a.owner}};
  nlohmann::json j{{"shard", st.index},
                   {"apps", apps},
                   {"sessions", {{"in_flight", st.sessions.size()}, {"waiting_for_a_node", waiting}, {"ok", st.ok},
                                 {"failed", st.failed}, {"restarted_elsewhere", st.replaced},
                                 {"placed", st.placed}, {"clients_sent_to_nodes", st.sent}}},
                   {"forwarded", {{"placed", st.forwarded}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

caf::behavior shard_actor(self_ptr self, std::uint32_t index, coordinator_options opts) {
  self->state.index = index;
  self->state.opts = std::move(opts);
  std::filesystem::create_directories(self->state.opts.state_dir / "libs");
  reject_unexpected(self, "trail-coordinator: shard " + std::to_string(index));
  self->send(self, sweep_atom::value);
  return {
      [=](sweep_atom) { sweep(self); },
      [=](peers_atom, const caf::actor& wire) { self->state.wire = wire; },
      [=](peer_atom, std::uint64_t number, const std::string& name, const caf::actor& scheduler,
          const caf::actor& registry, std::uint32_t executors, const std::string& client) {
        self->state.nodes[number] = {name, scheduler, registry, executors, executors, 0, client};
        for (auto& [app, a] : self->state.apps) push_deploy(self, app, number);
      },
      [=](down_atom, std::uint64_t number) { on_node_down(self, number); },
      [=](lost_atom, std::uint64_t number) {  // (after a moment: the node redials, or is declared dead)
        self->delayed_send(self, std::chrono::milliseconds(100), resend_atom::value, number);
      },
      [=](resend_atom, std::uint64_t number) { resend_runs(self, number); },
      [=](beat_atom, std::uint64_t number, std::uint32_t free, std::uint32_t queued) {
        if (auto it = self->state.nodes.find(number); it != self->state.nodes.end()) {
          it->second.free = free;
          it->second.backlog = queued;
        }
      },
      [=](ended_atom, std::uint64_t number, std::uint64_t session, bool ok, std::string& output, std::uint8_t code,
          std::string& error) { on_ended(self, number, session, ok, output, code, error); },
      [=](fwd_atom, const std::string& app, std::uint64_t origin, const std::string& hint) {
        return place_work(self, app, origin, hint);
      },
      [=](deploy_atom, const std::string& manifest, const std::vector<std::string>& names,
          const std::vector<std::string>& bytes) { return deploy(self, manifest, names, bytes); },
      [=](deploy_atom, const std::string& manifest, const std::vector<std::string>& names,
          const std::vector<std::string>& bytes, std::uint32_t version) -> caf::result<std::string> {
        auto m = core::parse_manifest(manifest, upload_root);  // (checked, and its libraries written, before)
        if (!m) return to_error(m.error());
        return deploy_now(self, *m, version, manifest, names, bytes);
      },
      [=](restore_atom, const std::string& manifest, const std::vector<std::string>& names,
          const std::vector<std::string>& bytes, std::uint32_t version) {
        auto m = prepare_upload(self->state.opts.state_dir / "libs", max_library_bytes, manifest, names, bytes);
        if (!m) return log_line(self, "a kept app cannot be deployed again: " + m.error().message());
        install(self, *m, version, manifest, names, bytes);
        log_line(self, "deployed " + m->app + " v" + std::to_string(version) + " again, as kept in etcd");
      },
      [=](pause_atom, bool paused, const std::string& why) {
        auto& st = self->state;
        st.paused = paused ? why : std::string();
        if (paused) return;
        for (auto& [id, rec] : st.sessions)  // (they waited for nothing meanwhile)
          if (rec.home == 0) rec.wait_until = std::max(rec.wait_until, clock::now() + st.opts.placement_wait);
      },
      [=](restore_atom, const caf::actor& keeper) {
        self->state.keeper = keeper;
        reserve_ahead(self);
      },
      [=](restore_atom, std::uint64_t reserved) {  // ids below were handed out before
        auto& st = self->state;
        st.reserved = std::max(st.reserved, reserved);
        if (reserved > shard_session_base(st.index)) st.next = std::max(st.next, reserved - shard_session_base(st.index));
      },
      [=](restore_atom, std::uint64_t id, const std::string& app, std::vector<std::string>& args,
          std::uint32_t timeout_ms, std::uint64_t request) { restore_session(self, id, app, std::move(args), timeout_ms, request); },
      [=](restore_atom, std::uint64_t id, bool ok, std::string& output, std::uint64_t size, std::uint16_t code,
          std::string& message, std::uint64_t request) {  // how a session ended, as kept
        outcome o{ok, std::move(output), {}, request};
        if (!ok) o.error = status(static_cast<errc>(code), std::move(message));
        else if (o.output.size() != size)
          o = outcome{false, {}, status::unavailable("the output of session " + std::to_string(id) + " (" +
                                                     std::to_string(size) + " bytes) was too large to keep across a "
                                                     "change of coordinator"), request};
        remember(self, id, std::move(o), false);
      },
      [=](restore_atom, const std::string& app, std::uint32_t latest) {  // a version number given before
        auto& v = self->state.versions[app];
        v = std::max(v, latest);
      },
      [=](direct_atom, const std::string& app) { return direct(self, app); },
      [=](invoke_atom, const std::string& app, std::vector<std::string>& args, std::uint32_t timeout_ms, bool async,
          std::uint64_t request) { return invoke(self, app, args, timeout_ms, async, request); },
      [=](put_atom, const std::string& app, const std::string& bucket, const std::string& key, std::uint64_t size,
          bool new_session, std::uint32_t timeout_ms) { return put(self, app, bucket, key, size, new_session, timeout_ms); },
      [=](get_atom, const std::string& app, const std::string& bucket, const std::string&) { return get(self, app, bucket); },
      [=](result_atom, std::uint64_t id) { return result_of(self, id); },
      [=](undeploy_atom, const std::string& app) { return undeploy(self, app); },
      [=](undeploy_atom, const std::string& app, bool) { return undeploy_now(self, app); },
      [=](apps_atom) {
        std::vector<std::string> out;
        for (auto& [name, a] : self->state.apps) out.push_back(name + " v" + std::to_string(a.version));
        return out;
      },
      [=](status_atom) { return status_json(self); },
      [=](admin_atom, const std::string& what, std::uint64_t number, bool on) {  // "cordon": from the front
        if (what != "cordon") return;
        if (on) self->state.cordoned.insert(number);
        else self->state.cordoned.erase(number);
      },
  };
}

}  // namespace

caf::actor spawn_shard(node_loop& loop, std::uint32_t index, const coordinator_options& opts) {
  return spawn_on(loop, shard_actor, index, opts);
}

}  // namespace trail::actors
