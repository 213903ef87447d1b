// Partitions of a cluster's shards among coordinators (issue 11). Pure: no
// CAF, no etcd, no sockets.
//
// A cluster created with K partitions of S shards has K*S shards. Partition
// p holds shards p*S .. p*S+S-1 and is held by one coordinator process at a
// time (its claim in etcd); every other coordinator process holds another
// partition or stands by for any. A partition is a coordinator of its own:
// its apps, sessions, results and nodes, its etcd keys (under p<k>/), its
// lease. So the loss of one coordinator halts only its partition's shards,
// until a standby claims it.
//
// An app lives in the partition of its shard: shard_of(app, K*S) (one hash,
// so that apps spread over every shard, not only over the partitions).
// Sessions are numbered by their shard (cluster_types.hpp), or by the node
// that started them; a partition numbers its nodes from its own range
// (first_node .. last_node), so that every session id names its partition.
//
// With K = 1 everything is as without partitions: the etcd keys at the
// cluster's prefix, node numbers from 1.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <trail/status.hpp>

namespace trail::core {

// Node-level session ids. The coordinator's shard s numbers the sessions it
// places (shard_session_base(s) + n); a node numbers the sessions it starts
// itself — its app-scoped triggers', and the synchronous invokes clients
// bring it — (node_session_base(number) + n). A standalone node starts at 1.
// Ids never collide across a cluster.
constexpr std::uint64_t shard_session_base(std::uint32_t shard) { return (std::uint64_t{shard} + 1) << 48; }
constexpr std::uint64_t node_session_base(std::uint64_t number) { return (0x8000ull | (number & 0x7fff)) << 48; }
// The shard that numbered `session`, if a shard did.
constexpr std::optional<std::uint32_t> shard_of_session(std::uint64_t session) {
  std::uint64_t top = session >> 48;
  if (top == 0 || top >= 0x8000) return std::nullopt;
  return static_cast<std::uint32_t>(top - 1);
}
// The node that numbered `session`, if a node of a cluster did.
constexpr std::optional<std::uint64_t> node_of_session(std::uint64_t session) {
  std::uint64_t top = session >> 48;
  if (top < 0x8000) return std::nullopt;
  return top & 0x7fff;
}

inline constexpr std::uint32_t max_partitions = 16;

struct partition_layout {
  std::uint32_t partitions = 1;  // K, 1..max_partitions
  std::uint32_t shards = 2;      // S, per partition, >= 1

  std::uint32_t shard_count() const { return partitions * shards; }
  // The app's shard among all K*S, and its partition.
  std::uint32_t shard_of_app(std::string_view app) const;
  std::uint32_t partition_of_app(std::string_view app) const { return shard_of_app(app) / shards; }
  // The partition of a shard (nullopt: no such shard).
  std::optional<std::uint32_t> partition_of_shard(std::uint32_t shard) const;
  // Which of partition p's shards `shard` is, 0..S-1 (nullopt: not one of p's).
  std::optional<std::uint32_t> local_shard(std::uint32_t shard, std::uint32_t p) const;
  // The node numbers partition p gives out (with K = 1: from 1, unbounded).
  std::uint64_t first_node(std::uint32_t p) const;
  std::uint64_t last_node(std::uint32_t p) const;
  // The partition whose range holds node number n (nullopt: none).
  std::optional<std::uint32_t> partition_of_node(std::uint64_t n) const;
  // The partition of whoever numbered `session` (nullopt: none did).
  std::optional<std::uint32_t> partition_of_session(std::uint64_t session) const;

  // What etcd keeps of it ("partitions K shards S"), and back. Errors:
  // invalid_argument, naming what is wrong.
  std::string encode() const;
  static result<partition_layout> decode(std::string_view text);
  // invalid_argument unless 1 <= K <= max_partitions and S >= 1.
  status check() const;

  friend bool operator==(const partition_layout&, const partition_layout&) = default;
};

// Where partition p's keys live under the cluster's etcd prefix (which is
// empty or ends in '/'): the prefix itself with one partition, else
// "<prefix>p<p>/".
std::string partition_prefix(const std::string& cluster_prefix, std::uint32_t p, std::uint32_t partitions);

// Balancing nodes between partitions: the holder of `mine` with `counts`
// (live nodes per partition; nullopt: no holder now) hands one of its nodes
// to the partition it returns, if any — the emptiest held one, when this one
// has at least two nodes more (so that a node never moves back and forth).
// Ties go to the lowest partition.
std::optional<std::uint32_t> shed_to(std::uint32_t mine, const std::vector<std::optional<std::uint32_t>>& counts);

// When a holder hands a node over, look after look: only once shed_to has
// named the same partition for `settle` (etcd's counts of other partitions
// lag their joins, and at a start or a takeover nodes are still on their way:
// a node moved meanwhile starts over for nothing), and not within `every` of
// its last hand-over (the counts catch up).
class hand_over_judge {
 public:
  using clock = std::chrono::steady_clock;
  hand_over_judge(clock::duration settle, clock::duration every) : settle_(settle), every_(every) {}

  // This look's counts (as shed_to takes them): where to hand a node now, if
  // anywhere. Saying so counts as handing it over.
  std::optional<std::uint32_t> look(std::uint32_t mine, const std::vector<std::optional<std::uint32_t>>& counts,
                                    clock::time_point now);
  // Nothing to judge now (paused, no nodes, counts unknown): start over.
  void forget() { seen_.reset(); }

 private:
  clock::duration settle_, every_;
  std::optional<std::pair<std::uint32_t, clock::time_point>> seen_;  // the target, since when
  std::optional<clock::time_point> handed_;                          // the last hand-over
};

}  // namespace trail::core
