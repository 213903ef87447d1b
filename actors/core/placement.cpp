#include "actors/core/placement.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include <trail/check.hpp>

namespace trail::core {
namespace {

// A node as the ranking sees it.
struct candidate {
  node_id node = 0;
  std::uint32_t free = 0;
  std::uint32_t backlog = 0;
  std::uint64_t bytes = 0;  // input bytes held there
};

// True if `a` ranks above `b` (see placement.hpp).
bool better(const candidate& a, const candidate& b) {
  if ((a.free > 0) != (b.free > 0)) return a.free > 0;
  if (a.free == 0 && a.backlog != b.backlog) return a.backlog < b.backlog;
  if (a.bytes != b.bytes) return a.bytes > b.bytes;
  if (a.free != b.free) return a.free > b.free;
  return a.node < b.node;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return b > std::numeric_limits<std::uint64_t>::max() - a
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

std::map<node_id, std::uint64_t> bytes_per_node(std::span<const held_input> inputs) {
  std::map<node_id, std::uint64_t> out;
  for (const auto& in : inputs) out[in.node] = saturating_add(out[in.node], in.bytes);
  return out;
}

// The best node of `nodes` for which skip(node) is false, if any.
template <class Skip>
std::optional<node_id> best(std::span<const node_load> nodes, std::span<const held_input> inputs,
                            Skip skip) {
  const auto bytes = bytes_per_node(inputs);
  std::optional<candidate> top;
  for (const auto& n : nodes) {
    if (skip(n.node)) continue;
    auto it = bytes.find(n.node);
    const candidate c{n.node, n.free_executors, n.backlog, it == bytes.end() ? 0 : it->second};
    if (!top || better(c, *top)) top = c;
  }
  if (!top) return std::nullopt;
  return top->node;
}

}  // namespace

// -- sharding -------------------------------------------------------------------

std::uint64_t fnv1a_64(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // offset basis
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;  // FNV prime
  }
  return h;
}

std::uint32_t shard_of(std::string_view app, std::uint32_t shard_count) {
  TRAIL_REQUIRE(shard_count > 0, "shard_of with 0 shards for app", app);
  return static_cast<std::uint32_t>(fnv1a_64(app) % shard_count);
}

// -- shard side -------------------------------------------------------------------

result<node_id> place_session(std::span<const node_load> nodes, std::span<const held_input> inputs,
                              const std::set<node_id>& excluded) {
  if (nodes.empty()) return status::unavailable("no live node to place work on");
  auto top = best(nodes, inputs, [&](node_id n) { return excluded.count(n) != 0; });
  if (top) return *top;
  return status::overloaded("all " + std::to_string(nodes.size()) +
                            " live nodes refused the work; retry later");
}

result<node_id> place_forwarded(std::span<const node_load> nodes,
                                std::span<const held_input> inputs, node_id origin,
                                const std::set<node_id>& excluded) {
  auto top = best(nodes, inputs, [&](node_id n) { return n == origin || excluded.count(n) != 0; });
  if (top) return *top;
  return place_session(nodes, inputs, excluded);  // origin, if it is in the view
}

// -- node side --------------------------------------------------------------------

forwarding_policy::forwarding_policy(std::chrono::milliseconds wait)
    : wait_(std::max(wait, std::chrono::milliseconds{0})) {}

forward_decision forwarding_policy::decide(const pending_work& w, std::uint32_t free_local,
                                           time_point now) const {
  if (free_local > 0) return forward_decision::run_local;
  if (w.forwarded) return forward_decision::queue;
  return now >= forward_at(w) ? forward_decision::forward : forward_decision::queue;
}

}  // namespace trail::core
