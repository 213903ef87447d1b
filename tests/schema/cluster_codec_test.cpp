// schema/cluster: forwarded work and reports survive a round trip, and
// anything malformed is rejected with invalid_argument, never a crash.
#include <gtest/gtest.h>

#include <random>

#include "schema/cluster.hpp"

namespace trail::schema {
namespace {

work sample_work() {
  work w;
  w.session = 7;
  w.invocation = 9;
  w.attempt = 2;
  w.app = "chain";
  w.version = 3;
  w.function = "second";
  w.args = {"a", std::string("\0b", 2)};
  w.inputs.push_back({7, "a", "x", 11, 5, true, "hello"});
  w.inputs.push_back({7, "big", "blob", 12, 1 << 20, false, {}});
  w.home_number = 4;
  w.home_data = "127.0.0.1:4000";
  w.timeout_ms = 30000;
  return w;
}

TEST(ClusterCodec, WorkRoundTrips) {
  auto w = sample_work();
  auto back = decode_work(encode(w));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->session, 7u);
  EXPECT_EQ(back->invocation, 9u);
  EXPECT_EQ(back->attempt, 2u);
  EXPECT_EQ(back->app, "chain");
  EXPECT_EQ(back->version, 3u);
  EXPECT_EQ(back->function, "second");
  EXPECT_EQ(back->args, w.args);
  ASSERT_EQ(back->inputs.size(), 2u);
  EXPECT_TRUE(back->inputs[0].has_inline);
  EXPECT_EQ(back->inputs[0].bytes, "hello");
  EXPECT_FALSE(back->inputs[1].has_inline);
  EXPECT_EQ(back->inputs[1].size, 1u << 20);
  EXPECT_EQ(back->home_data, "127.0.0.1:4000");
}

TEST(ClusterCodec, ReportRoundTrips) {
  report r;
  r.what = report::kind::app_object;
  r.invocation = 3;
  r.session = 8;
  r.from_number = 2;
  r.from_incarnation = 99;
  r.object = {8, "events", "e-8", 5, 1, true, "1"};
  r.data_address = "10.0.0.2:5000";
  r.app = "window";
  r.version = 4;
  auto back = decode_report(encode(r));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->what, report::kind::app_object);
  EXPECT_EQ(back->from_incarnation, 99u);
  EXPECT_EQ(back->object.key, "e-8");
  EXPECT_EQ(back->object.bytes, "1");
  EXPECT_EQ(back->app, "window");
  EXPECT_EQ(back->version, 4u);
}

TEST(ClusterCodec, RejectsEmptyMisalignedAndGarbage) {
  EXPECT_EQ(decode_work("").error().code(), errc::invalid_argument);
  EXPECT_EQ(decode_work("abc").error().code(), errc::invalid_argument);
  EXPECT_EQ(decode_report(std::string(16, '\xff')).error().code(), errc::invalid_argument);
  EXPECT_EQ(decode_work(std::string(8, '\0')).error().code(), errc::invalid_argument);  // an empty message: no session
}

TEST(ClusterCodec, RejectsAnInlinePayloadThatDisagreesWithItsSize) {
  auto w = sample_work();
  w.inputs[0].size = 4;  // "hello" is 5 bytes
  auto back = decode_work(encode(w));
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message().find("inline payload"), std::string::npos) << back.error().to_string();
}

TEST(ClusterCodec, RejectsAnUnknownErrorCode) {
  report r;
  r.session = 1;
  r.code = 200;
  EXPECT_EQ(decode_report(encode(r)).error().code(), errc::invalid_argument);
}

// Every truncation and many random byte flips of valid messages decode to a
// value or an error; none crashes or throws.
TEST(ClusterCodec, SurvivesTruncationAndCorruption) {
  std::string good = encode(sample_work());
  for (std::size_t n = 0; n < good.size(); n += 8) (void)decode_work(good.substr(0, n));
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = good;
    for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    (void)decode_work(bad);
    (void)decode_report(bad);
  }
  SUCCEED();
}

}  // namespace
}  // namespace trail::schema
