// Reassembles Cap'n Proto flat-array frames from a byte stream read in
// pieces of any size (a socket's reads). Frames come out whole and 8-byte
// aligned, as decoding requires. Pure: the caller does the reading.
//
//   auto room = buf.space();  n = read(fd, room.data(), room.size());  buf.commit(n);
//   while (auto f = buf.next()) { if (!f) break;  if (f->empty()) break;  handle(*f); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include <trail/status.hpp>

namespace trail::schema {

class frame_buffer {
 public:
  // Frames announcing more than `limit` bytes break the stream.
  explicit frame_buffer(std::size_t limit);

  // Room for at least `want` more bytes (up to twice what is buffered, when
  // a frame in progress needs more); valid until commit(). Memory grows with
  // the bytes that arrive, not with what a frame announces.
  std::span<std::byte> space(std::size_t want = 64 << 10);
  // `n` bytes were written into the last space().
  void commit(std::size_t n);
  // The next whole frame — valid until the next space() — or an empty span
  // when more bytes are needed. invalid_argument when the stream is broken
  // (a frame over the limit, a malformed segment table): drop it.
  result<std::span<const std::byte>> next();
  std::size_t buffered() const { return end_ - begin_; }
  void set_limit(std::size_t limit) { limit_ = limit; }  // for frames not yet begun

 private:
  std::byte* base() const { return reinterpret_cast<std::byte*>(words_.get()); }

  std::size_t limit_;
  std::unique_ptr<std::uint64_t[]> words_;
  std::size_t capacity_ = 0;  // bytes
  std::size_t begin_ = 0;     // first unconsumed byte (a frame start: 8-byte aligned)
  std::size_t end_ = 0;       // end of committed bytes
  std::size_t need_ = 0;      // bytes the frame at begin_ needs, when known
};

}  // namespace trail::schema
