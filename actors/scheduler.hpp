// scheduler actor: a node's sessions, tasks and executors, and (in a
// cluster) its half of two-level scheduling. Runs on the node loop; the
// steps of its work are laid out in sched/state.hpp.
//
// Protocol:
//   app_ref                                       a version was deployed: it becomes its app's current one
//   invoke_atom, app, [args], u32 timeout_ms, bool async -> u64 session, string output
//   result_atom, u64 session                      -> u64 session, string output (waits; standalone)
//   status_atom                                   -> string (JSON)
//   apps_atom                                     -> [string] "name vN"
//   undeploy_atom, app                            -> string
//   load_atom                                     -> u32 free executors, u32 queued, u64 store bytes used
//   bucket_result, bucket_released                from bucket actors
//   drain_atom, bool fds                          from the loop: the executors have news
//   admin_atom, command, [words]                  -> string (JSON): operators' commands (sched/admin.cpp)
//   put_atom, putend_atom, get_atom, getend_atom  data in and out (types.hpp; sched/data.cpp)
// and, in a cluster, the protocol of cluster_types.hpp (coordinator, agent,
// the node-to-node wire of peers.hpp).
#pragma once

#include <future>
#include <memory>

#include <caf/all.hpp>

#include "actors/core/dispatch_policy.hpp"
#include "actors/core/session_table.hpp"
#include "actors/loop.hpp"
#include "actors/metrics.hpp"
#include "actors/net/transfer.hpp"
#include "actors/types.hpp"
#include "shm/executor_pool.hpp"

namespace trail::net {
class faults;
}

namespace trail::actors {

struct scheduler_options {
  core::session_limits limits;                  // sessions in flight, default deadline
  std::size_t max_queue = 100000;               // queued invocations before "overloaded"
  std::size_t max_args_bytes = 64 << 10;        // invocation arguments, all together
  std::size_t result_cache = 10000;             // ended sessions kept for `trail result`
  std::size_t result_cache_bytes = 256u << 20;  // ... and their outputs' bytes at most
  std::size_t max_output_bytes = 64u << 20;     // a larger output fails its session
  // A node of a cluster (not standalone): it forwards work it cannot run and
  // runs work of other nodes; see sched/cluster.cpp.
  bool cluster = false;
  std::string node_name;                        // --name
  net::transfer_service* xfer = nullptr;        // the data path; outlives the actor
  std::chrono::milliseconds forward_wait{0};    // wait for a local executor before forwarding
  core::dispatch_params dispatch;               // the machine's costs the dispatch decisions weigh
  metrics::node_metrics* metrics = nullptr;     // hop/session latencies, failures (metrics.hpp); outlives the actor
  net::faults* faults = nullptr;                // fault points armed by `trail fault`; outlives the actor
};

// Spawns the scheduler on `loop`. On the loop thread it starts the executor
// pool (`pool`) and, once the executors are up (or gave up), sets `started`
// (ok, or why not). It owns the pool and drives it from the loop; it is the
// only user of `store`, which must outlive it.
caf::actor spawn_scheduler(node_loop& loop, shm::store& store, shm::pool_options pool, scheduler_options opts,
                           std::promise<status>* started);

}  // namespace trail::actors
