// Latency samples and the one-JSON-object-per-line output every trail-bench
// subcommand prints.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trail::bench {

struct summary {
  double p50_us = 0, p99_us = 0, min_us = 0, max_us = 0;
  std::size_t samples = 0;
};

inline summary summarize(std::vector<double> us) {
  summary s;
  if (us.empty()) return s;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * us.size()))]; };
  s.p50_us = at(0.50), s.p99_us = at(0.99), s.min_us = us.front(), s.max_us = us.back();
  s.samples = us.size();
  return s;
}

// Prints one result line: the measurement beside its floor from the same
// run. `floor_wakeup` says how the floor's peers wait: "block" (futex,
// blocking socket) or "spin" (spin briefly, then block).
// `with_ratio` false: the result is not a latency comparable to the floor
// (throughput), so no ratio_p50.
// Set by --secret and --tls: every result line says it was measured with
// authentication, or TLS, on.
inline bool authenticated_run = false;
inline bool tls_run = false;

inline void emit(nlohmann::json line, const summary& result, const char* floor_name, const char* floor_wakeup,
                 const summary& floor, bool with_ratio = true) {
  if (authenticated_run) line["auth"] = true;
  if (tls_run) line["tls"] = true;
  line["p50_us"] = result.p50_us;
  line["p99_us"] = result.p99_us;
  line["samples"] = result.samples;
  line["floor"] = floor_name;
  line["floor_wakeup"] = floor_wakeup;
  line["floor_p50_us"] = floor.p50_us;
  line["floor_p99_us"] = floor.p99_us;
  if (with_ratio) line["ratio_p50"] = floor.p50_us > 0 ? result.p50_us / floor.p50_us : 0.0;
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

}  // namespace trail::bench
