// Node-to-node object transfer messages (schema/transfer.capnp) and their codec.
//
// A consumer's node pulls an object straight from the producer's node:
// PullRequest -> ObjectHeader -> Chunk... under a credit window (Credit), with
// Cancel either way; objects up to 64 KiB travel as ObjectInline with their
// metadata instead. The flow-control and reassembly logic lives in
// schema/credit_window.hpp; this file only converts messages.
//
// Wire form: one Cap'n Proto message per frame, as a flat array (segment
// table + segments, the `capnp::messageToFlatArray` layout), word-aligned. No
// frame exceeds `max_frame_size`, so readers never meet Cap'n Proto's 64 MiB
// traversal cliff: every reader runs with a limit of one frame.
//
// Copies of chunk payload bytes:
//   encode(chunk)           1 copy: payload -> frame (built in place, no
//                           second copy by messageToFlatArray)
//   encode_chunk_in_place() 0 copies: the caller writes the payload straight
//                           into the frame (e.g. read from disk or a socket)
//   decode()                0 copies: chunk.data / object_inline.data view the
//                           decoded buffer
//
// Nothing here throws: Cap'n Proto exceptions become a trail::status.
// Decode errors are invalid_argument and name what was wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>

#include <trail/status.hpp>

#include "schema/channel.hpp"  // max_name_length, max_error_text

namespace trail::schema {

// -- limits ---------------------------------------------------------------------

inline constexpr std::uint32_t max_chunk_size = 4u << 20;    // bytes of one Chunk
inline constexpr std::uint32_t min_chunk_size = 64u << 10;   // smallest chunkSize a header may announce
inline constexpr std::uint32_t max_inline_size = 64u << 10;  // bytes of one ObjectInline
inline constexpr std::uint64_t max_object_size = 1ull << 40;  // 1 TiB; larger headers are rejected
inline constexpr std::uint32_t default_credit_chunks = 4;     // initial window: 4 x 4 MiB
// The largest frame of any message: a full chunk plus its few words of framing.
inline constexpr std::size_t max_frame_size = max_chunk_size + 4096;

// A header may announce this chunking: the receiver's reassembly bitmap stays
// at most max_object_size / min_chunk_size bits (2 MiB).
constexpr bool valid_chunking(std::uint64_t total_size, std::uint32_t chunk_size) {
  return total_size <= max_object_size && chunk_size >= min_chunk_size &&
         chunk_size <= max_chunk_size;
}

// -- messages -------------------------------------------------------------------
// Views (std::span) never own. When encoding they point at the caller's payload;
// after decode() they point into the decoded buffer, which must outlive them.
// A transfer id of 0 is invalid everywhere.

// requester -> producer: send me this object.
struct pull_request {
  std::uint64_t transfer = 0;              // requester-chosen, unique among its open transfers
  std::uint64_t session = 0;               // session the object belongs to
  std::string bucket;                      // bucket name
  std::string key;                         // key within the bucket
  std::optional<std::uint64_t> object;     // the producer's object id; nullopt = by name
  std::uint64_t incarnation = 0;           // requester node's incarnation (fencing)
  std::uint32_t credit = default_credit_chunks;  // chunks the producer may send before a Credit
};

// producer -> requester: the object's size and chunking, or why not.
struct object_header {
  std::uint64_t transfer = 0;
  std::uint16_t code = 0;        // trail::errc; 0 = ok, then the sizes below are valid
  std::string error;             // reason when code != 0 (cut to max_error_text)
  std::uint64_t total_size = 0;  // object size in bytes; 0 = no chunks follow
  std::uint32_t chunk_size = 0;  // valid_chunking(total_size, chunk_size) when ok
};

// producer -> requester: bytes [offset, offset + data.size()) of the object.
struct chunk {
  std::uint64_t transfer = 0;
  std::uint64_t offset = 0;            // offset + data.size() <= max_object_size
  std::span<const std::byte> data;     // 1 .. max_chunk_size bytes; a view, see above
};

// requester -> producer: `chunks` more chunks may be sent.
struct credit {
  std::uint64_t transfer = 0;
  std::uint32_t chunks = 0;
};

// either way: stop the transfer.
struct cancel {
  std::uint64_t transfer = 0;
  std::uint16_t code = 0;  // trail::errc why; 0 = no longer wanted
  std::string reason;      // for logs (cut to max_error_text)
};

// a small object, whole, beside its metadata.
struct object_inline {
  std::uint64_t session = 0;
  std::string bucket;
  std::string key;
  std::span<const std::byte> data;  // 0 .. max_inline_size bytes; a view, see above
};

using transfer_message =
    std::variant<pull_request, object_header, chunk, credit, cancel, object_inline>;

// -- frames ---------------------------------------------------------------------

// One encoded message: a word-aligned byte buffer, reused across encodes (it
// grows, never shrinks, so a pool of frames stops allocating and page-faulting
// after warm-up). Owned by one thread at a time.
class frame {
 public:
  frame() = default;
  frame(frame&& other) noexcept { *this = std::move(other); }
  frame& operator=(frame&& other) noexcept {  // leaves `other` empty and reusable
    words_ = std::move(other.words_);
    capacity_words_ = std::exchange(other.capacity_words_, 0);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }

  // The current frame; 8-byte aligned. Valid until the next call that changes it.
  std::span<const std::byte> bytes() const;
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_words_ * 8; }

  // Allocates at least `bytes` and writes every page once, so that encodes up
  // to that size neither allocate nor fault. Discards the current frame.
  void reserve(std::size_t bytes);

  // Makes the frame `bytes` long with unspecified contents and returns them to
  // be filled, e.g. by reading a frame from a socket before decode(bytes()).
  std::span<std::byte> assign(std::size_t bytes);

 private:
  friend class frame_access;  // the encoders, in transfer.cpp
  std::unique_ptr<std::uint64_t[]> words_;
  std::size_t capacity_words_ = 0;
  std::size_t size_ = 0;
};

// -- codec ----------------------------------------------------------------------

// Replaces `out` with the frame of `m`. invalid_argument if `m` breaks a limit
// above (so every frame encode() produces decodes); error and reason texts are
// cut instead. One copy of a chunk's payload. After an error `out` holds no
// frame worth sending (its contents are unspecified).
status encode(const transfer_message& m, frame& out);

// Replaces `out` with the frame of a Chunk of `size` bytes and returns where
// its payload goes: the caller writes all `size` bytes there before sending
// (until then they are unspecified — old buffer contents). No copy in the codec.
// invalid_argument for sizes or offsets encode() would reject.
result<std::span<std::byte>> encode_chunk_in_place(std::uint64_t transfer, std::uint64_t offset,
                                                   std::size_t size, frame& out);

// Decodes one whole frame, without copying payloads: views in the result point
// into `bytes`. Rejects (invalid_argument) misaligned or truncated input,
// trailing bytes, frames over max_frame_size, unknown message types and
// messages that break a limit above.
result<transfer_message> decode(std::span<const std::byte> bytes);

// For reading frames off a stream: the size in bytes of the frame that starts
// with `prefix`, as far as the prefix tells. While the result exceeds
// prefix.size(), read up to that many bytes and ask again. invalid_argument if
// the prefix is misaligned or announces a frame over max_frame_size (drop the
// connection: the stream cannot be resynchronised).
result<std::size_t> frame_size(std::span<const std::byte> prefix);

}  // namespace trail::schema
