#include "actors/core/partitions.hpp"

#include <charconv>

#include "actors/core/placement.hpp"

namespace trail::core {
namespace {

// Node numbers fit in 15 bits (node_session_base, cluster_types.hpp): each
// partition gets an equal slice.
constexpr std::uint64_t node_numbers = 0x8000;

std::uint64_t node_span(std::uint32_t partitions) { return node_numbers / partitions; }

}  // namespace

std::uint32_t partition_layout::shard_of_app(std::string_view app) const { return shard_of(app, shard_count()); }

std::optional<std::uint32_t> partition_layout::partition_of_shard(std::uint32_t shard) const {
  if (shard >= shard_count()) return std::nullopt;
  return shard / shards;
}

std::optional<std::uint32_t> partition_layout::local_shard(std::uint32_t shard, std::uint32_t p) const {
  if (partition_of_shard(shard) != p) return std::nullopt;
  return shard - p * shards;
}

std::uint64_t partition_layout::first_node(std::uint32_t p) const {
  return partitions == 1 ? 1 : p * node_span(partitions) + 1;
}

std::uint64_t partition_layout::last_node(std::uint32_t p) const {
  return partitions == 1 ? std::numeric_limits<std::uint64_t>::max() : (p + 1) * node_span(partitions) - 1;
}

std::optional<std::uint32_t> partition_layout::partition_of_node(std::uint64_t n) const {
  if (n == 0) return std::nullopt;
  if (partitions == 1) return 0;
  if (n >= node_numbers) return std::nullopt;
  return static_cast<std::uint32_t>(n / node_span(partitions));
}

std::optional<std::uint32_t> partition_layout::partition_of_session(std::uint64_t session) const {
  if (auto shard = shard_of_session(session)) return partition_of_shard(*shard);
  if (auto node = node_of_session(session)) return partition_of_node(*node);
  return std::nullopt;
}

std::string partition_layout::encode() const {
  return "partitions " + std::to_string(partitions) + " shards " + std::to_string(shards);
}

result<partition_layout> partition_layout::decode(std::string_view text) {
  auto bad = [&] { return status::invalid("malformed partition layout '" + std::string(text.substr(0, 64)) + "'"); };
  auto number = [&](std::string_view word, std::uint32_t& out) {
    if (!text.starts_with(word)) return false;
    text.remove_prefix(word.size());
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc{}) return false;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    return true;
  };
  partition_layout l;
  std::string_view whole = text;
  if (!number("partitions ", l.partitions) || !number(" shards ", l.shards) || !text.empty()) {
    text = whole;
    return bad();
  }
  if (status s = l.check(); !s.ok()) return s;
  return l;
}

status partition_layout::check() const {
  if (partitions < 1 || partitions > max_partitions)
    return status::invalid("partitions must be 1.." + std::to_string(max_partitions) + ", not " +
                           std::to_string(partitions));
  if (shards < 1) return status::invalid("a partition needs at least one shard");
  return {};
}

std::string partition_prefix(const std::string& cluster_prefix, std::uint32_t p, std::uint32_t partitions) {
  if (partitions <= 1) return cluster_prefix;
  return cluster_prefix + "p" + std::to_string(p) + "/";
}

std::optional<std::uint32_t> shed_to(std::uint32_t mine, const std::vector<std::optional<std::uint32_t>>& counts) {
  if (mine >= counts.size() || !counts[mine]) return std::nullopt;
  std::optional<std::uint32_t> emptiest;
  for (std::uint32_t p = 0; p < counts.size(); ++p)
    if (p != mine && counts[p] && (!emptiest || *counts[p] < *counts[*emptiest])) emptiest = p;
  if (!emptiest || *counts[mine] < *counts[*emptiest] + 2) return std::nullopt;
  return emptiest;
}

std::optional<std::uint32_t> hand_over_judge::look(std::uint32_t mine,
                                                   const std::vector<std::optional<std::uint32_t>>& counts,
                                                   clock::time_point now) {
  if (handed_ && now - *handed_ < every_) return forget(), std::nullopt;
  auto to = shed_to(mine, counts);
  if (!to) return forget(), std::nullopt;
  if (!seen_ || seen_->first != *to) seen_.emplace(*to, now);
  if (now - seen_->second < settle_) return std::nullopt;
  handed_ = now;
  seen_.reset();
  return to;
}

}  // namespace trail::core
