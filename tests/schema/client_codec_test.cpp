// The client wire: every request and reply survives a round trip; broken
// frames are clear errors; frames come out whole however the stream is cut.
#include "schema/client.hpp"
#include "schema/frame_buffer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace trail::schema {
namespace {

// A frame in 8-byte-aligned memory, as a reader holds it.
struct aligned_frame {
  explicit aligned_frame(const std::string& bytes) : words((bytes.size() + 7) / 8 + 1) {
    std::memcpy(words.data(), bytes.data(), bytes.size());
    size = bytes.size();
  }
  std::span<const std::byte> bytes() const { return {reinterpret_cast<const std::byte*>(words.data()), size}; }
  std::vector<std::uint64_t> words;
  std::size_t size;
};

client_request round_trip(const client_request& r) {
  std::string out;
  encode(r, out);
  auto back = decode_request(aligned_frame(out).bytes());
  EXPECT_TRUE(back.ok()) << back.error().to_string();
  return back.ok() ? *back : client_request{};
}

client_reply round_trip(const client_reply& r) {
  std::string out;
  encode(r, out);
  auto back = decode_reply(aligned_frame(out).bytes());
  EXPECT_TRUE(back.ok()) << back.error().to_string();
  return back.ok() ? *back : client_reply{};
}

using rk = client_request::kind;
using pk = client_reply::kind;

TEST(ClientCodec, EveryRequestSurvivesARoundTrip) {
  client_request inv;
  inv.id = 7, inv.what = rk::invoke, inv.app = "wordcount", inv.args = {"a", std::string("\0\xff", 2), ""};
  inv.timeout_ms = 1234, inv.async = true, inv.request = 0xfeedface12345678;
  auto i = round_trip(inv);
  EXPECT_EQ(i.id, 7u);
  EXPECT_EQ(i.what, rk::invoke);
  EXPECT_EQ(i.app, "wordcount");
  EXPECT_EQ(i.args, inv.args);
  EXPECT_EQ(i.timeout_ms, 1234u);
  EXPECT_TRUE(i.async);
  EXPECT_EQ(i.request, 0xfeedface12345678u);

  client_request dep;
  dep.id = 8, dep.what = rk::deploy, dep.manifest = "app: x\n", dep.names = {"lib.so"};
  dep.libraries = {std::string(100000, '\x7f')};
  auto d = round_trip(dep);
  EXPECT_EQ(d.manifest, dep.manifest);
  EXPECT_EQ(d.names, dep.names);
  EXPECT_EQ(d.libraries, dep.libraries);

  client_request res;
  res.id = 9, res.what = rk::result, res.session = 1ull << 50, res.timeout_ms = 5;
  auto r = round_trip(res);
  EXPECT_EQ(r.what, rk::result);
  EXPECT_EQ(r.session, 1ull << 50);

  client_request adm;
  adm.id = 11, adm.what = rk::admin, adm.app = "sessions", adm.args = {"--app", "chain"};
  auto ad = round_trip(adm);
  EXPECT_EQ(ad.what, rk::admin);
  EXPECT_EQ(ad.app, "sessions");
  EXPECT_EQ(ad.args, adm.args);

  for (auto k : {rk::hello, rk::status, rk::apps, rk::undeploy, rk::control}) {
    client_request q;
    q.id = 10, q.what = k, q.version = 3, q.app = "gone";
    auto back = round_trip(q);
    EXPECT_EQ(back.what, k);
    if (k == rk::hello) {
      EXPECT_EQ(back.version, 3u);
    }
    if (k == rk::undeploy) {
      EXPECT_EQ(back.app, "gone");
    }
  }
}

TEST(ClientCodec, EveryReplySurvivesARoundTrip) {
  client_reply e;
  e.id = 1, e.what = pk::error, e.error = status::overloaded("too much");
  auto x = round_trip(e);
  EXPECT_EQ(x.what, pk::error);
  EXPECT_EQ(x.error.code(), errc::overloaded);
  EXPECT_EQ(x.error.message(), "too much");

  client_reply s;
  s.id = 2, s.what = pk::session, s.session = 42, s.output = std::string("out\0put", 7);
  auto y = round_trip(s);
  EXPECT_EQ(y.session, 42u);
  EXPECT_EQ(y.output, s.output);

  client_reply a;
  a.id = 3, a.what = pk::apps, a.apps = {"a v1", "b v2"};
  EXPECT_EQ(round_trip(a).apps, a.apps);

  for (auto k : {pk::hello, pk::text, pk::control}) {
    client_reply r;
    r.id = 4, r.what = k, r.version = 1, r.text = "127.0.0.1:9";
    auto back = round_trip(r);
    EXPECT_EQ(back.what, k);
    if (k != pk::hello) {
      EXPECT_EQ(back.text, "127.0.0.1:9");
    }
  }
}

// A partitioned cluster's coordinator names each partition's holder ("":
// none now), the shards per partition and its own; a map that cannot be
// right is refused, not routed by.
TEST(ClientCodec, APartitionMapSurvivesARoundTripAndAWrongOneIsRefused) {
  client_reply r;
  r.id = 7;
  r.what = client_reply::kind::hello;
  r.version = 2;
  r.partitions = {"10.0.0.1:7400", "", "10.0.0.3:7400"};
  r.partition_shards = 2;
  r.partition = 2;
  auto back = round_trip(r);
  EXPECT_EQ(back.partitions, r.partitions);
  EXPECT_EQ(back.partition_shards, 2u);
  EXPECT_EQ(back.partition, 2u);
  client_reply plain;
  plain.what = client_reply::kind::hello;
  EXPECT_TRUE(round_trip(plain).partitions.empty());
  for (auto wrong : {+[](client_reply& x) { x.partition = 3; }, +[](client_reply& x) { x.partition_shards = 0; },
                     +[](client_reply& x) { x.partitions.resize(17, "h:1"); }}) {
    client_reply bad = r;
    wrong(bad);
    std::string out;
    encode(bad, out);
    auto decoded = decode_reply(aligned_frame(out).bytes());
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code(), errc::invalid_argument);
  }
}

