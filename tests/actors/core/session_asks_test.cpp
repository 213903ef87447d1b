#include "actors/core/session_asks.hpp"

#include <gtest/gtest.h>

namespace trail::core {
namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using verdict = session_asks::verdict;

TEST(session_asks_test, WaitsUntilTheFirstAskThenBacksOffToTheCap) {
  auto t0 = clock::time_point{} + 100s;
  session_asks asks(t0, 0);
  EXPECT_EQ(asks.at(t0).what, verdict::wait);
  EXPECT_EQ(asks.at(t0 + 999ms).what, verdict::wait);
  auto s = asks.at(t0 + 1s);
  EXPECT_EQ(s.what, verdict::ask);
  EXPECT_EQ(s.timeout_ms, 0u) << "no deadline: none is sent";
  // Asked at 1 s; next ones 1 s, 2 s, 4 s, 8 s, 8 s after each ask.
  auto t = t0 + 1s;
  for (auto gap : {1s, 2s, 4s, 8s, 8s, 8s}) {
    EXPECT_EQ(asks.at(t + gap - 1ms).what, verdict::wait);
    EXPECT_EQ(asks.at(t + gap).what, verdict::ask);
    t += gap;
  }
  EXPECT_EQ(asks.at(t + 1h).what, verdict::ask) << "without a deadline it never gives up";
}

TEST(session_asks_test, AnAskCarriesWhatIsLeftOfTheDeadlineAndAtLeastOneMillisecond) {
  auto t0 = clock::time_point{} + 5s;
  session_asks asks(t0, 2500);
  auto s = asks.at(t0 + 1s);
  ASSERT_EQ(s.what, verdict::ask);
  EXPECT_EQ(s.timeout_ms, 1500u);
  s = asks.at(t0 + 4s);  // past the deadline: a node that never saw it fails it at once
  ASSERT_EQ(s.what, verdict::ask);
  EXPECT_EQ(s.timeout_ms, 1u);
}

TEST(session_asks_test, GivesUpOnlyLongPastTheDeadline) {
  auto t0 = clock::time_point{} + 5s;
  session_asks asks(t0, 2000);
  EXPECT_EQ(asks.at(t0 + 2s + session_asks::give_up_after - 1ms).what, verdict::ask);
  EXPECT_EQ(asks.at(t0 + 2s + session_asks::give_up_after).what, verdict::wait) << "the last ask moved the next one out";
  EXPECT_EQ(asks.at(t0 + 2s + session_asks::give_up_after + 1s).what, verdict::give_up);
}

}  // namespace
}  // namespace trail::core
