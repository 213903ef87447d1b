// Frames on a socket: read-ahead, chunks received in place, word alignment
// across odd-sized payloads, and limits.
#include "actors/net/frame_io.hpp"

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace trail::net {
namespace {

using namespace std::chrono_literals;

struct pair_of_sockets {
  pair_of_sockets() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    a = stream(socket(fds[0]));
    b = stream(socket(fds[1]));
  }
  stream a, b;
  stop_signal stop;
  io_limits io{&stop, 5s};
};

std::vector<std::byte> pattern(std::size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 31 + seed) & 0xFF);
  return v;
}

template <class T>
T decoded(result<std::span<const std::byte>> f) {
  EXPECT_TRUE(f.ok()) << f.error().to_string();
  auto m = schema::decode(*f);
  EXPECT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_TRUE(std::holds_alternative<T>(*m));
  return std::get<T>(*m);
}

TEST(FrameReader, ReadsSmallFramesThatArriveTogether) {
  pair_of_sockets p;
  schema::frame f;
  for (std::uint32_t i = 1; i <= 20; ++i) ASSERT_TRUE(write_message(p.a, p.io, schema::credit{7, i}, f).ok());
  frame_reader r(1 << 16);
  for (std::uint32_t i = 1; i <= 20; ++i) EXPECT_EQ(decoded<schema::credit>(r.read(p.b, p.io, 1s)).chunks, i);
  EXPECT_EQ(r.buffered(), 0u);
}

// Odd payload sizes leave padding after them; the frames that follow must
// still be read word-aligned (decode() rejects anything else).
TEST(FrameReader, ReceivesExpectedChunksInPlaceAcrossOddSizes) {
  pair_of_sockets p;
  frame_reader r(schema::max_frame_size);
  schema::frame out, probe;
  for (std::size_t size : {1ul, 13ul, 4093ul, 70001ul, 300007ul}) {
    auto payload = pattern(size, static_cast<int>(size));
    std::vector<std::byte> dest(size);
    std::thread writer([&] {
      EXPECT_TRUE(write_chunk(p.a, p.io, 3, 64, payload, out).ok());
      schema::frame f;
      EXPECT_TRUE(write_message(p.a, p.io, schema::credit{3, 9}, f).ok());
    });
    auto expect = encode_chunk_frame(3, 64, size, probe);
    ASSERT_TRUE(expect.ok());
    auto got = r.read_expecting(p.b, p.io, *expect, dest);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_FALSE(got->has_value()) << "the chunk was recognised";
    EXPECT_EQ(std::memcmp(dest.data(), payload.data(), size), 0) << size;
    EXPECT_EQ(decoded<schema::credit>(r.read(p.b, p.io, 1s)).chunks, 9u) << "after " << size;
    writer.join();
  }
}

TEST(FrameReader, ReturnsAnyOtherFrameWhole) {
  pair_of_sockets p;
  frame_reader r(schema::max_frame_size);
  schema::frame out, probe;
  auto payload = pattern(5000, 1);
  std::vector<std::byte> dest(5000, std::byte{0});
  ASSERT_TRUE(write_chunk(p.a, p.io, 3, 0, payload, out).ok());  // offset 0, not the expected 5000
  auto expect = encode_chunk_frame(3, 5000, 5000, probe);
  auto got = r.read_expecting(p.b, p.io, *expect, dest);
  ASSERT_TRUE(got.ok() && got->has_value());
  auto c = decoded<schema::chunk>(**got);
  EXPECT_EQ(c.offset, 0u);
  EXPECT_EQ(std::memcmp(c.data.data(), payload.data(), 5000), 0);
  EXPECT_EQ(dest, std::vector<std::byte>(5000, std::byte{0})) << "untouched";
}

TEST(FrameReader, RejectsFramesOverItsLimit) {
  pair_of_sockets p;
  frame_reader r(64);
  schema::frame f;
  ASSERT_TRUE(write_message(p.a, p.io, schema::cancel{1, 0, std::string(200, 'x')}, f).ok());
  auto got = r.read(p.b, p.io, 1s);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), errc::invalid_argument) << got.error().to_string();
}

TEST(FrameReader, ClosedPeerAndSilenceAreUnavailable) {
  pair_of_sockets p;
  frame_reader r(64);
  auto silent = r.read(p.b, {&p.stop, 50ms}, 50ms);
  ASSERT_FALSE(silent.ok());
  EXPECT_EQ(silent.error().code(), errc::unavailable);
  p.a.close();
  auto closed = r.read(p.b, p.io, 1s);
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().code(), errc::unavailable);
}

TEST(FrameReader, StopSignalEndsAWaitAtOnce) {
  pair_of_sockets p;
  frame_reader r(64);
  std::thread stopper([&] { p.stop.raise(); });
  auto t0 = std::chrono::steady_clock::now();
  auto got = r.read(p.b, {&p.stop, 10s}, 10s);
  stopper.join();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), errc::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

}  // namespace
}  // namespace trail::net
