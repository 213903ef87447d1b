#include "shm/allocator.hpp"

#include <trail/check.hpp>

namespace trail::shm {

block_allocator::block_allocator(std::uint64_t capacity)
    : capacity_(capacity / alignment * alignment) {
  if (capacity_ > 0) insert(0, capacity_);
}

std::optional<block> block_allocator::allocate(std::uint64_t size) {
  if (size > capacity_) return std::nullopt;  // also keeps round_up from overflowing
  std::uint64_t want = round_up(size);
  auto fit = by_size_.lower_bound({want, 0});
  if (fit == by_size_.end()) return std::nullopt;
  auto [len, off] = *fit;
  erase(by_offset_.find(off));
  if (len > want) insert(off + want, len - want);
  used_ += want;
  return block{off, want};
}

void block_allocator::free(block b) {
  TRAIL_REQUIRE(b.offset % alignment == 0 && b.size % alignment == 0 && b.size > 0 &&
                    b.offset + b.size <= capacity_,
                "offset", b.offset, "size", b.size);
  TRAIL_REQUIRE(used_ >= b.size, "used", used_, "size", b.size);
  used_ -= b.size;
  std::uint64_t off = b.offset, len = b.size;
  auto next = by_offset_.lower_bound(off);
  TRAIL_ASSERT(next == by_offset_.end() || next->first >= off + len, "double free at", off);
  if (next != by_offset_.end() && next->first == off + len) {
    len += next->second;
    next = std::next(next);
    erase(std::prev(next));
  }
  if (next != by_offset_.begin()) {
    auto prev = std::prev(next);
    TRAIL_ASSERT(prev->first + prev->second <= off, "double free at", off);
    if (prev->first + prev->second == off) {
      off = prev->first;
      len += prev->second;
      erase(prev);
    }
  }
  insert(off, len);
}

void block_allocator::shrink(block& b, std::uint64_t size) {
  std::uint64_t keep = round_up(size);
  if (keep >= b.size) return;
  free({b.offset + keep, b.size - keep});
  b.size = keep;
}

std::uint64_t block_allocator::largest_free() const {
  return by_size_.empty() ? 0 : by_size_.rbegin()->first;
}

void block_allocator::insert(std::uint64_t offset, std::uint64_t size) {
  by_offset_.emplace(offset, size);
  by_size_.emplace(size, offset);
}

void block_allocator::erase(std::map<std::uint64_t, std::uint64_t>::iterator it) {
  by_size_.erase({it->second, it->first});
  by_offset_.erase(it);
}

}  // namespace trail::shm
