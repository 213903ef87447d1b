#include "schema/transfer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "transfer.capnp.h"

namespace trail::schema {
namespace {

unsigned test_seed() {
  unsigned seed = std::random_device{}();
  if (const char* s = std::getenv("TRAIL_SEED")) seed = static_cast<unsigned>(std::stoul(s));
  std::cout << "seed " << seed << " (rerun with TRAIL_SEED=" << seed << ")\n";
  return seed;
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed = 1) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((seed * 131 + i * 7) & 0xFF);
  return v;
}

bool same(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

bool inside(std::span<const std::byte> part, std::span<const std::byte> whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// A copy of `bytes` starting `shift` bytes past an 8-byte boundary.
struct shifted {
  shifted(std::span<const std::byte> bytes, std::size_t shift)
      : words(bytes.size() / 8 + 2),
        view(reinterpret_cast<std::byte*>(words.data()) + shift, bytes.size()) {
    std::memcpy(reinterpret_cast<std::byte*>(words.data()) + shift, bytes.data(), bytes.size());
  }
  std::vector<std::uint64_t> words;
  std::span<const std::byte> view;
};

// A frame built by Cap'n Proto's own serializer (for malformed messages the
// encoder refuses to produce, and as the reference layout). The first segment
// holds a whole frame, so that the reference is a one-segment message too.
struct raw {
  template <class Fill>
  explicit raw(Fill fill) {
    capnp::MallocMessageBuilder b(max_frame_size / 8);
    fill(b.initRoot<wire::TransferMessage>());
    words = capnp::messageToFlatArray(b);
  }
  std::span<const std::byte> bytes() const {
    return {reinterpret_cast<const std::byte*>(words.begin()), words.size() * 8};
  }
  kj::Array<capnp::word> words;
};

template <class T>
T round_trip(const T& m, frame& f) {
  status s = encode(transfer_message{m}, f);
  EXPECT_TRUE(s.ok()) << s.to_string();
  auto back = decode(f.bytes());
  EXPECT_TRUE(back.ok()) << back.error().to_string();
  if (!back.ok() || !std::holds_alternative<T>(*back)) {
    ADD_FAILURE() << "decoded to the wrong message type";
    return T{};
  }
  return std::get<T>(*back);
}

std::vector<transfer_message> small_samples(const std::vector<std::byte>& inline_data) {
  return {pull_request{7, 3, "words", "k/1", std::nullopt, 2, 4},
          pull_request{8, 3, "", "", 99, 5, 0},
          object_header{7, 0, "", 1ull << 30, max_chunk_size},
          object_header{7, 4, "store full", 0, 0},
          credit{7, 2},
          cancel{7, 0, ""},
          cancel{7, 5, "producer lost the object"},
          object_inline{3, "b", "key", inline_data},
          object_inline{3, "b", "empty", {}}};
}

// -- round trips --------------------------------------------------------------------

TEST(TransferCodec, PullRequestRoundTrips) {
  frame f;
  auto by_name = round_trip(pull_request{7, 3, "words", "k/1", std::nullopt, 2, 4}, f);
  EXPECT_EQ(by_name.transfer, 7u);
  EXPECT_EQ(by_name.session, 3u);
  EXPECT_EQ(by_name.bucket, "words");
  EXPECT_EQ(by_name.key, "k/1");
  EXPECT_FALSE(by_name.object.has_value());
  EXPECT_EQ(by_name.incarnation, 2u);
  EXPECT_EQ(by_name.credit, 4u);
  std::string odd_key("a\0b", 3);
  auto by_id = round_trip(pull_request{~0ull, 0, std::string(max_name_length, 'x'), odd_key,
                                       0, ~0ull, ~0u}, f);
  EXPECT_EQ(by_id.transfer, ~0ull);
  EXPECT_EQ(by_id.bucket.size(), max_name_length);
  EXPECT_EQ(by_id.key, odd_key);
  ASSERT_TRUE(by_id.object.has_value());
  EXPECT_EQ(*by_id.object, 0u);  // id 0 is still "by id", not "by name"
  EXPECT_EQ(by_id.incarnation, ~0ull);
  EXPECT_EQ(by_id.credit, ~0u);
}

TEST(TransferCodec, ObjectHeaderRoundTrips) {
  frame f;
  auto ok = round_trip(object_header{9, 0, "ignored when ok", max_object_size, min_chunk_size}, f);
  EXPECT_EQ(ok.transfer, 9u);
  EXPECT_EQ(ok.code, 0u);
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.total_size, max_object_size);
  EXPECT_EQ(ok.chunk_size, min_chunk_size);
  auto empty = round_trip(object_header{9, 0, "", 0, max_chunk_size}, f);
  EXPECT_EQ(empty.total_size, 0u);
  auto err = round_trip(object_header{9, 2, "no such object", 0, 0}, f);
  EXPECT_EQ(err.code, 2u);
  EXPECT_EQ(err.error, "no such object");
  auto cut = round_trip(object_header{9, 5, std::string(max_error_text + 10, 'e'), 0, 0}, f);
  EXPECT_EQ(cut.error, std::string(max_error_text, 'e'));
}

TEST(TransferCodec, CreditAndCancelRoundTrip) {
  frame f;
  auto c = round_trip(credit{11, 16}, f);
  EXPECT_EQ(c.transfer, 11u);
  EXPECT_EQ(c.chunks, 16u);
  auto x = round_trip(cancel{11, 3, "store full"}, f);
  EXPECT_EQ(x.transfer, 11u);
  EXPECT_EQ(x.code, 3u);
  EXPECT_EQ(x.reason, "store full");
  auto long_reason = round_trip(cancel{11, 0, std::string(max_error_text * 2, 'r')}, f);
  EXPECT_EQ(long_reason.reason.size(), max_error_text);
}

TEST(TransferCodec, ObjectInlineRoundTripsWithoutCopy) {
  frame f;
  auto payload = pattern(max_inline_size, 3);
  auto back = round_trip(object_inline{42, "bucket", "key", payload}, f);
  EXPECT_EQ(back.session, 42u);
  EXPECT_EQ(back.bucket, "bucket");
  EXPECT_EQ(back.key, "key");
  EXPECT_TRUE(same(back.data, payload));
  EXPECT_TRUE(inside(back.data, f.bytes()));
  auto empty = round_trip(object_inline{42, "bucket", "empty", {}}, f);
  EXPECT_TRUE(empty.data.empty());
}

TEST(TransferCodec, FourMiBChunkRoundTripsWithoutCopy) {
  frame f;
  auto payload = pattern(max_chunk_size, 5);
  auto back = round_trip(chunk{3, 12 * std::uint64_t{max_chunk_size}, payload}, f);
  EXPECT_EQ(back.transfer, 3u);
  EXPECT_EQ(back.offset, 12 * std::uint64_t{max_chunk_size});
  EXPECT_TRUE(same(back.data, payload));
  EXPECT_TRUE(inside(back.data, f.bytes()));  // a view into the frame, not a copy
  // Segment table, root pointer, TransferMessage, Chunk: 7 words of framing.
  EXPECT_EQ(f.size(), max_chunk_size + 56u);
  EXPECT_LE(f.size(), max_frame_size);
}

TEST(TransferCodec, InPlaceChunkIsWrittenStraightIntoTheFrame) {
  frame f;
  auto payload = pattern(1000, 9);
  auto slot = encode_chunk_in_place(4, 2000, payload.size(), f);
  ASSERT_TRUE(slot.ok()) << slot.error().to_string();
  ASSERT_EQ(slot->size(), payload.size());
  EXPECT_TRUE(inside(*slot, f.bytes()));
  std::memcpy(slot->data(), payload.data(), payload.size());
  auto back = decode(f.bytes());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  auto& c = std::get<chunk>(*back);
  EXPECT_EQ(c.data.data(), slot->data());
  EXPECT_TRUE(same(c.data, payload));
  EXPECT_EQ(c.offset, 2000u);
}

// The in-place frames are byte for byte what capnp::messageToFlatArray writes,
// even in a reused frame full of old bytes (the padding is zeroed, nothing leaks).
TEST(TransferCodec, FramesMatchCapnpSerializationInReusedFrames) {
  frame f;
  auto dirty = f.assign(max_frame_size);
  std::memset(dirty.data(), 0xAA, dirty.size());
  auto payload = pattern(max_chunk_size - 3, 7);
  ASSERT_TRUE(encode(chunk{5, 64, payload}, f).ok());
  raw expected([&](wire::TransferMessage::Builder root) {
    auto c = root.initChunk();
    c.setTransferId(5);
    c.setOffset(64);
    c.setData({reinterpret_cast<const kj::byte*>(payload.data()), payload.size()});
  });
  EXPECT_TRUE(same(f.bytes(), expected.bytes()));

  std::memset(f.assign(max_frame_size).data(), 0x55, max_frame_size);
  ASSERT_TRUE(encode(pull_request{1, 2, "bb", "kkk", 4, 5, 6}, f).ok());
  raw expected_pull([](wire::TransferMessage::Builder root) {
    auto p = root.initPullRequest();
    p.setTransferId(1);
    p.setSession(2);
    p.setBucket("bb");
    p.setKey("kkk");
    p.getObject().setId(4);
    p.setIncarnation(5);
    p.setCredit(6);
  });
  EXPECT_TRUE(same(f.bytes(), expected_pull.bytes()));
}

TEST(TransferCodec, FramesAreReusableAfterAMove) {
  frame a;
  a.reserve(1000);
  ASSERT_TRUE(encode(credit{1, 2}, a).ok());
  frame b(std::move(a));
  EXPECT_TRUE(decode(b.bytes()).ok());
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from frames are empty
  EXPECT_EQ(a.capacity(), 0u);
  ASSERT_TRUE(encode(credit{3, 4}, a).ok());
  EXPECT_EQ(std::get<credit>(*decode(a.bytes())).transfer, 3u);
  b = std::move(a);
  EXPECT_EQ(std::get<credit>(*decode(b.bytes())).chunks, 4u);
}

TEST(TransferCodec, EveryMessageReEncodesIdentically) {
  auto data = pattern(300);
  frame f, again;
  for (const auto& m : small_samples(data)) {
    ASSERT_TRUE(encode(m, f).ok());
    auto back = decode(f.bytes());
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_EQ(back->index(), m.index());
    ASSERT_TRUE(encode(*back, again).ok());
    EXPECT_TRUE(same(f.bytes(), again.bytes())) << "message type " << m.index();
  }
}

// -- encode refuses what decode would reject ----------------------------------------

TEST(TransferCodec, EncodeRejectsMessagesBreakingLimits) {
  frame f;
  auto big = pattern(max_chunk_size + 1);
  auto inline_big = pattern(max_inline_size + 1);
  std::vector<transfer_message> bad{
      chunk{1, 0, big},
      chunk{1, 0, {}},
      chunk{0, 0, std::span(big).first(8)},
      chunk{1, max_object_size - 4, std::span(big).first(8)},
      chunk{1, ~0ull, std::span(big).first(8)},
      object_inline{1, "b", "k", inline_big},
      pull_request{1, 1, std::string(max_name_length + 1, 'b'), "k", std::nullopt, 1, 4},
      pull_request{0, 1, "b", "k", std::nullopt, 1, 4},
      object_header{1, 0, "", 100, min_chunk_size - 1},
      object_header{1, 0, "", 100, max_chunk_size + 1},
      object_header{1, 0, "", max_object_size + 1, max_chunk_size},
      object_header{1, 99, "?", 0, 0},
      cancel{1, static_cast<std::uint16_t>(static_cast<std::uint16_t>(last_errc) + 1), ""},
      credit{0, 1}};
  for (const auto& m : bad) {
    status s = encode(m, f);
    EXPECT_EQ(s.code(), errc::invalid_argument) << "message type " << m.index();
  }
  EXPECT_EQ(encode_chunk_in_place(1, 0, max_chunk_size + 1, f).error().code(),
            errc::invalid_argument);
}

// -- malformed input ------------------------------------------------------------------

TEST(TransferCodec, EveryTruncationIsRejected) {
  auto data = pattern(200);
  frame f;
  for (const auto& m : small_samples(data)) {
    ASSERT_TRUE(encode(m, f).ok());
    auto whole = f.bytes();
    for (std::size_t n = 0; n < whole.size(); ++n) {
      auto r = decode(whole.first(n));
      EXPECT_EQ(r.error().code(), errc::invalid_argument)
          << "type " << m.index() << ": prefix of " << n << " of " << whole.size() << " bytes";
    }
  }
}

TEST(TransferCodec, TruncatedFourMiBChunksAreRejected) {
  auto payload = pattern(max_chunk_size);
  frame f;
  ASSERT_TRUE(encode(chunk{1, 0, payload}, f).ok());
  auto whole = f.bytes();
  std::vector<std::size_t> cuts;
  for (std::size_t n = 0; n < 256; ++n) cuts.push_back(n);                     // framing
  for (std::size_t n = whole.size() - 256; n < whole.size(); ++n) cuts.push_back(n);  // tail
  for (std::size_t n = 256; n < whole.size(); n += 4093) cuts.push_back(n);    // in between
  for (std::size_t n : cuts) {
    auto r = decode(whole.first(n));
    EXPECT_EQ(r.error().code(), errc::invalid_argument) << "prefix of " << n << " bytes";
  }
}

TEST(TransferCodec, MisalignedBuffersAreRejected) {
  frame f;
  ASSERT_TRUE(encode(credit{1, 2}, f).ok());
  for (std::size_t shift : {1, 2, 4, 7}) {
    shifted s(f.bytes(), shift);
    auto r = decode(s.view);
    EXPECT_EQ(r.error().code(), errc::invalid_argument) << "shift " << shift;
    EXPECT_NE(r.error().message().find("misaligned"), std::string::npos) << r.error().message();
  }
  shifted ok(f.bytes(), 8);
  EXPECT_TRUE(decode(ok.view).ok());
}

TEST(TransferCodec, GarbageAndTrailingBytesAreRejected) {
  std::vector<std::uint64_t> words(64, ~0ull);
  auto bytes = [&](std::size_t n) {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(words.data()), n);
  };
  EXPECT_FALSE(decode({}).ok());
  EXPECT_FALSE(decode(bytes(64)).ok());  // 2^32 segments
  std::fill(words.begin(), words.end(), 0);
  EXPECT_FALSE(decode(bytes(8)).ok());   // one empty segment: no root
  EXPECT_FALSE(decode(bytes(16)).ok());  // a null root pointer

  frame f;
  ASSERT_TRUE(encode(credit{1, 2}, f).ok());
  std::vector<std::uint64_t> longer(f.size() / 8 + 1, 0);
  std::memcpy(longer.data(), f.bytes().data(), f.size());
  auto r = decode({reinterpret_cast<const std::byte*>(longer.data()), longer.size() * 8});
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find("trailing"), std::string::npos) << r.error().message();
}

