#include "actors/core/retry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

using ms = std::chrono::milliseconds;

TEST(RetryDelay, DoublesFromTenMillisecondsUpToTheCap) {
  const retry_policy p{20, 10ms, 1000ms};
  const long expected[] = {10, 20, 40, 80, 160, 320, 640, 1000, 1000};
  for (std::uint32_t a = 0; a < std::size(expected); ++a)
    EXPECT_EQ(retry_delay(p, a), ms(expected[a])) << "attempt " << a;
}

TEST(RetryDelay, DefaultPolicyAllowsTwoRetries) {
  const retry_policy p;
  EXPECT_EQ(retry_delay(p, 0), 10ms);
  EXPECT_EQ(retry_delay(p, 1), 20ms);
  EXPECT_EQ(retry_delay(p, 2), std::nullopt);
  EXPECT_EQ(retry_delay(p, 1000), std::nullopt);
}

TEST(RetryDelay, ZeroRetriesNeverRetries) {
  EXPECT_EQ(retry_delay({0, 10ms, 1000ms}, 0), std::nullopt);
}

TEST(RetryDelay, LargeAttemptsStayAtTheCapWithoutOverflow) {
  const retry_policy p{UINT32_MAX, 10ms, 1000ms};
  EXPECT_EQ(retry_delay(p, 64), 1000ms);
  EXPECT_EQ(retry_delay(p, UINT32_MAX - 1), 1000ms);
  const retry_policy huge{UINT32_MAX, ms::max() / 3, ms::max()};
  EXPECT_EQ(retry_delay(huge, 5), ms::max());
}

TEST(RetryDelay, BaseAboveCapIsCapped) {
  EXPECT_EQ(retry_delay({3, 5000ms, 1000ms}, 0), 1000ms);
}

TEST(RetryDelay, ZeroBaseRetriesImmediately) {
  EXPECT_EQ(retry_delay({UINT32_MAX, 0ms, 1000ms}, UINT32_MAX - 1), 0ms);
}

TEST(Retryable, LoadAndLookupFailuresAreNotRetried) {
  EXPECT_FALSE(retryable(status::invalid("ABI mismatch")));
  EXPECT_FALSE(retryable(status::not_found("no function 'count' in libwc.so")));
}

TEST(Retryable, ACancelledOrLateAttemptIsNotRunAgain) {
  EXPECT_FALSE(retryable(status::cancelled("cancelled by an operator")));
  EXPECT_FALSE(retryable(status::deadline_exceeded("deadline of 300 ms exceeded")));
}

TEST(Retryable, UserErrorsLostExecutorsAndOverloadAreRetried) {
  EXPECT_TRUE(retryable(status::internal("std::runtime_error: boom")));
  EXPECT_TRUE(retryable(status::unavailable("executor 3 died (SIGKILL)")));
  EXPECT_TRUE(retryable(status::overloaded("queue full")));
  EXPECT_TRUE(retryable(status::app_error("function 'count' threw")));
}

TEST(Retryable, OkIsNotAFailure) {
  EXPECT_FALSE(retryable(status{}));
}

// Reference: min(cap, base * 2^attempt) in wide arithmetic.
std::optional<ms> model_delay(const retry_policy& p, std::uint32_t attempt) {
  if (attempt >= p.retries) return std::nullopt;
  const long double d = static_cast<long double>(p.base.count()) * std::pow(2.0L, attempt);
  return ms(static_cast<ms::rep>(std::min<long double>(d, p.cap.count())));
}

TEST(RetryDelay, MatchesReferenceModelForRandomPolicies) {
  std::mt19937_64 rng(test_seed());
  for (int i = 0; i < 100000; ++i) {
    const retry_policy p{static_cast<std::uint32_t>(rng() % 80), ms(rng() % 5000),
                         ms(rng() % 100000)};
    const auto attempt = static_cast<std::uint32_t>(rng() % 90);
    ASSERT_EQ(retry_delay(p, attempt), model_delay(p, attempt))
        << "retries " << p.retries << " base " << p.base.count() << " cap " << p.cap.count()
        << " attempt " << attempt;
  }
}

}  // namespace
}  // namespace trail::core::test
