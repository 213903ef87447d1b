// The sort's plan (what to sort and how many mappers and reducers) and the
// text forms of what its functions pass each other: a plan, a mapper's task.
// Pure: the functions parse and print, the tests check, nothing else.
//
// Text forms are space-separated name=value fields, e.g.
//   records=1000000 mappers=4 reducers=4 seed=0 input=
//   ... mapper=2 first=500000 count=250000
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace trail::sort {

inline constexpr std::uint32_t max_tasks = 1024;               // mappers, reducers
inline constexpr std::uint64_t max_records = 100'000'000'000;  // 10 TB: beyond any store

struct plan {
  std::uint64_t records = 0;   // how many 100-byte records, >= 1
  std::uint32_t mappers = 0;   // 1..max_tasks, <= records
  std::uint32_t reducers = 0;  // partitions, 1..max_tasks
  std::uint64_t seed = 0;      // generated data set (ignored for an input object)
  std::string input;           // key of the put object in bucket `input`; empty: generate
};

// A mapper's share: records [first, first + count) of the plan's data.
struct task {
  sort::plan plan;
  std::uint32_t mapper = 0;
  std::uint64_t first = 0, count = 0;
};

// "a=1 b=x" -> {a: 1, b: x}. Throws std::invalid_argument naming `what` on a
// token without '='.
inline std::map<std::string, std::string, std::less<>> parse_fields(std::string_view text, std::string_view what) {
  std::map<std::string, std::string, std::less<>> out;
  while (!text.empty()) {
    auto end = text.find(' ');
    std::string_view tok = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (tok.empty()) continue;
    auto eq = tok.find('=');
    if (eq == std::string_view::npos)
      throw std::invalid_argument(std::string(what) + ": expected name=value, got \"" + std::string(tok) + "\"");
    out.emplace(std::string(tok.substr(0, eq)), std::string(tok.substr(eq + 1)));
  }
  return out;
}

// The unsigned number `v` of field `name`, in [lo, hi]; throws
// std::invalid_argument quoting it otherwise.
inline std::uint64_t parse_number(std::string_view name, std::string_view v, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || p != v.data() + v.size() || n < lo || n > hi)
    throw std::invalid_argument(std::string(name) + " must be a whole number in " + std::to_string(lo) + ".." +
                                std::to_string(hi) + ", got \"" + std::string(v) + "\"");
  return n;
}

// Checks the cross-field rules of a plan; throws std::invalid_argument.
inline void check_plan(const plan& p) {
  parse_number("records", std::to_string(p.records), 1, max_records);
  parse_number("mappers", std::to_string(p.mappers), 1, max_tasks);
  parse_number("reducers", std::to_string(p.reducers), 1, max_tasks);
  if (p.mappers > p.records)
    throw std::invalid_argument("mappers (" + std::to_string(p.mappers) + ") must not exceed records (" +
                                std::to_string(p.records) + ")");
}

inline const char* usage = "usage: records=N mappers=M reducers=R [seed=S]";

// The entry function's arguments, one name=value each. Throws
// std::invalid_argument with the usage on anything else.
inline plan parse_args(std::span<const std::string_view> args) {
  plan p;
  bool has[3] = {};
  try {
    for (std::string_view a : args)
      for (auto& [k, v] : parse_fields(a, "argument")) {
        if (k == "records") p.records = parse_number(k, v, 1, max_records), has[0] = true;
        else if (k == "mappers") p.mappers = static_cast<std::uint32_t>(parse_number(k, v, 1, max_tasks)), has[1] = true;
        else if (k == "reducers") p.reducers = static_cast<std::uint32_t>(parse_number(k, v, 1, max_tasks)), has[2] = true;
        else if (k == "seed") p.seed = parse_number(k, v, 0, UINT64_MAX);
        else throw std::invalid_argument("unknown argument \"" + k + "\"");
      }
    if (!has[0] || !has[1] || !has[2]) throw std::invalid_argument("records, mappers and reducers are required");
    check_plan(p);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("sort: ") + e.what() + " (" + usage + ")");
  }
  return p;
}

