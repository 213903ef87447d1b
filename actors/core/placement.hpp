// Placement decisions of two-level scheduling (issue 4 §2). Pure functions
// and one small policy class: no CAF, sockets or threads; time is an input.
//
// Level 1 (node): a node runs a triggered function locally when it has a
// free executor; otherwise, after `forwarding_policy::wait`, it forwards the
// work to its app's shard. Forwarded work is marked and never forwarded
// again: the node that receives it queues it.
// Level 2 (shard): the shard picks a node by one ranking, best first:
//   1. capacity: a node with a free executor beats one without (nodes with
//      none are used only when no candidate has any — the node queues);
//      between two without, the shorter backlog (work queued there) wins,
//      so that a saturated cluster spreads its queues instead of piling
//      everything onto one node;
//   2. data locality: more bytes of the inputs already held on the node;
//   3. load: more free executors;
//   4. the lowest node id (deterministic).
// Locality ranks above load among nodes with capacity: moving inputs costs
// more than an uneven spread, and the shard's assigned() hints spill work to
// other nodes once the data holder is full.
//
// Candidates: `nodes` is the caller's view (e.g. membership::loads(), already
// filtered to nodes holding the app's library); free executor counts there
// are hints. A node that refuses work is added to `excluded` and placement
// asked again, so the shard places elsewhere. Excluded nodes are never
// chosen.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <span>
#include <string_view>

#include <trail/status.hpp>

#include "actors/core/membership.hpp"
#include "actors/core/trigger.hpp"

namespace trail::core {

// -- sharding -----------------------------------------------------------------

// FNV-1a, 64 bit: stable across runs, builds and platforms (unlike std::hash).
std::uint64_t fnv1a_64(std::string_view bytes);

// The shard that owns `app`: fnv1a_64(app) % shard_count.
// REQUIRES: shard_count > 0.
std::uint32_t shard_of(std::string_view app, std::uint32_t shard_count);

// -- shard side ---------------------------------------------------------------

// `bytes` of a work's inputs are held on `node` (one entry per input; several
// entries may name the same node, and nodes outside the view are ignored).
struct held_input {
  node_id node = 0;
  std::uint64_t bytes = 0;
};

// The home node of a new session (or any work entering at the shard), by the
// ranking above. REQUIRES: node ids in `nodes` are distinct.
// Errors: unavailable when `nodes` is empty; overloaded (back off, retry)
// when every node is excluded.
result<node_id> place_session(std::span<const node_load> nodes, std::span<const held_input> inputs,
                              const std::set<node_id>& excluded = {});

// Work that `origin` forwarded because it was busy, by the same ranking but
// never back to `origin` while another non-excluded node is in the view;
// `origin` is the last resort (e.g. the only live node, or all others
// refused), where the work then waits in its queue. Errors as place_session.
result<node_id> place_forwarded(std::span<const node_load> nodes,
                                std::span<const held_input> inputs, node_id origin,
                                const std::set<node_id>& excluded = {});

// -- node side ------------------------------------------------------------------

// A unit of work waiting on a node for an executor.
struct pending_work {
  time_point queued_at{};  // when it became runnable on this node
  bool forwarded = false;  // placed here by the shard: never forwarded again
};

enum class forward_decision {
  run_local,  // a local executor is free: run it here now
  forward,    // send it to the app's shard (mark it forwarded there)
  queue,      // keep it queued here; ask again at forward_at() or when an
              // executor frees up
};

// Whether a node runs work locally or forwards it to its shard.
class forwarding_policy {
 public:
  // `wait`: how long work waits for a local executor before it is forwarded
  // (default 0: forward at once). A negative wait counts as 0.
  explicit forwarding_policy(std::chrono::milliseconds wait = std::chrono::milliseconds{0});

  // run_local if an executor is free; otherwise queue forwarded work for
  // good, and forward other work once it has waited `wait` (now >=
  // forward_at), queueing it until then.
  forward_decision decide(const pending_work& w, std::uint32_t free_local, time_point now) const;

  // When `w` may be forwarded if no executor frees up: queued_at + wait.
  time_point forward_at(const pending_work& w) const { return w.queued_at + wait_; }

  std::chrono::milliseconds wait() const { return wait_; }

 private:
  std::chrono::milliseconds wait_;
};

}  // namespace trail::core
