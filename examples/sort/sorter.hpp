// The reducer's sort and valsort's per-partition scan, shared by the sort
// functions, the tests and trail-bench's floor (so the floor sorts exactly
// as the app does).
//
// The sort never moves 100-byte records around: it sorts a 16-byte index
// entry per record (the key's first 8 bytes as a number, and where the record
// is), then copies each record once, in order, to its final place — which for
// the app is an object being written in the store.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "records.hpp"

namespace trail::sort {

// Sorts the records of all `inputs` (each a whole number of records) by key
// into `out`, which must hold their total size. Records with equal keys keep
// no particular order. Returns the number of records written.
inline std::uint64_t sort_into(const std::vector<std::string_view>& inputs, char* out) {
  struct entry {
    std::uint64_t prefix;
    const char* record;
  };
  std::vector<entry> index;
  std::size_t total = 0;
  for (std::string_view in : inputs) total += in.size() / record_size;
  index.reserve(total);
  for (std::string_view in : inputs)
    for (std::size_t at = 0; at + record_size <= in.size(); at += record_size)
      index.push_back({key_prefix(in.data() + at), in.data() + at});
  std::sort(index.begin(), index.end(), [](const entry& a, const entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return std::memcmp(a.record + 8, b.record + 8, key_size - 8) < 0;  // rare: equal prefixes
  });
  for (const entry& e : index) {
    std::memcpy(out, e.record, record_size);
    out += record_size;
  }
  return index.size();
}

// What valsort learns from one sorted partition.
struct partition_scan {
  checksum sum;                          // count and checksum of its records
  std::string first_key, last_key;       // raw 10-byte keys; empty when no records
  std::optional<std::uint64_t> unsorted; // the first record whose key is below its predecessor's
};

// Scans `bytes` (a whole number of records) as valsort does.
inline partition_scan scan_partition(std::string_view bytes) {
  partition_scan s;
  const char* prev = nullptr;
  for (std::size_t at = 0; at + record_size <= bytes.size(); at += record_size) {
    const char* r = bytes.data() + at;
    if (prev && !s.unsorted && compare_keys(prev, r) > 0) s.unsorted = at / record_size;
    s.sum.add(r);
    prev = r;
  }
  if (prev) {
    s.first_key.assign(bytes.data(), key_size);
    s.last_key.assign(prev, key_size);
  }
  return s;
}

}  // namespace trail::sort