inline std::string to_text(const plan& p) {
  return "records=" + std::to_string(p.records) + " mappers=" + std::to_string(p.mappers) +
         " reducers=" + std::to_string(p.reducers) + " seed=" + std::to_string(p.seed) + " input=" + p.input;
}

inline plan plan_from_fields(const std::map<std::string, std::string, std::less<>>& f) {
  auto at = [&](const char* k) -> const std::string& {
    auto it = f.find(k);
    if (it == f.end()) throw std::invalid_argument(std::string("sort plan: missing field ") + k);
    return it->second;
  };
  plan p;
  p.records = parse_number("records", at("records"), 1, max_records);
  p.mappers = static_cast<std::uint32_t>(parse_number("mappers", at("mappers"), 1, max_tasks));
  p.reducers = static_cast<std::uint32_t>(parse_number("reducers", at("reducers"), 1, max_tasks));
  p.seed = parse_number("seed", at("seed"), 0, UINT64_MAX);
  p.input = at("input");
  check_plan(p);
  return p;
}

inline plan plan_from_text(std::string_view text) { return plan_from_fields(parse_fields(text, "sort plan")); }

// Mapper m's task: the plan's records cut into `mappers` near-equal ranges.
// REQUIRES: m < p.mappers.
inline task task_of(const plan& p, std::uint32_t m) {
  auto edge = [&](std::uint64_t i) {
    return static_cast<std::uint64_t>(static_cast<unsigned __int128>(p.records) * i / p.mappers);
  };
  return {p, m, edge(m), edge(m + 1) - edge(m)};
}

inline std::string to_text(const task& t) {
  return to_text(t.plan) + " mapper=" + std::to_string(t.mapper) + " first=" + std::to_string(t.first) +
         " count=" + std::to_string(t.count);
}

inline task task_from_text(std::string_view text) {
  auto f = parse_fields(text, "sort task");
  plan p = plan_from_fields(f);
  auto at = [&](const char* k) -> const std::string& {
    auto it = f.find(k);
    if (it == f.end()) throw std::invalid_argument(std::string("sort task: missing field ") + k);
    return it->second;
  };
  task t{p, static_cast<std::uint32_t>(parse_number("mapper", at("mapper"), 0, p.mappers - 1)),
         parse_number("first", at("first"), 0, p.records), parse_number("count", at("count"), 0, p.records)};
  if (t.first + t.count > p.records) throw std::invalid_argument("sort task: range beyond the records: " + std::string(text));
  return t;
}

// The plan for a put object of `bytes` bytes under `key`: the key names the
// object and may set "mappers=M" and "reducers=R" as comma-separated parts
// ("data,mappers=4,reducers=2"); otherwise one mapper and one reducer per
// started 16 MiB, at most 16. Throws std::invalid_argument on a size that is
// not a whole number of records, or a bad part.
inline plan plan_for_input(std::string_view key, std::uint64_t bytes) {
  if (bytes == 0 || bytes % 100 != 0)
    throw std::invalid_argument("sort: input \"" + std::string(key) + "\" has " + std::to_string(bytes) +
                                " bytes; expected a positive multiple of 100 (whole 100-byte records)");
  if (key.find(' ') != std::string_view::npos)
    throw std::invalid_argument("sort: input key \"" + std::string(key) + "\" must not contain spaces");
  plan p;
  p.records = bytes / 100;
  p.input = std::string(key);
  std::uint64_t per = 16ull << 20;
  p.mappers = p.reducers = static_cast<std::uint32_t>(std::min<std::uint64_t>(16, (bytes + per - 1) / per));
  for (std::string_view rest = key; !rest.empty();) {
    auto comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (part.starts_with("mappers="))
      p.mappers = static_cast<std::uint32_t>(parse_number("mappers", part.substr(8), 1, max_tasks));
    else if (part.starts_with("reducers="))
      p.reducers = static_cast<std::uint32_t>(parse_number("reducers", part.substr(9), 1, max_tasks));
  }
  p.mappers = static_cast<std::uint32_t>(std::min<std::uint64_t>(p.mappers, p.records));
  check_plan(p);
  return p;
}

}  // namespace trail::sort
