// The streaming example's event generator and its ground truth: the events
// of each batch, and the exact view count per (campaign, window) it sent.
// Used by `trail-bench streaming` and the tests. Pure: no clock, no I/O —
// the caller paces the batches and sends them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "window_state.hpp"

namespace streaming {

struct generator_config {
  double rate = 10000;              // events per second of event time, > 0
  std::int64_t start_ms = 0;        // event time of the first event (ms since the epoch)
  std::int64_t batch_ms = 10;       // event time each batch covers
  std::int64_t window_ms = 1000;    // tumbling window length, written into every batch header
  std::uint64_t seed = 1;           // which ads, types, users: event i is a function of (seed, i)
  std::uint64_t malformed_every = 0;  // every n-th line is malformed (0: none); for bad-input tests
};

// What the generator sent, to check results against.
struct truth {
  window_counts counts;   // views per (window start, campaign); windows without views are absent
  totals sent;            // events, views and malformed lines (as `rejected`) sent
  std::uint64_t batches = 0;
};

// Batch k covers event times [start + k*batch_ms, start + (k+1)*batch_ms);
// event i happens at start + i/rate. Batches must be made in order 0, 1, ...
class generator {
 public:
  explicit generator(generator_config c);  // throws std::invalid_argument on a bad config

  // The text of batch `seq` (events.hpp's format), `last` marking the final
  // one. Adds its events to truth(). REQUIRES: seq == batches made so far.
  std::string batch(std::uint64_t seq, bool last);
  // Batches that cover `duration_ms` of event time.
  std::uint64_t batches_for(std::int64_t duration_ms) const;
  const truth& sent() const { return truth_; }
  const generator_config& config() const { return config_; }

 private:
  std::string event_line(std::uint64_t i, std::int64_t time_ms);
  std::string malformed_line(std::uint64_t i) const;

  generator_config config_;
  truth truth_;
  std::uint64_t next_event_ = 0;
};

}  // namespace streaming
