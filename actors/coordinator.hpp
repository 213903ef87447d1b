// The coordinator of a trail cluster (issue 4 §1, §2): a front actor and N
// shard actors in one process.
//
// The front is what clients and nodes connect to. It keeps the membership
// (core::membership: registrations, heartbeats, fencing, monitors) and routes
// everything about an app to the app's shard (core::shard_of) and everything
// about a session to the shard that numbered it. It carries metadata only.
//
// A shard owns a disjoint set of apps and shares nothing with the other
// shards: their deployments (pushed to every node, including nodes that
// join later), their sessions (placed on a home node by capacity, re-placed
// under a new attempt when the home is lost), forwarded work (placed on a
// node with capacity; a node may refuse and the shard tries the next), and
// which node owns each app's app-scoped triggers.
//
// Clients speak the same protocol as to a standalone node (types.hpp), through
// the coordinator's gateway; nodes speak cluster_types.hpp over CAF for
// membership and control, and the node wire (peers.hpp) for the sessions the
// shards start on them and their ends. Everything runs on one node loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <caf/all.hpp>

#include <trail/status.hpp>

#include "actors/loop.hpp"
#include "actors/net/auth.hpp"
#include "actors/net/handshake.hpp"

namespace trail::actors {

struct coordinator_options {
  std::uint32_t shards = 2;                       // --shards (per partition)
  // With etcd, --partitions: the cluster's shards are split into this many
  // partitions, each held by one coordinator (core/partitions.hpp); this
  // one holds `partition`. Its shards, nodes and keys are that partition's.
  std::uint32_t partitions = 1;
  std::uint32_t partition = 0;
  std::filesystem::path state_dir;                // uploaded libraries are checked here
  std::chrono::milliseconds node_timeout{1000};   // silence after which a node is dead
  std::chrono::milliseconds placement_wait{10000};  // an invocation waits this long for a node
  std::size_t result_cache = 10000;               // ended sessions kept per shard for `trail result`
  std::string etcd;                               // --etcd endpoints: deployed apps are kept there
  std::string etcd_prefix;                        // --etcd-prefix: under it (durable::etcd::within)
  net::member_security members;                   // --secret-file, --tls-*: how the node wire is guarded
  // --invoke-token-file (with the secret): handed to every node that joins,
  // sealed under the secret, so invoke-only clients are accepted where the
  // coordinator sends them (direct invokes, puts, gets).
  std::optional<net::key> invoke_token;
  // With etcd: what the claim key holds while this coordinator holds the
  // shards (shard_claim.hpp); every write to etcd checks it. `fenced` is
  // called once when one is refused because it no longer does.
  std::string claim;
  std::function<void(const std::string&)> fenced;
  // With etcd: a holder that had nodes and has had none for
  // `step_down_after` while another coordinator is listed calls
  // `step_down(why)` once. Cut off from its nodes, it would otherwise keep
  // the shards from a standby they can reach (0: never).
  std::chrono::milliseconds step_down_after{0};
  std::function<void(const std::string&)> step_down;
};

struct coordinator_handles {
  caf::actor front;          // publish it
  std::string control_wire;  // the node wire's address
  caf::actor keeper;         // with etcd (keeper.hpp); it ends once front and shards are gone
};

// Spawns the shards and the front on `loop`, and the node wire the shards
// start sessions over (peers.hpp) on `host`. With `opts.etcd`, the apps kept
// there are deployed again first (an unreachable etcd is an error:
// unavailable), and every deploy and undeploy is written there before it is
// answered.
result<coordinator_handles> spawn_coordinator(node_loop& loop, const std::string& host,
                                              const coordinator_options& opts);

// One shard. `index` (among all the cluster's shards: partition * shards + i)
// numbers its sessions (cluster_types.hpp). It starts
// sessions over the coordinator's node wire (peers.hpp), which the front
// hands it: (peers_atom, wire).
// With etcd, the coordinator hands it the keeper (keeper.hpp) after the
// apps kept there: (restore_atom, keeper).
caf::actor spawn_shard(node_loop& loop, std::uint32_t index, const coordinator_options& opts);

}  // namespace trail::actors
