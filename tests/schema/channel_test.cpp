#include "schema/channel.hpp"

#include <gtest/gtest.h>

namespace trail::schema {
namespace {

dispatch sample_dispatch() {
  return dispatch{42, 7, 1, "/lib/libx.so", "split", {"a", "", std::string(3, '\0')},
                  {{1, 64, 8, "words", "k/1"}, {2, 128, 0, "", ""}}, 4096, 65536};
}

TEST(ChannelCodec, DispatchRoundTrips) {
  std::string buf;
  encode(to_executor{sample_dispatch()}, buf);
  auto back = decode_to_executor(buf);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  auto& d = std::get<dispatch>(*back);
  auto e = sample_dispatch();
  EXPECT_EQ(d.invocation, e.invocation);
  EXPECT_EQ(d.session, e.session);
  EXPECT_EQ(d.attempt, e.attempt);
  EXPECT_EQ(d.library, e.library);
  EXPECT_EQ(d.function, e.function);
  EXPECT_EQ(d.args, e.args);
  ASSERT_EQ(d.inputs.size(), 2u);
  EXPECT_EQ(d.inputs[0].key, "k/1");
  EXPECT_EQ(d.inputs[1].offset, 128u);
  EXPECT_EQ(d.arena_size, 65536u);
}

TEST(ChannelCodec, EveryNodeMessageRoundTrips) {
  std::vector<to_node> msgs{ready{9, 1},
                            alloc_request{1, "b", "k", 99},
                            seal{1, 5, 64, 3, "b", "k"},
                            get_request{1, "b", "k"},
                            output{1, 0, 128, 5},
                            announce{1, "b", 12},
                            done{1, "b"},
                            complete{1, 5, "boom"}};
  std::string buf, again;
  for (auto& m : msgs) {
    encode(m, buf);
    auto back = decode_to_node(buf);
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_EQ(back->index(), m.index());
    encode(*back, again);
    EXPECT_EQ(buf, again);
  }
}

TEST(ChannelCodec, RepliesRoundTrip) {
  std::string buf;
  encode(to_executor{get_reply{3, true, {8, 64, 5, "b", "k"}}}, buf);
  auto back = decode_to_executor(buf);
  ASSERT_TRUE(back.ok());
  auto& r = std::get<get_reply>(*back);
  EXPECT_TRUE(r.found);
  EXPECT_EQ(r.object.size, 5u);
  encode(to_executor{alloc_reply{3, 4, "store full", 0, 0, 0}}, buf);
  auto a = decode_to_executor(buf);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(std::get<alloc_reply>(*a).error, "store full");
}

TEST(ChannelCodec, EveryTruncationIsRejected) {
  std::string buf;
  encode(to_executor{sample_dispatch()}, buf);
  for (std::size_t n = 0; n < buf.size(); ++n) {
    auto r = decode_to_executor(std::string_view(buf).substr(0, n));
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
  }
}

TEST(ChannelCodec, TrailingBytesAndUnknownKindsAreRejected) {
  std::string buf;
  encode(to_node{done{1, "b"}}, buf);
  EXPECT_FALSE(decode_to_node(buf + "x").ok());
  EXPECT_FALSE(decode_to_executor(buf).ok());  // a node message is not an executor message
  std::string huge_count = buf.substr(0, 2);
  huge_count += std::string("\x01\0\0\0\0\0\0\0\xff\xff\xff\xff", 12);
  EXPECT_FALSE(decode_to_node(huge_count).ok());
}

}  // namespace
}  // namespace trail::schema
