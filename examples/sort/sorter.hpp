// The reducer's sort and valsort's per-partition scan, shared by the sort
// functions, the tests and trail-bench's floor (so the floor sorts exactly
// as the app does).
//
// The sort never moves 100-byte records around: it sorts a 16-byte index
// entry per record (the key's first 8 bytes as a number, and where the record
// is), then copies each record once, in order, to its final place — which for
// the app is an object being written in the store.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "records.hpp"

namespace trail::sort {

// `n` uninitialized T (trivial types only) in memory asking for transparent
// huge pages. Why: the index of a 100 MB partition is 16 MB, and on a VM each
// 4 KiB page fault costs ~10 µs — faulting the index in took longer than
// sorting it; with 2 MiB pages it is ~10x cheaper. (THP is often in madvise
// mode, so it must be asked for.) Owns the memory.
template <class T>
class huge_buffer {
 public:
  explicit huge_buffer(std::size_t n) : n_(n) {
    constexpr std::size_t huge = 2u << 20;
    std::size_t bytes = (std::max<std::size_t>(n * sizeof(T), 1) + huge - 1) / huge * huge;
    data_ = static_cast<T*>(std::aligned_alloc(huge, bytes));
    if (!data_) throw std::bad_alloc();
    ::madvise(data_, bytes, MADV_HUGEPAGE);  // a hint: without THP, plain pages
  }
  ~huge_buffer() { std::free(data_); }
  huge_buffer(const huge_buffer&) = delete;
  huge_buffer& operator=(const huge_buffer&) = delete;

  T* begin() { return data_; }
  T* end() { return data_ + n_; }

 private:
  std::size_t n_;
  T* data_;
};

// Sorts the records of all `inputs` (each a whole number of records) by key
// into `out`, which must hold their total size. Records with equal keys keep
// no particular order. Returns the number of records written.
inline std::uint64_t sort_into(const std::vector<std::string_view>& inputs, char* out) {
  struct entry {
    std::uint64_t prefix;
    const char* record;
  };
  std::size_t total = 0;
  for (std::string_view in : inputs) total += in.size() / record_size;
  huge_buffer<entry> index(total);
  entry* next = index.begin();
  for (std::string_view in : inputs)
    for (std::size_t at = 0; at + record_size <= in.size(); at += record_size)
      *next++ = {key_prefix(in.data() + at), in.data() + at};
  std::sort(index.begin(), index.end(), [](const entry& a, const entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return std::memcmp(a.record + 8, b.record + 8, key_size - 8) < 0;  // rare: equal prefixes
  });
  for (const entry& e : index) {
    std::memcpy(out, e.record, record_size);
    out += record_size;
  }
  return total;
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
