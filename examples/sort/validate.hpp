// valsort's checks over the summaries the sort's functions emit: each
// mapper's count and checksum of what it read (the input), each reducer's
// scan of what it wrote (the output). Pure: `check` sees only summaries.
//
// Summary text: kind=map index=3 count=N sum=<16 hex>
//               kind=part index=0 count=N sum=<16 hex> first=<20 hex> last=<20 hex> unsorted=<n or ->
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plan.hpp"
#include "sorter.hpp"

namespace trail::sort {

struct summary {
  bool is_part = false;          // a reducer's (output) or a mapper's (input) summary
  std::uint32_t index = 0;       // partition or mapper number
  checksum sum;                  // count and checksum
  std::string first, last;       // parts: first and last key in hex; empty when no records
  std::optional<std::uint64_t> unsorted;  // parts: first out-of-order record
};

inline std::string hex64(std::uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

inline std::string hex_bytes(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) out += digits[c >> 4], out += digits[c & 0xf];
  return out;
}

inline summary part_summary(std::uint32_t r, const partition_scan& s) {
  return {true, r, s.sum, hex_bytes(s.first_key), hex_bytes(s.last_key), s.unsorted};
}

inline std::string to_text(const summary& s) {
  std::string t = std::string("kind=") + (s.is_part ? "part" : "map") + " index=" + std::to_string(s.index) +
                  " count=" + std::to_string(s.sum.count) + " sum=" + hex64(s.sum.sum);
  if (s.is_part)
    t += " first=" + (s.first.empty() ? "-" : s.first) + " last=" + (s.last.empty() ? "-" : s.last) +
         " unsorted=" + (s.unsorted ? std::to_string(*s.unsorted) : "-");
  return t;
}

// Throws std::invalid_argument on a malformed summary.
inline summary summary_from_text(std::string_view text) {
  auto f = parse_fields(text, "sort summary");
  auto at = [&](const char* k) -> const std::string& {
    auto it = f.find(k);
    if (it == f.end()) throw std::invalid_argument("sort summary: missing " + std::string(k) + " in \"" + std::string(text) + "\"");
    return it->second;
  };
  summary s;
  s.is_part = at("kind") == "part";
  s.index = static_cast<std::uint32_t>(parse_number("index", at("index"), 0, max_tasks - 1));
  s.sum.count = parse_number("count", at("count"), 0, max_records);
  s.sum.sum = std::stoull(at("sum"), nullptr, 16);
  if (s.is_part) {
    s.first = at("first") == "-" ? "" : at("first");
    s.last = at("last") == "-" ? "" : at("last");
    if (at("unsorted") != "-") s.unsorted = parse_number("unsorted", at("unsorted"), 0, max_records);
  }
  return s;
}

// valsort's verdict for plan `p` from every summary: the output
//   "records=N partitions=R sorted=ok checksum=<16 hex>"
// or "sort: validation FAILED: <every problem found, '; '-separated>".
inline std::string check(const plan& p, const std::vector<summary>& all) {
  std::vector<const summary*> parts(p.reducers), maps(p.mappers);
  std::vector<std::string> problems;
  for (const summary& s : all) {
    auto& slot = s.is_part ? parts : maps;
    if (s.index >= slot.size()) problems.push_back(std::string(s.is_part ? "partition " : "mapper ") + std::to_string(s.index) + " is out of range");
    else slot[s.index] = &s;
  }
  checksum in, out;
  for (std::uint32_t m = 0; m < maps.size(); ++m)
    if (!maps[m]) problems.push_back("mapper " + std::to_string(m) + " sent no summary");
    else in += maps[m]->sum;
  const summary* prev = nullptr;  // the last non-empty partition before r
  for (std::uint32_t r = 0; r < parts.size(); ++r) {
    const summary* s = parts[r];
    if (!s) {
      problems.push_back("partition " + std::to_string(r) + " sent no summary");
      continue;
    }
    out += s->sum;
    if (s->unsorted) problems.push_back("partition " + std::to_string(r) + " is not sorted at record " + std::to_string(*s->unsorted));
    if (s->sum.count == 0) continue;
    if (prev && prev->last > s->first)  // same-length lower-case hex compares as the bytes do
      problems.push_back("partition " + std::to_string(prev->index) + " ends after partition " + std::to_string(r) + " begins");
    prev = s;
  }
  if (out.count != p.records)
    problems.push_back("the output has " + std::to_string(out.count) + " records, expected " + std::to_string(p.records));
  if (in.count != p.records)
    problems.push_back("the mappers read " + std::to_string(in.count) + " records, expected " + std::to_string(p.records));
  if (out.sum != in.sum) problems.push_back("output checksum " + hex64(out.sum) + " differs from the input's " + hex64(in.sum));
  if (problems.empty())
    return "records=" + std::to_string(out.count) + " partitions=" + std::to_string(p.reducers) + " sorted=ok checksum=" + hex64(out.sum);
  std::string text = "sort: validation FAILED: ";
  for (std::size_t i = 0; i < problems.size(); ++i) text += (i ? "; " : "") + problems[i];
  return text;
}

}  // namespace trail::sort
