// Sort records in gensort's format: 100 bytes, a 10-byte key then a 90-byte
// payload. Record i of a data set is a pure function of (i, seed), so mappers,
// tests and the benchmark produce the same bytes without sharing anything.
// Also: the order-independent checksum valsort compares between input and
// output, and the range partitioner (key order = partition order).
//
// Header-only and dependency-free: the sort functions, the tests and
// trail-bench all include it.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace trail::sort {

inline constexpr std::size_t record_size = 100;
inline constexpr std::size_t key_size = 10;

// A 64-bit finalizer (xor-shift-multiply rounds): every input bit flips
// about half the output bits, which is all the generator and checksum need.
inline std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dull;
  x ^= x >> 33;
  return x;
}

// The odd step between the words of one record's stream.
inline constexpr std::uint64_t stream_step = 0x9e3779b97f4a7c15ull;

// The first word of record i's stream; word k is mix64(base + k * step).
inline std::uint64_t stream_base(std::uint64_t i, std::uint64_t seed) {
  return mix64(seed * 0xd6e8feb86659fd93ull ^ i) + i * 16 * stream_step;
}

inline void store_be64(char* out, std::uint64_t v) {
  for (int b = 7; b >= 0; --b, v >>= 8) out[b] = static_cast<char>(v & 0xff);
}

inline std::uint64_t load_be64(const char* in) {
  std::uint64_t v;
  std::memcpy(&v, in, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

// The first 8 key bytes as a big-endian number: comparing prefixes compares
// keys (up to ties in the last 2 bytes).
inline std::uint64_t key_prefix(const char* record) { return load_be64(record); }

// Record i's 10-byte key: uniformly random bytes, as gensort's binary keys.
inline void make_key(std::uint64_t i, std::uint64_t seed, char* out) {
  std::uint64_t base = stream_base(i, seed);
  store_be64(out, mix64(base));
  std::uint64_t w1 = mix64(base + stream_step);
  out[8] = static_cast<char>(w1 >> 56), out[9] = static_cast<char>(w1 >> 48);
}

// Record i: its key; then, like gensort's payload, the record number (16 hex
// digits), 72 letters and "\r\n", so a file of records can be read by eye.
inline void make_record(std::uint64_t i, std::uint64_t seed, char* out) {
  make_key(i, seed, out);
  static constexpr char hex[] = "0123456789ABCDEF";
  for (int d = 0; d < 16; ++d) out[key_size + d] = hex[(i >> (60 - 4 * d)) & 0xf];
  std::uint64_t base = stream_base(i, seed);
  char* letters = out + key_size + 16;
  for (int w = 0; w < 9; ++w) {  // 9 words x 8 letters = 72
    std::uint64_t v = mix64(base + static_cast<std::uint64_t>(w + 2) * stream_step);
    for (int b = 0; b < 8; ++b, v >>= 8) letters[w * 8 + b] = static_cast<char>('A' + (v & 0xff) % 26);
  }
  out[98] = '\r', out[99] = '\n';
}

// A 64-bit hash of one record's bytes.
inline std::uint64_t record_hash(const char* r) {
  std::uint64_t h = 0x243f6a8885a308d3ull;
  for (int w = 0; w < 12; ++w) {  // 96 bytes as 12 words, then the last 4
    std::uint64_t v;
    std::memcpy(&v, r + w * 8, 8);
    h = (h ^ v) * 0x100000001b3ull + (h >> 29);
  }
  std::uint32_t tail;
  std::memcpy(&tail, r + 96, 4);
  return mix64(h ^ tail);
}

// Count and checksum of a multiset of records: the sum of their hashes
// (mod 2^64), so any order and any split into parts gives the same value,
// and parts combine by adding (valsort's sum of per-record CRCs).
struct checksum {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;

  void add(const char* record) { ++count, sum += record_hash(record); }
  checksum& operator+=(const checksum& o) {
    count += o.count, sum += o.sum;
    return *this;
  }
  bool operator==(const checksum&) const = default;
};

// The checksum of records [first, first + count) of data set `seed`,
// computed from the generator alone: what a sort's output must match.
inline checksum checksum_of_range(std::uint64_t first, std::uint64_t count, std::uint64_t seed) {
  checksum c;
  char rec[record_size];
  for (std::uint64_t i = first; i < first + count; ++i) {
    make_record(i, seed, rec);
    c.add(rec);
  }
  return c;
}

// The partition of a key among `partitions` equal slices of the key space:
// monotone in the key, so partition r's keys all precede partition r+1's.
// REQUIRES: partitions >= 1.
inline std::uint32_t partition_of(const char* record, std::uint32_t partitions) {
  auto wide = static_cast<unsigned __int128>(key_prefix(record)) * partitions;
  return static_cast<std::uint32_t>(wide >> 64);
}

// Keys compare as unsigned bytes (memcmp), as valsort compares them.
inline int compare_keys(const char* a, const char* b) { return std::memcmp(a, b, key_size); }

}  // namespace trail::sort
