#include "shm/executor_job.hpp"

namespace trail::shm {

std::optional<block> job::carve(std::uint64_t offset, std::uint64_t size) const {
  const std::uint64_t begin = arena.offset, end = arena.offset + arena.size;
  if (size > arena.size || offset < begin || offset > end || offset % block_allocator::alignment) return {};
  block b{offset, block_allocator::round_up(size)};
  if (b.size > end - offset) return {};
  auto next = arena_kept.lower_bound(offset);
  if (next != arena_kept.end() && next->first < offset + b.size) return {};
  if (next != arena_kept.begin() && std::prev(next)->first + std::prev(next)->second > offset) return {};
  return b;
}

void job::release(store& st) {
  for (object_id id : created) st.release(id);
  for (object_id id : refs) st.release(id);
  std::uint64_t pos = arena.offset, end = arena.offset + arena.size;
  for (auto [offset, size] : arena_kept) {
    if (offset > pos) st.free({pos, offset - pos});
    pos = offset + size;
  }
  if (pos < end) st.free({pos, end - pos});
  if (listing.size) st.free(listing);
  created.clear(), refs.clear(), arena_kept.clear();
  arena = {}, listing = {};
  pending_alloc.reset();
}

}  // namespace trail::shm
