// The lease clock: a coordinator acts only while its lease is current by
// its own count, which runs out before etcd's.
#include "actors/core/lease_clock.hpp"

#include <gtest/gtest.h>

namespace trail::core {
namespace {

using namespace std::chrono_literals;
using clock = lease_clock::clock;

TEST(LeaseClock, IsCurrentFromARenewalUntilItsTimeLessTheMargin) {
  lease_clock l(200ms);
  clock::time_point t0{};
  EXPECT_FALSE(l.current(t0)) << "nothing granted yet";
  l.renewed(t0, 3000ms);
  EXPECT_TRUE(l.current(t0));
  EXPECT_TRUE(l.current(t0 + 2799ms));
  EXPECT_FALSE(l.current(t0 + 2800ms)) << "the margin is not spent acting";
  EXPECT_EQ(l.renew_at(), t0 + 1000ms);
  EXPECT_EQ(l.expires(), t0 + 3000ms);
}

TEST(LeaseClock, CountsFromWhenTheRenewalWasSentNotAnswered) {
  lease_clock l(0ms);
  clock::time_point t0{};
  l.renewed(t0, 3000ms);
  // Sent at 1 s, answered (late) at 2.5 s: etcd's lease runs from about 1 s on.
  l.renewed(t0 + 1000ms, 3000ms);
  EXPECT_TRUE(l.current(t0 + 3999ms));
  EXPECT_FALSE(l.current(t0 + 4000ms));
  EXPECT_EQ(l.renew_at(), t0 + 2000ms);
}

TEST(LeaseClock, ALostLeaseStaysLostWhateverAnswersComeLate) {
  lease_clock l(100ms);
  clock::time_point t0{};
  l.renewed(t0, 3000ms);
  l.lost();
  EXPECT_FALSE(l.current(t0));
  l.renewed(t0 + 500ms, 3000ms);  // a renewal's answer that crossed the loss
  EXPECT_FALSE(l.current(t0 + 600ms));
}

}  // namespace
}  // namespace trail::core
