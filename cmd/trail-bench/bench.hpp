// trail-bench subcommands share these options and helpers.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

#include <trail/status.hpp>

namespace trail::bench {

struct options {
  bool json = false;             // results as JSON lines (the only format for now)
  std::size_t trips = 20000;     // measured round trips (after a 10 % warm-up)
  std::string executor_path;     // trail-executor binary (default: beside trail-bench)
  std::string library_path;      // benchmark functions (default: ../lib/libtrail_bench_functions.so)
};

inline int fail(const status& s) {
  std::fprintf(stderr, "trail-bench: %s\n", s.to_string().c_str());
  return 1;
}

int run_channel(const options& o);

}  // namespace trail::bench