TEST(TransferCodec, RandomGarbageNeverThrows) {
  std::mt19937_64 rng(test_seed());
  std::vector<std::uint64_t> words(64);
  for (int trial = 0; trial < 20000; ++trial) {
    std::size_t n = rng() % (words.size() + 1);
    for (std::size_t i = 0; i < n; ++i) words[i] = rng();
    if (trial % 2 == 0 && n > 0) words[0] &= 0x00000003'ffffffffull;  // plausible segment table
    result<transfer_message> r = status::internal("unset");
    EXPECT_NO_THROW(r = decode({reinterpret_cast<const std::byte*>(words.data()), n * 8}));
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), errc::invalid_argument);
    }
  }
}

TEST(TransferCodec, MutatedFramesNeverThrow) {
  std::mt19937_64 rng(test_seed());
  auto data = pattern(100);
  auto samples = small_samples(data);
  auto big = pattern(70000);
  samples.push_back(chunk{1, 0, big});
  frame f;
  for (const auto& m : samples) {
    ASSERT_TRUE(encode(m, f).ok());
    std::vector<std::uint64_t> copy(f.size() / 8);
    for (int trial = 0; trial < 2000; ++trial) {
      std::memcpy(copy.data(), f.bytes().data(), f.size());
      auto* p = reinterpret_cast<unsigned char*>(copy.data());
      std::size_t head = std::min<std::size_t>(f.size(), 96);  // where the structure lives
      for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips)
        p[rng() % head] ^= static_cast<unsigned char>(1u << (rng() % 8));
      result<transfer_message> r = status::internal("unset");
      EXPECT_NO_THROW(r = decode({reinterpret_cast<const std::byte*>(copy.data()), f.size()}));
      if (!r.ok()) {
        EXPECT_EQ(r.error().code(), errc::invalid_argument) << r.error().message();
      }
    }
  }
}

