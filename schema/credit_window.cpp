#include "schema/credit_window.hpp"

#include <algorithm>

// A header-only utility that lives in shm/ but has no dependencies of its own.
#include <trail/check.hpp>

namespace trail::schema {

// -- chunk_layout -------------------------------------------------------------

std::uint64_t chunk_layout::count() const {
  TRAIL_REQUIRE(chunk_size > 0, total_size);
  return total_size / chunk_size + (total_size % chunk_size != 0 ? 1 : 0);
}

std::uint64_t chunk_layout::offset(std::uint64_t index) const {
  TRAIL_REQUIRE(index < count(), index, count());
  return index * chunk_size;
}

std::uint64_t chunk_layout::size(std::uint64_t index) const {
  std::uint64_t start = offset(index);
  return std::min<std::uint64_t>(chunk_size, total_size - start);
}

// -- credit_window ------------------------------------------------------------

credit_window::credit_window(std::uint32_t initial_chunks) : credit_(initial_chunks) {}

void credit_window::on_credit(std::uint32_t chunks) { credit_ += chunks; }

void credit_window::on_sent() {
  TRAIL_REQUIRE(can_send(), "chunk sent without credit", sent_);
  --credit_;
  ++sent_;
}

// -- reassembly ---------------------------------------------------------------

std::string_view to_string(chunk_verdict v) {
  switch (v) {
    case chunk_verdict::accepted: return "accepted";
    case chunk_verdict::duplicate: return "duplicate chunk";
    case chunk_verdict::misaligned: return "chunk not aligned to the layout";
    case chunk_verdict::out_of_range: return "chunk beyond the object's end";
  }
  return "unknown";
}

reassembly::reassembly(chunk_layout layout) : layout_(layout) {
  TRAIL_REQUIRE(valid_chunking(layout.total_size, layout.chunk_size), layout.total_size,
                layout.chunk_size);
  arrived_.assign(layout_.count(), false);
}

chunk_verdict reassembly::on_chunk(std::uint64_t offset, std::uint64_t size) {
  if (offset > layout_.total_size || size > layout_.total_size - offset)
    return chunk_verdict::out_of_range;
  std::uint64_t index = offset / layout_.chunk_size;
  if (offset % layout_.chunk_size != 0 || size == 0 || size != layout_.size(index))
    return chunk_verdict::misaligned;
  if (arrived_[index]) return chunk_verdict::duplicate;
  arrived_[index] = true;
  ++received_;
  received_bytes_ += size;
  return chunk_verdict::accepted;
}

}  // namespace trail::schema