TEST(ClientCodec, PutAndGetFramesCarryTheirBytesAsViewsOfTheFrame) {
  client_request put;
  put.id = 3, put.what = rk::put, put.app = "a", put.bucket = "in", put.key = "k", put.size = 1ull << 33;
  put.new_session = true, put.timeout_ms = 99;
  auto p = round_trip(put);
  EXPECT_EQ(p.what, rk::put);
  EXPECT_EQ(p.app + p.bucket + p.key, "aink");
  EXPECT_EQ(p.size, 1ull << 33);
  EXPECT_TRUE(p.new_session);
  EXPECT_EQ(p.timeout_ms, 99u);

  std::string payload(1 << 20, 'x');
  payload[0] = '\0', payload.back() = '\xff';
  client_request data;
  data.id = 4, data.what = rk::put_data, data.put = 3, data.last = true;
  data.bytes = std::as_bytes(std::span(payload));
  std::string out;
  encode(data, out);
  aligned_frame frame(out);
  auto d = decode_request(frame.bytes());
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->put, 3u);
  EXPECT_TRUE(d->last);
  ASSERT_EQ(d->bytes.size(), payload.size());
  EXPECT_EQ(std::memcmp(d->bytes.data(), payload.data(), payload.size()), 0);
  EXPECT_GE(d->bytes.data(), frame.bytes().data()) << "a view into the frame, not a copy";
  EXPECT_LE(d->bytes.data() + d->bytes.size(), frame.bytes().data() + frame.bytes().size());

  client_request get;
  get.what = rk::get, get.app = "a", get.bucket = "b", get.key = "c";
  auto g = round_trip(get);
  EXPECT_EQ(g.what, rk::get);
  EXPECT_EQ(g.app + g.bucket + g.key, "abc");

  client_reply chunk;
  chunk.id = 5, chunk.what = pk::data, chunk.size = 10, chunk.bytes = std::as_bytes(std::span(payload).first(10));
  std::string rout;
  encode(chunk, rout);
  aligned_frame rframe(rout);
  auto c = decode_reply(rframe.bytes());
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->what, pk::data);
  EXPECT_EQ(c->size, 10u);
  EXPECT_FALSE(c->last);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(c->bytes.data()), c->bytes.size()), payload.substr(0, 10));
}

TEST(ClientCodec, AnErrorReplyIsNeverOk) {
  client_reply e;
  e.what = pk::error;
  e.error = status{};  // a broken server's "error" with code 0
  EXPECT_FALSE(round_trip(e).error.ok());
}

TEST(ClientCodec, GarbageTruncationAndMisalignmentAreClearErrors) {
  client_request inv;
  inv.what = rk::invoke, inv.app = "x", inv.args = {"a"};
  std::string good;
  encode(inv, good);
  for (std::size_t cut = 8; cut < good.size(); cut += 8) {
    auto r = decode_request(aligned_frame(good.substr(0, cut)).bytes());
    EXPECT_FALSE(r.ok()) << "a frame cut at " << cut << " of " << good.size() << " bytes decoded";
  }
  std::uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (int i = 0; i < 2000; ++i) {  // nothing crashes; what decodes is a valid request
    std::string junk = good;
    for (int flips = 0; flips < 4; ++flips) junk[rng() % junk.size()] = static_cast<char>(rng());
    (void)decode_request(aligned_frame(junk).bytes());
    (void)decode_reply(aligned_frame(junk).bytes());
  }
  std::vector<std::uint64_t> w(4);
  auto misaligned = std::span<const std::byte>(reinterpret_cast<const std::byte*>(w.data()) + 1, 16);
  EXPECT_FALSE(decode_request(misaligned).ok());
  EXPECT_FALSE(decode_request({}).ok());
}

