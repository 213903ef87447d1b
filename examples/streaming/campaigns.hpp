// The ad -> campaign table of the Yahoo streaming benchmark: 100 campaigns
// of 10 ads each, every id a UUID-shaped string derived from its index, so
// the functions, the generator and the tests all hold the same table without
// reading it from anywhere. It is compiled into libstreaming.so and so
// "loaded at deploy": the node loads the library when the app is deployed
// (the original benchmark loaded the same table into Redis at setup).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace streaming {

inline constexpr int campaign_count = 100;
inline constexpr int ads_per_campaign = 10;
inline constexpr int ad_count = campaign_count * ads_per_campaign;

// splitmix64: a fixed, well-mixed function of its input.
constexpr std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A UUID-shaped id (8-4-4-4-12 hex digits) for `n` in namespace `kind`.
inline std::string uuid(std::uint64_t kind, std::uint64_t n) {
  std::uint64_t a = mix(kind * 0x1000003ull + n), b = mix(a ^ kind);
  char s[37];
  std::snprintf(s, sizeof s, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(a >> 32),
                static_cast<unsigned long long>((a >> 16) & 0xffff), static_cast<unsigned long long>(a & 0xffff),
                static_cast<unsigned long long>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffull));
  return s;
}

inline std::string campaign_id(int campaign) { return uuid(1, static_cast<std::uint64_t>(campaign)); }
// Ad `ad` (0..ad_count) belongs to campaign ad / ads_per_campaign.
inline std::string ad_id(int ad) { return uuid(2, static_cast<std::uint64_t>(ad)); }
inline int campaign_of_ad_index(int ad) { return ad / ads_per_campaign; }

// The join: ad id -> campaign index, or nullopt for an unknown ad. Built
// once on first use (a function-local static: immutable after construction,
// safe to read from any thread).
struct id_hash {
  using is_transparent = void;  // lookups by string_view, without a copy
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

inline std::optional<int> campaign_of(std::string_view ad) {
  static const auto* table = [] {
    auto* t = new std::unordered_map<std::string, int, id_hash, std::equal_to<>>();
    for (int a = 0; a < ad_count; ++a) t->emplace(ad_id(a), campaign_of_ad_index(a));
    return t;
  }();
  auto it = table->find(ad);
  if (it == table->end()) return std::nullopt;
  return it->second;
}

// Campaign ids by index, built once (for result keys).
inline const std::string& campaign_name(int campaign) {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>();
    for (int c = 0; c < campaign_count; ++c) v->push_back(campaign_id(c));
    return v;
  }();
  return (*names)[static_cast<std::size_t>(campaign)];
}

}  // namespace streaming
