// A coordinator shard's view of the worker nodes (issue 4 §1, §4). A pure
// core: no CAF, sockets or threads; time is an input.
//
// Identity and fencing. A node process is (name, incarnation); each
// registration of a new incarnation gets a fresh node_id, never reused, so
// everything a shard keys by node_id (sessions, placed work, monitors) refers
// to exactly one incarnation. Incarnations of one name must increase (a
// restarted or resumed node picks a larger one, e.g. wall-clock ns at start).
// A node is *fenced* once it is declared dead — by a heartbeat timeout, a
// lost connection, or a newer incarnation of its name registering. After
// that, every message carrying its (node_id, incarnation) is rejected with
// invalid_argument ("fenced ... rejoin as a new incarnation"), and so is a
// registration with that or an older incarnation: the node must drop its
// sessions and register again with a larger incarnation.
//
// Liveness. A live node is declared dead by tick(now) once nothing was heard
// from it for `timeout` (heartbeats arrive every ~100 ms; registering counts
// as hearing), by connection_lost() at once, or by a newer incarnation
// registering. Only these declare deaths: a heartbeat that arrives after the
// timeout passed but before the tick that would notice it is accepted.
// Deaths take effect at once (the node is no longer live); tick(now) reports
// each exactly once.
//
// Capacity. free_executors is a hint: the last heartbeat's value, lowered by
// assigned() / refused() as the shard places work, replaced by the next
// heartbeat.
//
// Memory: records of dead nodes are kept (a few dozen bytes each) so late
// messages get a clear "fenced" error rather than "unknown node".
//
// Threading: not thread-safe; one owner (the coordinator shard actor).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <limits>
#include <string_view>
#include <vector>

#include <trail/status.hpp>

#include "actors/core/trigger.hpp"

namespace trail::core {

// One incarnation of a node, as numbered by one membership: 1, 2, ...
using node_id = std::uint64_t;

// A live node's capacity as placement sees it.
struct node_load {
  node_id node = 0;
  std::uint32_t free_executors = 0;  // hint, see membership
  std::uint32_t backlog = 0;         // hint: work queued there (last heartbeat, plus work placed since)

  friend bool operator==(const node_load&, const node_load&) = default;
};

struct membership_config {
  std::chrono::milliseconds timeout{1000};  // silence after which a node is dead; > 0
  // The ids it gives out: first_id, first_id + 1, ... up to last_id (a
  // partition's range: core/partitions.hpp). 0 < first_id <= last_id.
  std::uint64_t first_id = 1;
  std::uint64_t last_id = std::numeric_limits<std::uint64_t>::max();
};

// A node declared dead; its unfinished sessions must be re-run elsewhere.
struct node_down {
  node_id node = 0;
  std::string name;
  std::uint64_t incarnation = 0;
  enum class cause {
    timeout,          // no heartbeat for `timeout`
    connection_lost,  // the monitor reported the connection down
    replaced,         // a newer incarnation of the name registered
  } why = cause::timeout;

  friend bool operator==(const node_down&, const node_down&) = default;
};

// What a shard knows about one node incarnation.
struct node_info {
  node_id id = 0;
  std::string name;                   // --name; unique among live nodes
  std::uint64_t incarnation = 0;      // increases with every restart/rejoin of `name`
  std::string address;                // opaque to the core (e.g. "host:port")
  std::uint32_t executors = 0;        // executor processes; > 0
  std::uint32_t free_executors = 0;   // capacity hint; 0 once dead
  std::uint64_t held_bytes = 0;       // store bytes in use, last reported
  time_point last_heard{};            // latest registration or heartbeat
  std::optional<time_point> dead_at;  // set once declared dead; then fenced
  node_down::cause cause = node_down::cause::timeout;  // why, once dead_at is set
};

class membership {
 public:
  explicit membership(membership_config config = {});  // REQUIRES: config.timeout > 0

  // A node (re)joins. A new name, or a larger incarnation of a known name,
  // gets a fresh id with all executors free; a live older incarnation of the
  // name is declared dead (cause replaced). The same incarnation of a live
  // node again (a retried registration) returns its id and counts as a
  // heartbeat. Errors: invalid_argument for an empty name, 0 executors, a
  // fenced (dead or older) incarnation, or the same incarnation with another
  // address or executor count; unavailable once every id up to last_id is used.
  result<node_id> register_node(std::string_view name, std::uint64_t incarnation,
                                std::string_view address, std::uint32_t executors, time_point now);

  // A live node reports its free executors (and, if known, its store's bytes
  // in use). Errors: not_found for an unknown id; invalid_argument for a
  // fenced node, an incarnation that is not the id's, or more free executors
  // than it has. A rejected heartbeat changes nothing.
  status heartbeat(node_id node, std::uint64_t incarnation, std::uint32_t free_executors,
                   std::optional<std::uint64_t> held_bytes, time_point now);

  // The fence for any other message from a node: ok iff `node` is live with
  // this incarnation; otherwise the error heartbeat() would give.
  status check(node_id node, std::uint64_t incarnation) const;

  // The connection to `node` went down (monitor): declared dead at once.
  // No-op for unknown or already dead nodes (e.g. a late down message of a
  // replaced incarnation).
  void connection_lost(node_id node, time_point now);

  // Declares dead the live nodes not heard from for `timeout` (heard <=
  // now - timeout) and returns every death since the last tick, each exactly
  // once: earlier deaths in the order declared, then this tick's timeouts
  // in ascending id.
  std::vector<node_down> tick(time_point now);

  // The owner was not listening for `gap` (its process was stopped, its loop
  // stalled): the nodes' silence during it is the owner's, not theirs, so it
  // does not count towards their timeouts (their heard times move on by
  // `gap`). Call it before the tick that follows the gap.
  void excuse(std::chrono::steady_clock::duration gap);

  // When the next tick could declare a timeout; nullopt if no node is live.
  std::optional<time_point> next_deadline() const;

  // -- capacity hints; no-ops unless `node` is live ---------------------------

  void assigned(node_id node);  // one executor's worth of work sent: hint - 1 (floor 0)
  void refused(node_id node);   // the node refused work: hint = 0

  // -- queries ---------------------------------------------------------------

  bool live(node_id node) const;
  std::vector<node_id> live_nodes() const;                          // ascending
  std::vector<node_load> loads() const;                             // live nodes, ascending id
  std::optional<std::uint32_t> free_executors(node_id node) const;  // nullopt unless live
  std::optional<node_id> find_live(std::string_view name) const;    // placement hints
  // Live or dead; nullptr if unknown. Valid as long as the membership (records
  // are never erased).
  const node_info* find(node_id node) const;

 private:
  node_info* find_mutable(node_id node);
  node_info* find_live_mutable(node_id node);
  status fenced(const node_info& n) const;
  result<node_id> reregister(node_info& latest, std::uint64_t incarnation, std::string_view address,
                             std::uint32_t executors, time_point now);
  status room() const;  // unavailable once no id is left
  node_id add(std::string_view name, std::uint64_t incarnation, std::string_view address,
              std::uint32_t executors, time_point now);
  void declare_dead(node_info& n, node_down::cause why, time_point now);

  membership_config config_;
  std::map<node_id, node_info> nodes_;                  // live and dead
  std::map<std::string, node_id, std::less<>> latest_;  // name -> newest incarnation
  std::vector<node_down> pending_;                      // deaths not yet reported
  node_id next_id_;
};

}  // namespace trail::core
