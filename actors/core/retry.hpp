// Retry decisions for failed invocations (issue 3 §2). Pure functions: the
// scheduler asks whether and when to re-run; it owns the timer and the
// attempt count. User side effects are therefore at-least-once.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include <trail/status.hpp>

namespace trail::core {

// Per function, from the manifest (`retries`) with fixed backoff defaults.
struct retry_policy {
  std::uint32_t retries = 2;            // re-runs after the first attempt
  std::chrono::milliseconds base{10};   // delay before the first re-run
  std::chrono::milliseconds cap{1000};  // no delay is longer than this
};

// Delay before re-running after failed attempt `attempt` (0: the first run
// failed), or nullopt when the policy's retries are exhausted
// (attempt >= p.retries). The delay is base * 2^attempt, capped at `cap`,
// never negative, and never overflows.
std::optional<std::chrono::milliseconds> retry_delay(const retry_policy& p, std::uint32_t attempt);

// Whether a failed attempt should be retried at all, by its code:
//   invalid_argument, not_found (the library fails to load, lacks the
//     function, ABI mismatch): no — the same run fails again;
//   internal (a user exception, a crash), unavailable (a lost or killed
//     executor, a timeout), overloaded (back off and retry): yes.
// An ok status is not a failure: false.
bool retryable(const status& failure);

}  // namespace trail::core
