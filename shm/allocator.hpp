// Best-fit allocator over the byte range [0, capacity) of a segment.
//
// Its bookkeeping lives in the node's private heap, never in shared memory:
// an executor that scribbles past its block or dies mid-write cannot corrupt
// it, and no lock is ever shared with another process. Single-threaded: the
// owner (the store) serialises calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace trail::shm {

// A range of the segment: [offset, offset + size).
struct block {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  friend bool operator==(const block&, const block&) = default;
};

class block_allocator {
 public:
  static constexpr std::uint64_t alignment = 64;  // a cache line

  explicit block_allocator(std::uint64_t capacity);

  // A block of at least `size` bytes (rounded up to the alignment; 0 counts
  // as one unit), or nullopt when no free range is large enough.
  std::optional<block> allocate(std::uint64_t size);
  // Returns a block, or an aligned part of one, to the free ranges.
  // REQUIRES: every byte of `b` is currently allocated.
  void free(block b);
  // Keeps the first `size` bytes of `b` and frees the aligned rest.
  void shrink(block& b, std::uint64_t size);

  std::uint64_t capacity() const { return capacity_; }
  std::uint64_t used() const { return used_; }
  std::uint64_t largest_free() const;
  std::size_t free_ranges() const { return by_offset_.size(); }

  static std::uint64_t round_up(std::uint64_t n) {
    return n == 0 ? alignment : (n + alignment - 1) / alignment * alignment;
  }

 private:
  void insert(std::uint64_t offset, std::uint64_t size);
  void erase(std::map<std::uint64_t, std::uint64_t>::iterator it);

  std::uint64_t capacity_;
  std::uint64_t used_ = 0;
  std::map<std::uint64_t, std::uint64_t> by_offset_;          // free: offset -> size
  std::set<std::pair<std::uint64_t, std::uint64_t>> by_size_;  // free: (size, offset)
};

}  // namespace trail::shm
