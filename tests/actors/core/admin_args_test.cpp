#include "actors/core/admin_args.hpp"

#include <gtest/gtest.h>

#include "actors/core/log_ring.hpp"

namespace trail::core {
namespace {

TEST(AdminArgs, SplitsPositionalWordsOptionsAndFlags) {
  auto a = parse_admin_args("sessions", {"--app", "chain", "x", "--off"}, {"--app"}, {"--off"}, 1);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->option("--app"), "chain");
  EXPECT_EQ(a->option("--state", "any"), "any");
  EXPECT_TRUE(a->flag("--off"));
  EXPECT_EQ(a->positional, std::vector<std::string>{"x"});
}

TEST(AdminArgs, RejectsUnknownOptionsMissingValuesAndExtraWords) {
  auto unknown = parse_admin_args("sessions", {"--ap", "x"}, {"--app"}, {}, 1);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(), "sessions: unknown option '--ap'");
  auto missing = parse_admin_args("sessions", {"--app"}, {"--app"}, {}, 0);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "sessions: --app needs a value");
  auto extra = parse_admin_args("trace", {"1", "2"}, {}, {}, 1);
  ASSERT_FALSE(extra);
  EXPECT_EQ(extra.error().code(), errc::invalid_argument);
}

TEST(AdminArgs, NumbersAreDigitsOnly) {
  EXPECT_EQ(*parse_number("id", "42"), 42u);
  EXPECT_FALSE(parse_number("id", "4x"));
  EXPECT_FALSE(parse_number("id", ""));
  EXPECT_FALSE(parse_number("id", "-1"));
}

TEST(LogRing, KeepsTheNewestLinesNumberedAndAnswersAfterASequenceNumber) {
  log_ring ring(3, 1000);
  for (int i = 1; i <= 5; ++i) ring.add(i, "line " + std::to_string(i));
  auto all = ring.after(0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].seq, 3u);
  EXPECT_EQ(all[2].text, "line 5");
  EXPECT_EQ(ring.after(4).size(), 1u);
  EXPECT_EQ(ring.after(5).size(), 0u);
  EXPECT_EQ(ring.last(), 5u);
  EXPECT_EQ(ring.after(0, 2).size(), 2u);
}

TEST(LogRing, IsBoundedByBytesToo) {
  log_ring ring(100, 10);
  ring.add(1, "12345");
  ring.add(2, "67890");
  ring.add(3, "abc");
  auto all = ring.after(0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].text, "67890");
}

}  // namespace
}  // namespace trail::core
