// The coordinator's half of the admin commands: it asks the nodes (each
// scheduler answers for itself, sched/admin.cpp) and merges their answers
// into one, so that `trail nodes`, `sessions`, `session ID`, `trace ID`,
// `cancel ID`, `drain NODE`, `logs NODE` and `fault NODE ...` work against a
// cluster as against a standalone node. Internal to actors/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

namespace trail::actors {

// A live node as the coordinator knows it.
struct admin_node {
  std::uint64_t number = 0;
  std::string name, wire;
  caf::actor scheduler;
};

struct admin_scope {
  std::vector<admin_node> nodes;
  std::vector<caf::actor> shards;  // told which nodes drain (placement leaves them out)
  std::uint32_t shard_count = 0;
  std::string claim;  // with etcd: what this coordinator holds the shards as (shard_claim.hpp)
  std::vector<std::string> coordinators;  // with etcd: every coordinator process listed there
  nlohmann::json etcd_writes;             // with etcd: {"kept_back", "refused_groups", "last_refusal"} (keeper.hpp)
  std::string paused;                     // with etcd: why it cannot renew its lease (empty: it can)
  std::string etcd_prefix;                // with etcd: --etcd-prefix, the cluster's keys live under it
  // With several partitions: the one held, how many, and (as etcd last said)
  // each one's holder ("": none) and nodes (-1: not held).
  std::uint32_t partition = 0, partitions = 1;
  std::vector<std::string> holders;
  std::vector<std::int32_t> partition_nodes;
};

// The coordinator as `trail status` and `trail nodes` show it: its pid, its
// shards and (with etcd) what it holds them as, and every coordinator listed
// in etcd ({"identity", "holds_shards"}: the others stand by), and how its
// writes to etcd fare ("etcd_writes"); "paused" says why, while it cannot
// renew its lease and may no longer hold the shards. With several partitions,
// "partition" says which it holds, and who holds the others.
nlohmann::json describe_coordinator(const admin_scope& scope);

// Answers `command` with JSON text (or a trail error), asking nodes as needed.
caf::result<std::string> coordinator_admin(caf::event_based_actor* self, admin_scope scope, const std::string& command,
                                           const std::vector<std::string>& words);

}  // namespace trail::actors
