#include "actors/core/membership.hpp"

#include <algorithm>
#include <utility>

#include <trail/check.hpp>

namespace trail::core {
namespace {

std::string describe(const node_info& n) {
  return "node '" + n.name + "' (id " + std::to_string(n.id) + ", incarnation " +
         std::to_string(n.incarnation) + ")";
}

const char* cause_name(node_down::cause c) {
  switch (c) {
    case node_down::cause::timeout:
      return "heartbeat timeout";
    case node_down::cause::connection_lost:
      return "connection lost";
    case node_down::cause::replaced:
      return "replaced by a newer incarnation";
  }
  return "unknown";
}

}  // namespace

membership::membership(membership_config config) : config_(config), next_id_(config.first_id) {
  TRAIL_REQUIRE(config_.timeout.count() > 0, "membership timeout ms", config_.timeout.count());
  TRAIL_REQUIRE(config_.first_id > 0 && config_.first_id <= config_.last_id, "membership ids from", config_.first_id);
}

// -- registration and heartbeats ---------------------------------------------

result<node_id> membership::register_node(std::string_view name, std::uint64_t incarnation,
                                          std::string_view address, std::uint32_t executors,
                                          time_point now) {
  if (name.empty()) return status::invalid("node registration without a name");
  if (executors == 0)
    return status::invalid("node '" + std::string(name) + "' registered with 0 executors");
  auto it = latest_.find(name);
  if (it == latest_.end()) {
    if (status s = room(); !s.ok()) return s;
    return add(name, incarnation, address, executors, now);
  }
  return reregister(*find_mutable(it->second), incarnation, address, executors, now);
}

// `latest` is the newest known incarnation of the registering name.
result<node_id> membership::reregister(node_info& latest, std::uint64_t incarnation,
                                       std::string_view address, std::uint32_t executors,
                                       time_point now) {
  if (incarnation < latest.incarnation)
    return status::invalid("incarnation " + std::to_string(incarnation) + " of node '" +
                           latest.name + "' is fenced: incarnation " +
                           std::to_string(latest.incarnation) +
                           " already registered; rejoin with a larger incarnation");
  if (incarnation > latest.incarnation) {
    if (status s = room(); !s.ok()) return s;
    if (!latest.dead_at) declare_dead(latest, node_down::cause::replaced, now);
    return add(latest.name, incarnation, address, executors, now);
  }
  if (latest.dead_at) return fenced(latest);
  if (latest.address != address || latest.executors != executors)
    return status::invalid(describe(latest) + " is already registered at '" + latest.address +
                           "' with " + std::to_string(latest.executors) +
                           " executors; conflicting registration");
  latest.last_heard = std::max(latest.last_heard, now);
  return latest.id;
}

status membership::room() const {
  if (next_id_ <= config_.last_id) return {};
  return status::unavailable("every node number up to " + std::to_string(config_.last_id) +
                             " was given out: restart the coordinator to number its nodes afresh");
}

node_id membership::add(std::string_view name, std::uint64_t incarnation, std::string_view address,
                        std::uint32_t executors, time_point now) {
  const node_id id = next_id_++;
  node_info n;
  n.id = id;
  n.name = std::string(name);
  n.incarnation = incarnation;
  n.address = std::string(address);
  n.executors = executors;
  n.free_executors = executors;
  n.last_heard = now;
  nodes_.emplace(id, std::move(n));
  latest_.insert_or_assign(std::string(name), id);
  return id;
}

status membership::heartbeat(node_id node, std::uint64_t incarnation, std::uint32_t free_executors,
                             std::optional<std::uint64_t> held_bytes, time_point now) {
  if (auto st = check(node, incarnation); !st.ok()) return st;
  node_info& n = *find_mutable(node);
  if (free_executors > n.executors)
    return status::invalid(describe(n) + " reports " + std::to_string(free_executors) +
                           " free executors of " + std::to_string(n.executors));
  n.free_executors = free_executors;
  if (held_bytes) n.held_bytes = *held_bytes;
  n.last_heard = std::max(n.last_heard, now);
  return {};
}

status membership::check(node_id node, std::uint64_t incarnation) const {
  const node_info* n = find(node);
  if (!n) return status::not_found("unknown node id " + std::to_string(node));
  if (n->incarnation != incarnation)
    return status::invalid("message for " + describe(*n) + " carries incarnation " +
                           std::to_string(incarnation));
  if (n->dead_at) return fenced(*n);
  return {};
}

status membership::fenced(const node_info& n) const {
  return status::invalid(describe(n) + " is fenced: declared dead (" + cause_name(n.cause) +
                         "); rejoin as a new incarnation");
}

// -- deaths -------------------------------------------------------------------

void membership::connection_lost(node_id node, time_point now) {
  if (node_info* n = find_live_mutable(node))
    declare_dead(*n, node_down::cause::connection_lost, now);
}

std::vector<node_down> membership::tick(time_point now) {
  for (auto& [id, n] : nodes_)
    if (!n.dead_at && now - n.last_heard >= config_.timeout)
      declare_dead(n, node_down::cause::timeout, now);
  return std::exchange(pending_, {});
}

void membership::excuse(std::chrono::steady_clock::duration gap) {
  for (auto& [id, n] : nodes_)
    if (!n.dead_at) n.last_heard += gap;
}

void membership::declare_dead(node_info& n, node_down::cause why, time_point now) {
  TRAIL_ASSERT(!n.dead_at, "node declared dead twice:", n.id, cause_name(why));
  n.dead_at = now;
  n.cause = why;
  n.free_executors = 0;
  pending_.push_back(node_down{n.id, n.name, n.incarnation, why});
}

std::optional<time_point> membership::next_deadline() const {
  std::optional<time_point> next;
  for (const auto& [id, n] : nodes_)
    if (!n.dead_at && (!next || n.last_heard + config_.timeout < *next))
      next = n.last_heard + config_.timeout;
  return next;
}

// -- capacity hints -------------------------------------------------------------

void membership::assigned(node_id node) {
  if (node_info* n = find_live_mutable(node); n && n->free_executors > 0) --n->free_executors;
}

void membership::refused(node_id node) {
  if (node_info* n = find_live_mutable(node)) n->free_executors = 0;
}

// -- queries ----------------------------------------------------------------------

bool membership::live(node_id node) const {
  const node_info* n = find(node);
  return n && !n->dead_at;
}

std::vector<node_id> membership::live_nodes() const {
  std::vector<node_id> out;
  for (const auto& [id, n] : nodes_)
    if (!n.dead_at) out.push_back(id);
  return out;
}

std::vector<node_load> membership::loads() const {
  std::vector<node_load> out;
  for (const auto& [id, n] : nodes_)
    if (!n.dead_at) out.push_back(node_load{id, n.free_executors});
  return out;
}

std::optional<std::uint32_t> membership::free_executors(node_id node) const {
  const node_info* n = find(node);
  if (!n || n->dead_at) return std::nullopt;
  return n->free_executors;
}

std::optional<node_id> membership::find_live(std::string_view name) const {
  auto it = latest_.find(name);
  if (it == latest_.end() || !live(it->second)) return std::nullopt;
  return it->second;
}

const node_info* membership::find(node_id node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : &it->second;
}

node_info* membership::find_mutable(node_id node) {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : &it->second;
}

node_info* membership::find_live_mutable(node_id node) {
  node_info* n = find_mutable(node);
  return n && !n->dead_at ? n : nullptr;
}

}  // namespace trail::core
