#include "actors/core/retry.hpp"

#include <algorithm>

namespace trail::core {

std::optional<std::chrono::milliseconds> retry_delay(const retry_policy& p, std::uint32_t attempt) {
  using std::chrono::milliseconds;
  if (attempt >= p.retries) return std::nullopt;
  const milliseconds cap = std::max(p.cap, milliseconds{0});
  milliseconds d = std::clamp(p.base, milliseconds{0}, cap);
  // Doubling stops at the cap (or at 0), so this runs at most ~64 times.
  for (std::uint32_t i = 0; i < attempt && d < cap && d.count() > 0; ++i)
    d = d > cap / 2 ? cap : d * 2;
  return d;
}

bool retryable(const status& failure) {
  switch (failure.code()) {
    case errc::internal:
    case errc::app_error:  // (a function that threw or crashed may not the next time)
    case errc::unavailable:
    case errc::overloaded: return true;
    case errc::ok:
    case errc::invalid_argument:
    case errc::not_found:
    case errc::cancelled:
    case errc::deadline_exceeded: return false;
  }
  return false;
}

}  // namespace trail::core
