// trail-bench streaming: the Yahoo streaming benchmark (examples/streaming)
// at a fixed event rate, every (campaign, window) count checked exactly.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "bench.hpp"

namespace trail::bench {

struct streaming_options {
  double rate = 10000;         // events per second, sent open-loop
  double seconds = 10;         // event time the stream covers
  std::int64_t window_ms = 1000;  // tumbling event-time window
  std::int64_t batch_ms = 10;  // one put per batch
  std::string connect;         // HOST:PORT of a running node; empty: start one
  bool json = false;           // results as JSON lines (the only format)
  std::string manifest;        // default: ../examples/streaming/streaming.yaml beside this binary
};

// Adds the `streaming` subcommand, filling `s`.
CLI::App* add_streaming(CLI::App& app, streaming_options& s);
int run_streaming(const options& o, const streaming_options& s);

}  // namespace trail::bench