TEST(TransferCodec, UnknownMessageTypeIsRejected) {
  frame f;
  ASSERT_TRUE(encode(credit{1, 2}, f).ok());
  std::vector<std::uint64_t> copy(f.size() / 8);
  std::memcpy(copy.data(), f.bytes().data(), f.size());
  // Word 0: segment table; word 1: root pointer; word 2: the union discriminant.
  auto* discriminant = reinterpret_cast<std::uint16_t*>(copy.data() + 2);
  ASSERT_EQ(*discriminant, static_cast<std::uint16_t>(wire::TransferMessage::CREDIT));
  *discriminant = 77;  // a type from a newer peer
  auto r = decode({reinterpret_cast<const std::byte*>(copy.data()), f.size()});
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find("unknown transfer message type 77"), std::string::npos)
      << r.error().message();
}

TEST(TransferCodec, WireMessagesBreakingLimitsAreRejected) {
  auto big = pattern(max_chunk_size + 8);
  auto blob = [](const std::vector<std::byte>& v, std::size_t n) {
    return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(v.data()), n);
  };
  std::string long_text(max_error_text + 1, 't');
  std::vector<std::pair<const char*, raw>> bad;
  bad.emplace_back("chunk over 4 MiB", raw([&](wire::TransferMessage::Builder r) {
    auto c = r.initChunk();
    c.setTransferId(1);
    c.setData(blob(big, big.size()));
  }));
  bad.emplace_back("empty chunk", raw([](wire::TransferMessage::Builder r) {
    r.initChunk().setTransferId(1);
  }));
  bad.emplace_back("offset + size overflows", raw([&](wire::TransferMessage::Builder r) {
    auto c = r.initChunk();
    c.setTransferId(1);
    c.setOffset(~0ull - 3);
    c.setData(blob(big, 8));
  }));
  bad.emplace_back("chunk beyond 1 TiB", raw([&](wire::TransferMessage::Builder r) {
    auto c = r.initChunk();
    c.setTransferId(1);
    c.setOffset(max_object_size);
    c.setData(blob(big, 1));
  }));
  bad.emplace_back("transfer id 0", raw([](wire::TransferMessage::Builder r) {
    r.initCredit().setChunks(3);
  }));
  bad.emplace_back("null member", raw([](wire::TransferMessage::Builder r) {
    r.initCancel();
    r.disownCancel();
  }));
  bad.emplace_back("chunk size 0", raw([](wire::TransferMessage::Builder r) {
    auto h = r.initObjectHeader();
    h.setTransferId(1);
    h.initOk().setTotalSize(10);
  }));
  bad.emplace_back("error code 0", raw([](wire::TransferMessage::Builder r) {
    auto h = r.initObjectHeader();
    h.setTransferId(1);
    h.initError().setText("x");
  }));
  bad.emplace_back("error text too long", raw([&](wire::TransferMessage::Builder r) {
    auto h = r.initObjectHeader();
    h.setTransferId(1);
    auto e = h.initError();
    e.setCode(1);
    e.setText(long_text);
  }));
  bad.emplace_back("inline over 64 KiB", raw([&](wire::TransferMessage::Builder r) {
    r.initObjectInline().setData(blob(big, max_inline_size + 1));
  }));
  bad.emplace_back("name too long", raw([&](wire::TransferMessage::Builder r) {
    auto p = r.initPullRequest();
    p.setTransferId(1);
    p.setKey(std::string(max_name_length + 1, 'k'));
  }));
  bad.emplace_back("frame over max_frame_size", raw([&](wire::TransferMessage::Builder r) {
    auto c = r.initChunk();
    c.setTransferId(1);
    auto more = pattern(max_frame_size);
    c.setData(blob(more, more.size()));
  }));
  for (const auto& [what, m] : bad) {
    auto r = decode(m.bytes());
    EXPECT_EQ(r.error().code(), errc::invalid_argument) << what;
    if (!r.ok()) std::cout << "  " << what << ": " << r.error().message() << "\n";
  }
}

