// Transfer frames (schema/transfer.hpp) on a socket, with buffers reused
// across calls: after warm-up nothing here allocates.
//
// Chunk payloads do not pass through these buffers. A Chunk frame is
//   head (segment table, message, Data pointer) | payload | tail (padding)
// and only head and tail are encoded (schema::encode_chunk_in_place into a
// frame whose payload region stays untouched); the payload is sent straight
// from, and received straight into, the caller's memory — the object's
// block in the shared-memory segment. The one exception: payload bytes that
// arrive in the same read as their frame's head (the reader's read-ahead,
// at most 8 KiB per transfer and 256 B per further chunk) are copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include <trail/status.hpp>

#include "actors/net/stream.hpp"
#include "schema/transfer.hpp"

namespace trail::net {

// The encoded parts of a Chunk frame around its payload. Views into the frame
// they were encoded in; valid until it is next encoded.
struct chunk_frame {
  std::span<const std::byte> head;  // everything before the payload
  std::span<const std::byte> tail;  // padding after it (0..7 bytes)
};

// Encodes the Chunk (transfer, offset, size bytes) into `f` without its payload.
result<chunk_frame> encode_chunk_frame(std::uint64_t transfer, std::uint64_t offset, std::size_t size,
                                       schema::frame& f);

// "pull request", "chunk", ... for error messages.
std::string_view message_name(const schema::transfer_message& m);

// Encodes `m` into `f` and writes the frame.
status write_message(stream& s, const io_limits& io, const schema::transfer_message& m, schema::frame& f);

// Writes `before` (whole frames, may be empty), then the Chunk of `payload`
// at `offset`, with one sendmsg when the socket has room: the payload goes
// from `payload` to the kernel, never copied in user space. `f` holds the
// chunk's head and tail.
status write_chunk(stream& s, const io_limits& io, std::uint64_t transfer, std::uint64_t offset,
                   std::span<const std::byte> payload, schema::frame& f,
                   std::span<const std::byte> before = {});

// Reads frames off one socket, reading ahead: a read takes whatever has
// arrived (up to a few KiB beyond the frame it needs), so small frames that
// arrive together — a request, a header and a small chunk, a run of credits
// — cost one recvmsg. Owned by the thread that reads the socket; holds bytes
// of that socket only (reset() before reading another).
class frame_reader {
 public:
  // Frames announcing more than `limit` bytes are protocol errors
  // (invalid_argument): the stream cannot be resynchronised.
  explicit frame_reader(std::size_t limit);

  // Reads one whole frame. The first byte may take up to `first_wait` (e.g.
  // an idle connection between requests); the rest, io.timeout per wait.
  // The bytes stay valid until the next call.
  result<std::span<const std::byte>> read(stream& s, const io_limits& io, std::chrono::milliseconds first_wait);

  // Reads the next frame, expecting the Chunk whose encoded parts are
  // `expect` and whose payload is `direct.size()` bytes. When the frame is
  // byte-for-byte that chunk, its payload lands in `direct` and the result
  // is nullopt: straight from the socket, except for the few payload bytes
  // that arrived in the read-ahead together with the frame's head (copied).
  // Any other frame is read whole and returned as read() would; `direct` is
  // then untouched.
  result<std::optional<std::span<const std::byte>>> read_expecting(stream& s, const io_limits& io,
                                                                   const chunk_frame& expect,
                                                                   std::span<std::byte> direct);

  // Bytes read ahead and not yet returned.
  std::size_t buffered() const { return end_ - pos_; }
  // Forgets them: the next byte read starts a new stream.
  void reset() { pos_ = end_ = 0; }

 private:
  // Makes at least `n` bytes available at pos_, reading ahead up to
  // max(n, read-ahead) of them.
  status fill(stream& s, const io_limits& io, std::size_t n);
  // Makes room for `n` bytes from pos_ on: moves the buffered bytes to the
  // start, growing the buffer if needed.
  void make_room(std::size_t n);
  const std::byte* at() const { return base() + pos_; }
  std::byte* base() const { return reinterpret_cast<std::byte*>(words_.get()); }
  void consume(std::size_t n);
  result<std::span<const std::byte>> whole(stream& s, const io_limits& io);

  std::size_t limit_;
  std::unique_ptr<std::uint64_t[]> words_;  // word-aligned, as decode() requires
  std::size_t capacity_ = 0;                // bytes
  std::size_t pos_ = 0;  // next unread byte; == its stream position modulo 8
  std::size_t end_ = 0;  // end of the bytes read
};

}  // namespace trail::net
