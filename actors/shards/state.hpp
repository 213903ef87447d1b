// The coordinator shard's state, and its steps, each in its own file (see
// coordinator.hpp for what a shard is, ../shard.cpp for its protocol):
//
//   sessions.cpp  numbering (blocks of ids reserved in etcd), placement on a
//                 home node, results, restored sessions, the sweep
//   apps.cpp      deploys (kept in etcd first) pushed to every node, undeploys
//   nodes.cpp     a node's loss (its sessions placed again), forwarded work,
//                 and data in and out (puts and gets sent to a node)
//
// Internal to actors/.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/cluster_types.hpp"
#include "actors/coordinator.hpp"
#include "actors/core/manifest.hpp"
#include "actors/core/placement.hpp"
#include "actors/core/session_asks.hpp"
#include "actors/types.hpp"

namespace trail::actors::shards {

using clock = std::chrono::steady_clock;
using sweep_atom = caf::atom_constant<caf::atom("tsweep")>;
using resend_atom = caf::atom_constant<caf::atom("tresend")>;  // u64 number: start its sessions again

// Clients waiting for one session's result, at most.
constexpr std::size_t max_waiters = 64;

struct node_view {
  std::string name;
  caf::actor scheduler, registry;
  std::uint32_t executors = 0;
  std::uint32_t free = 0;     // hint: last heartbeat, lowered as work is placed
  std::uint32_t backlog = 0;  // hint: work queued there at the last heartbeat, plus work placed since
  std::string client;         // its client wire: where clients' puts and gets go
};

struct app_entry {
  std::uint32_t version = 0;
  std::string manifest;
  std::vector<std::string> names, bytes;
  std::set<std::string> buckets;     // its buckets' names
  std::set<std::uint64_t> holders;   // nodes that hold this version
  std::uint64_t owner = 0;           // node holding its app scope (app-scoped triggers, kept and put
                                     // objects); 0: none yet
  std::string entry_node;            // the node its entry function is pinned to (`node:`), if any
};

struct session_rec {
  std::string app;
  std::uint32_t version = 0;
  std::vector<std::string> args;
  std::uint32_t timeout_ms = 0;
  std::uint64_t request = 0;       // the client's id for the invocation that started it (0: none)
  bool put = false;                // started by a client's put on its home: it cannot start again elsewhere
  bool accepting = false;          // being written to etcd: placed once it is there
  bool kept = false;               // written to etcd: erased there when it ends
  std::uint64_t node_session = 0;  // id of the current attempt on its home; 0 while waiting
  std::uint64_t home = 0;
  std::uint32_t attempt = 0;
  clock::time_point wait_until{};  // while waiting for a node
  std::optional<core::session_asks> asks;  // when to ask its home again (placed only)
  std::vector<caf::response_promise> waiters;
};

struct outcome {
  bool ok = false;
  std::string output;
  status error;
  std::uint64_t request = 0;  // of the invocation that started the session (0: none)
  std::string app{};          // (empty when restored from etcd: not kept there)
};

struct shard_state {
  std::uint32_t index = 0;
  caf::actor keeper;  // etcd's writer (keeper.hpp), if the coordinator keeps its apps there
  std::uint64_t reserved = 0;  // with a keeper: session ids below this are reserved in etcd
  bool reserving = false;
  // Invocations that came while no id was reserved and a reservation was on
  // its way (just after a takeover, say): asked again once it is there, or
  // answered its error.
  std::vector<std::function<void(const status&)>> awaiting_ids;
  caf::actor wire;  // the coordinator's node wire: sessions start over it
  coordinator_options opts;
  // Why the coordinator is paused (it cannot renew its lease: the front
  // says); empty while it holds the shards.
  std::string paused;
  std::map<std::uint64_t, node_view> nodes;            // live
  std::map<std::string, app_entry> apps;
  std::map<std::string, std::uint32_t> versions;       // latest version number ever given, per app
  std::unordered_map<std::uint64_t, session_rec> sessions;   // by client-visible id
  std::unordered_map<std::uint64_t, std::uint64_t> attempts;  // node-level id -> client-visible id
  std::unordered_map<std::uint64_t, outcome> results;
  // Client request id -> the session it started, while the session runs or its
  // result is kept: the same request sent again (its coordinator died before
  // answering) gets that session, never a second one.
  std::unordered_map<std::uint64_t, std::uint64_t> requests;
  std::vector<std::uint64_t> forgotten;  // results dropped from the cache, to erase from etcd with the next end
  std::deque<std::uint64_t> result_order;
  std::uint64_t next = 1;
  std::uint64_t ok = 0, failed = 0, replaced = 0, forwarded = 0;
  std::uint64_t placed = 0;  // runs of sessions sent to a home node (first or again)
  std::uint64_t sent = 0;    // synchronous invokes whose clients were sent to a node (direct)
  std::set<std::uint64_t> cordoned;  // draining nodes (`trail drain`): placement leaves them out
  static inline const char* name = "trail.shard";
};

using self_ptr = caf::stateful_actor<shard_state, loop_actor>*;

// Work was placed on `n`: one executor fewer free, or one more queued.
inline void placed_on(node_view& n) {
  if (n.free > 0) --n.free;
  else ++n.backlog;
}

inline void log_line(self_ptr self, const std::string& what) {
  actors::log_line("trail-coordinator: shard " + std::to_string(self->state.index) + ": " + what);
}

// -- sessions.cpp ------------------------------------------------------------------------
std::uint64_t next_id(self_ptr self);
// With etcd: asks for the next block of session ids before this one runs out.
void reserve_ahead(self_ptr self);
// The live holders of `a` that placement may pick, with their load.
std::vector<core::node_load> loads(self_ptr self, const app_entry& a);
// The holder of `a` named `name` (a manifest's `node:`), if live.
std::optional<std::uint64_t> named_holder(self_ptr self, const app_entry& a, const std::string& name);
// A new session's home (pinned entry, else by placement); none while no live node holds `a`.
std::optional<std::uint64_t> home_for(self_ptr self, const app_entry& a);
// Keeps how session `id` ended for `trail result` (and, if `kept`, in etcd).
void remember(self_ptr self, std::uint64_t id, outcome o, bool kept);
// Session `id` ended: its waiters are answered, its result kept.
void finish(self_ptr self, std::uint64_t id, outcome o);
// Starts (or restarts) a session's attempt on a home node, or lets it wait.
void place(self_ptr self, std::uint64_t id);
// The sessions of node `number` are sent to it again (its wire broke).
void resend_runs(self_ptr self, std::uint64_t number);
// Sessions of `app` that waited for a node holding it are placed.
void place_waiting(self_ptr self, const std::string& app);
caf::result<std::uint64_t, std::string> result_of(self_ptr self, std::uint64_t id);
// Where a synchronous invoke of `app` runs, as a session of that node's
// own: the client wire of its home by placement; "" when no node can take it
// now (it is invoked here, and waits).
std::string direct(self_ptr self, const std::string& app);
caf::result<std::uint64_t, std::string> invoke(self_ptr self, const std::string& app, std::vector<std::string>& args,
                                               std::uint32_t timeout_ms, bool async, std::uint64_t request);
void restore_session(self_ptr self, std::uint64_t id, const std::string& app, std::vector<std::string> args,
                     std::uint32_t timeout_ms, std::uint64_t request);
void on_ended(self_ptr self, std::uint64_t number, std::uint64_t node_session, bool ok, std::string& output,
              std::uint8_t code, std::string& error);
// Every 100 ms: sessions that waited too long fail; silent homes are asked again.
void sweep(self_ptr self);

// -- apps.cpp ------------------------------------------------------------------------------
struct deploy_wait;
// Deploys the app's current version to node `number` (counted in `wait`, if given).
void push_deploy(self_ptr self, const std::string& app, std::uint64_t number,
                 std::shared_ptr<deploy_wait> wait = nullptr);
// Takes app `m` as version `version` (a deploy, or one kept in etcd).
app_entry& install(self_ptr self, const core::app_manifest& m, std::uint32_t version, const std::string& manifest,
                   const std::vector<std::string>& names, const std::vector<std::string>& bytes);
caf::result<std::string> deploy(self_ptr self, const std::string& manifest, const std::vector<std::string>& names,
                                const std::vector<std::string>& bytes);
caf::result<std::string> deploy_now(self_ptr self, const core::app_manifest& m, std::uint32_t version,
                                    const std::string& manifest, const std::vector<std::string>& names,
                                    const std::vector<std::string>& bytes);
caf::result<std::string> undeploy(self_ptr self, const std::string& app);
caf::result<std::string> undeploy_now(self_ptr self, const std::string& app);
// Tells every node which node owns the app-scoped triggers of `app`.
void announce_owner(self_ptr self, const std::string& app, std::uint64_t owner);

// -- nodes.cpp -----------------------------------------------------------------------------
void on_node_down(self_ptr self, std::uint64_t number);
std::uint64_t place_work(self_ptr self, const std::string& app, std::uint64_t origin, const std::string& hint);
caf::result<put_window> put(self_ptr self, const std::string& app, const std::string& bucket, const std::string& key,
                            std::uint64_t size, bool new_session, std::uint32_t timeout_ms);
caf::result<get_window> get(self_ptr self, const std::string& app, const std::string& bucket);

}  // namespace trail::actors::shards