// -- framing a stream -----------------------------------------------------------------

TEST(TransferCodec, FrameSizeSplitsAStream) {
  auto data = pattern(5000);
  auto samples = small_samples(data);
  samples.push_back(chunk{1, 0, data});
  std::vector<std::uint64_t> stream;
  frame f;
  for (const auto& m : samples) {
    ASSERT_TRUE(encode(m, f).ok());
    auto* w = reinterpret_cast<const std::uint64_t*>(f.bytes().data());
    stream.insert(stream.end(), w, w + f.size() / 8);
  }
  std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(stream.data()), stream.size() * 8);
  std::size_t decoded = 0;
  while (!rest.empty()) {
    // Read the way a socket would: a word at a time until the frame is known.
    std::size_t have = 0, need = 0;
    for (;;) {
      auto n = frame_size(rest.first(have));
      ASSERT_TRUE(n.ok()) << n.error().to_string();
      need = *n;
      if (need <= have) break;
      ASSERT_LE(need, rest.size());
      have = need;
    }
    auto m = decode(rest.first(need));
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    EXPECT_EQ(m->index(), samples[decoded].index());
    ++decoded;
    rest = rest.subspan(need);
  }
  EXPECT_EQ(decoded, samples.size());
}

TEST(TransferCodec, FrameSizeRejectsHugeOrMisalignedPrefixes) {
  std::vector<std::uint64_t> words(4, 0);
  auto bytes = [&](std::size_t n, std::size_t shift = 0) {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(words.data()) + shift, n);
  };
  EXPECT_EQ(*frame_size(bytes(0)), 8u);
  EXPECT_EQ(*frame_size(bytes(4)), 8u);
  std::uint32_t table[2] = {0, (max_frame_size / 8)};  // one segment, one word too many
  std::memcpy(words.data(), table, 8);
  EXPECT_EQ(frame_size(bytes(8)).error().code(), errc::invalid_argument);
  table[1] = max_frame_size / 8 - 1;
  std::memcpy(words.data(), table, 8);
  EXPECT_EQ(*frame_size(bytes(8)), max_frame_size);
  table[0] = 100000;  // segment count
  std::memcpy(words.data(), table, 8);
  EXPECT_EQ(frame_size(bytes(8)).error().code(), errc::invalid_argument);
  EXPECT_EQ(frame_size(bytes(8, 4)).error().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace trail::schema
