// Flow control and reassembly of one object transfer (see schema/transfer.hpp).
// Pure bookkeeping: no I/O, no clocks, no Cap'n Proto. Owned by the one actor
// (or thread) that drives the transfer.
//
// Sender:   credit_window w(pull.credit);
//           while (w.can_send() && next < layout.count()) { send chunk next++; w.on_sent(); }
//           on Credit{n}: w.on_credit(n), then the loop again.
// Receiver: reassembly r(layout from the ObjectHeader);
//           on Chunk: accepted -> copy into the destination block, send Credit{1};
//                     anything else -> a protocol error (cancel, or ignore a duplicate);
//           r.complete() -> seal the object.
// Credit is conserved: the sender's credit + chunks in flight + credit in
// flight stays at the initial window, so at most that many chunks are ever
// buffered between the two.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "schema/transfer.hpp"  // limits, valid_chunking

namespace trail::schema {

// How an object is cut: chunk i covers [i * chunk_size, min((i+1) * chunk_size,
// total_size)); every chunk but the last is exactly chunk_size bytes.
struct chunk_layout {
  std::uint64_t total_size = 0;              // object size; 0 = no chunks
  std::uint32_t chunk_size = max_chunk_size;  // valid_chunking(total_size, chunk_size)

  std::uint64_t count() const;                     // chunks in the object
  std::uint64_t offset(std::uint64_t index) const;  // REQUIRES: index < count()
  std::uint64_t size(std::uint64_t index) const;    // REQUIRES: index < count()
};

// Sender side: how many more chunks may be sent before the receiver grants more.
class credit_window {
 public:
  explicit credit_window(std::uint32_t initial_chunks = default_credit_chunks);

  void on_credit(std::uint32_t chunks);  // the receiver granted `chunks` more
  bool can_send() const { return credit_ > 0; }
  void on_sent();                        // REQUIRES: can_send()

  std::uint64_t credit() const { return credit_; }  // chunks that may be sent now
  std::uint64_t sent() const { return sent_; }      // chunks sent so far

 private:
  std::uint64_t credit_;  // u64: grants of u32 cannot overflow it in practice
  std::uint64_t sent_ = 0;
};

// What a received chunk is to the reassembly.
enum class chunk_verdict : std::uint8_t {
  accepted,      // new: store its bytes at its offset
  duplicate,     // exactly a chunk that already arrived: nothing to store
  misaligned,    // not exactly one chunk of the layout: it straddles or
                 // overlaps a chunk boundary, or has the wrong length
  out_of_range,  // reaches past the object's end
};

std::string_view to_string(chunk_verdict v);

// Receiver side: which chunks of the object have arrived.
class reassembly {
 public:
  explicit reassembly(chunk_layout layout);  // REQUIRES: valid_chunking(layout...)

  // Records the chunk [offset, offset + size). Only `accepted` changes state.
  chunk_verdict on_chunk(std::uint64_t offset, std::uint64_t size);

  bool complete() const { return received_ == arrived_.size(); }
  bool arrived(std::uint64_t index) const { return index < arrived_.size() && arrived_[index]; }
  std::uint64_t received_chunks() const { return received_; }
  std::uint64_t received_bytes() const { return received_bytes_; }
  std::uint64_t missing_chunks() const { return arrived_.size() - received_; }
  const chunk_layout& layout() const { return layout_; }

 private:
  chunk_layout layout_;
  std::vector<bool> arrived_;  // one per chunk; at most max_object_size / min_chunk_size
  std::uint64_t received_ = 0;
  std::uint64_t received_bytes_ = 0;
};

}  // namespace trail::schema
