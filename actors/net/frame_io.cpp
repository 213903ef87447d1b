#include "actors/net/frame_io.hpp"

#include <cstring>
#include <iterator>
#include <variant>

namespace trail::net {

// -- writing ------------------------------------------------------------------------

result<chunk_frame> encode_chunk_frame(std::uint64_t transfer, std::uint64_t offset, std::size_t size,
                                       schema::frame& f) {
  auto payload = schema::encode_chunk_in_place(transfer, offset, size, f);
  if (!payload) return payload.error();
  auto all = f.bytes();
  auto head = static_cast<std::size_t>(payload->data() - all.data());
  return chunk_frame{all.first(head), all.subspan(head + size)};
}

std::string_view message_name(const schema::transfer_message& m) {
  static constexpr std::string_view names[] = {"pull request", "object header", "chunk",
                                               "credit",       "cancel",        "inline object"};
  static_assert(std::size(names) == std::variant_size_v<schema::transfer_message>);
  return names[m.index()];
}

status write_message(stream& s, const io_limits& io, const schema::transfer_message& m, schema::frame& f) {
  if (auto st = schema::encode(m, f); !st) return st;
  iovec part = io_part(f.bytes().data(), f.size());
  return s.write({&part, 1}, io);
}

status write_chunk(stream& s, const io_limits& io, std::uint64_t transfer, std::uint64_t offset,
                   std::span<const std::byte> payload, schema::frame& f, std::span<const std::byte> before) {
  auto c = encode_chunk_frame(transfer, offset, payload.size(), f);
  if (!c) return c.error();
  iovec parts[4] = {io_part(before.data(), before.size()), io_part(c->head.data(), c->head.size()),
                    io_part(payload.data(), payload.size()), io_part(c->tail.data(), c->tail.size())};
  return s.write(parts, io);
}

// -- reading ------------------------------------------------------------------------

namespace {

// How far a read may run past the bytes it needs: enough for a small object's
// whole reply, a few KiB of a large chunk's payload at most (copied, not
// received in place).
constexpr std::size_t read_ahead = 8u << 10;
// After a chunk's payload: its padding and the next frame's head.
constexpr std::size_t read_ahead_after_payload = 256;

}  // namespace

frame_reader::frame_reader(std::size_t limit) : limit_(limit) { make_room(read_ahead); }

// Buffered bytes move to the buffer's first word, at the same offset within
// a word: a byte's index and its position in the stream stay equal modulo 8,
// so every frame (a whole number of words) starts word-aligned.
void frame_reader::make_room(std::size_t n) {
  if (pos_ + n <= capacity_) return;
  const std::size_t have = buffered(), to = pos_ % 8;
  if (to + n > capacity_) {
    std::size_t words = (to + n + 7) / 8;
    std::unique_ptr<std::uint64_t[]> grown(new std::uint64_t[words]);
    if (have > 0) std::memcpy(reinterpret_cast<std::byte*>(grown.get()) + to, at(), have);
    words_ = std::move(grown);
    capacity_ = words * 8;
  } else if (have > 0) {
    std::memmove(base() + to, at(), have);
  }
  pos_ = to;
  end_ = to + have;
}

status frame_reader::fill(stream& s, const io_limits& io, std::size_t n) {
  if (buffered() >= n) return {};
  std::size_t want = std::max(n, read_ahead);
  make_room(want);
  iovec part = io_part(base() + end_, pos_ + want - end_);
  auto got = s.read_at_least({&part, 1}, n - buffered(), io);
  if (!got) return got.error();
  end_ += *got;
  return {};
}

void frame_reader::consume(std::size_t n) {
  pos_ += n;
  if (pos_ == end_) pos_ = end_ = pos_ % 8;  // empty: start over, keeping the word offset
}

// The frame at pos_ (at least its first 8 bytes are buffered), read whole.
result<std::span<const std::byte>> frame_reader::whole(stream& s, const io_limits& io) {
  for (;;) {
    auto n = schema::frame_size({at(), buffered()});
    if (!n) return n.error();
    if (*n > limit_)
      return status::invalid("frame of " + std::to_string(*n) + " bytes where at most " +
                             std::to_string(limit_) + " are expected");
    if (*n <= buffered()) {
      std::span<const std::byte> f(at(), *n);
      consume(*n);
      return f;
    }
    if (auto st = fill(s, io, *n); !st) return st;
  }
}

result<std::span<const std::byte>> frame_reader::read(stream& s, const io_limits& io,
                                                      std::chrono::milliseconds first_wait) {
  if (auto st = fill(s, {io.stop, first_wait}, 8); !st) return st;
  return whole(s, io);
}

result<std::optional<std::span<const std::byte>>> frame_reader::read_expecting(
    stream& s, const io_limits& io, const chunk_frame& expect, std::span<std::byte> direct) {
  using out = result<std::optional<std::span<const std::byte>>>;
  auto other = [&]() -> out {
    auto f = whole(s, io);
    if (!f) return f.error();
    return std::optional(*f);
  };
  const std::size_t head = expect.head.size(), tail = expect.tail.size();
  if (auto st = fill(s, io, 8); !st) return st;
  // The segment table fixes the frame's length: after a matching first word
  // the whole head can be read without reading past the frame.
  if (std::memcmp(at(), expect.head.data(), 8) != 0) return other();
  if (auto st = fill(s, io, head); !st) return st;
  if (std::memcmp(at(), expect.head.data(), head) != 0) return other();
  consume(head);
  std::size_t early = std::min(buffered(), direct.size());  // payload that came with the head
  if (early > 0) std::memcpy(direct.data(), at(), early);
  consume(early);
  if (early < direct.size()) {  // the buffer is empty: the rest goes straight to `direct`
    const std::size_t rest = direct.size() - early;
    pos_ = end_ = (pos_ + rest) % 8;  // where the stream resumes, modulo 8
    iovec parts[2] = {io_part(direct.data() + early, rest),
                      io_part(base() + end_, read_ahead_after_payload + tail)};
    auto got = s.read_at_least(parts, rest + tail, io);
    if (!got) return got.error();
    end_ += *got - rest;
  }
  if (auto st = fill(s, io, tail); !st) return st;
  consume(tail);
  return std::optional<std::span<const std::byte>>{};
}

}  // namespace trail::net