TEST(ClientFrameSize, HugeAnnouncementsBreakTheStream) {
  std::uint64_t word = 0;  // one segment ...
  std::uint32_t segments = 0, words = 1u << 30;  // ... of 8 GiB
  std::memcpy(&word, &segments, 4);
  std::memcpy(reinterpret_cast<char*>(&word) + 4, &words, 4);
  auto r = client_frame_size({reinterpret_cast<const std::byte*>(&word), 8}, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("more than the limit"), std::string::npos) << r.error().message();
  std::uint64_t many = 100000;  // 100001 segments
  EXPECT_FALSE(client_frame_size({reinterpret_cast<const std::byte*>(&many), 8}).ok());
}

TEST(FrameBuffer, FramesComeOutWholeHoweverTheStreamIsCut) {
  std::string stream;
  std::vector<client_request> sent;
  for (int i = 0; i < 30; ++i) {
    client_request r;
    r.id = static_cast<std::uint64_t>(i + 1);
    r.what = rk::invoke;
    r.app = "app" + std::to_string(i);
    r.args = {std::string(static_cast<std::size_t>(i * 97), 'a' + i % 26)};
    encode(r, stream);
    sent.push_back(r);
  }
  std::uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (int round = 0; round < 50; ++round) {
    frame_buffer buf(1 << 20);
    std::size_t pos = 0, got = 0;
    while (pos < stream.size() || buf.buffered()) {
      std::size_t n = std::min<std::size_t>(stream.size() - pos, 1 + rng() % (round % 2 ? 7 : 3000));
      auto room = buf.space(n);
      ASSERT_GE(room.size(), n);
      std::memcpy(room.data(), stream.data() + pos, n);
      buf.commit(n);
      pos += n;
      for (;;) {
        auto f = buf.next();
        ASSERT_TRUE(f.ok()) << f.error().to_string();
        if (f->empty()) break;
        auto r = decode_request(*f);
        ASSERT_TRUE(r.ok()) << r.error().to_string();
        ASSERT_LT(got, sent.size());
        EXPECT_EQ(r->id, sent[got].id);
        EXPECT_EQ(r->args, sent[got].args);
        ++got;
      }
      if (pos == stream.size() && buf.buffered()) FAIL() << buf.buffered() << " bytes left over";
    }
    EXPECT_EQ(got, sent.size());
  }
}

TEST(FrameBuffer, AFrameOverTheLimitBreaksTheStream) {
  client_request r;
  r.what = rk::deploy, r.names = {"x"}, r.libraries = {std::string(5000, 'x')};
  std::string bytes;
  encode(r, bytes);
  frame_buffer buf(4096);
  auto room = buf.space(bytes.size());
  std::memcpy(room.data(), bytes.data(), bytes.size());
  buf.commit(bytes.size());
  EXPECT_FALSE(buf.next().ok());
}

// A header announcing a big frame does not make the buffer allocate it: room
// grows with the bytes that arrive, and the frame still assembles whole.
TEST(FrameBuffer, MemoryGrowsWithArrivedBytesNotTheAnnouncedSize) {
  client_request r;
  r.what = rk::deploy, r.names = {"x"}, r.libraries = {std::string(3 << 20, 'x')};
  std::string bytes;
  encode(r, bytes);
  frame_buffer buf(64 << 20);
  auto first = buf.space(64);
  std::memcpy(first.data(), bytes.data(), 64);
  buf.commit(64);
  ASSERT_TRUE(buf.next().ok());                  // not whole yet
  EXPECT_LE(buf.space(64).size(), 64u << 10);    // no room for 3 MiB on an 8-byte promise
  std::size_t at = 64;
  while (at < bytes.size()) {
    auto room = buf.space(4096);
    EXPECT_LE(room.size(), std::max<std::size_t>(2 * at, 64u << 10) + 8);  // at most double what came
    std::size_t n = std::min(room.size(), bytes.size() - at);
    std::memcpy(room.data(), bytes.data() + at, n);
    buf.commit(n);
    at += n;
  }
  auto frame = buf.next();
  ASSERT_TRUE(frame.ok());
  ASSERT_FALSE(frame->empty());
  auto back = decode_request(*frame);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->libraries.at(0).size(), 3u << 20);
}

}  // namespace
}  // namespace trail::schema
