// What every streaming test asks of a run: every (campaign, window) count
// exact; and the 10,000 events/s × 10 s run the issue names, on whatever
// the client is connected to (a node, or a cluster's coordinator).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "driver.hpp"

namespace trail::testing {

inline void expect_exact(const streaming::stream_report& r) {
  for (const auto& m : r.mismatches) ADD_FAILURE() << m;
  EXPECT_TRUE(r.exact()) << r.mismatch_count << " mismatches; summary: " << r.summary;
  EXPECT_EQ(r.windows_checked, r.sent.counts.size());
}

// Runs it, checks it, prints its latencies under `label`; the report for more checks.
inline std::optional<streaming::stream_report> ten_thousand_for_ten_seconds(client& c, const char* label) {
  streaming::stream_options o;
  o.rate = 10000, o.duration_ms = 10000, o.window_ms = 1000, o.batch_ms = 10;
  auto r = streaming::run_stream(c, o);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  if (!r.ok()) return std::nullopt;
  EXPECT_EQ(r->sent.sent.events, 100000u);
  EXPECT_GE(r->sent.counts.size(), 1000u) << "100 campaigns x 10 windows (and the edges)";
  expect_exact(*r);
  auto lat = r->latency_ms;
  std::sort(lat.begin(), lat.end());
  EXPECT_FALSE(lat.empty());
  if (!lat.empty())
    std::printf("%s: %.0f events/s sent; window close to result p50 %.0f ms, max %.0f ms (%zu windows)\n", label,
                r->events_per_s, lat[lat.size() / 2], lat.back(), lat.size());
  return std::move(*r);
}

}  // namespace trail::testing
