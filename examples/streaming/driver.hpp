// Drives the streaming example against a node through the client library:
// sends the generator's batches open-loop with put, waits for the stream's
// summary, reads every result back with get and checks each (campaign,
// window) count exactly against the generator's truth. Used by
// `trail-bench streaming` and the end-to-end test.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <trail/client.hpp>

#include "generator.hpp"

namespace streaming {

struct stream_options {
  std::string app = "streaming";     // a deployed copy of examples/streaming/streaming.yaml
  double rate = 10000;               // events per second, > 0
  std::int64_t duration_ms = 10000;  // event time covered by the stream
  std::int64_t window_ms = 1000;     // tumbling window length
  std::int64_t batch_ms = 10;        // one put per batch_ms
  std::uint64_t seed = 1;
  std::uint64_t malformed_every = 0;  // every n-th line malformed (0: none)
  std::chrono::milliseconds result_timeout{60000};  // for the summary, after the last put
};

struct stream_report {
  truth sent;                     // what the generator sent
  std::int64_t stream_end_ms = 0; // event time the last batch covers up to (ms since the epoch)
  double send_s = 0;              // from the stream's start to the last put's reply
  double events_per_s = 0;        // lines sent / send_s
  double max_behind_ms = 0;       // the latest any batch left after its scheduled time
  std::vector<double> put_rtt_us; // each batch put's round trip
  std::vector<double> latency_ms; // per timed result: written_ms - window end (windows cut by the end not timed)
  std::uint64_t redelivered = 0;  // batches put again: their sessions failed with their node
  std::uint64_t retried_puts = 0; // puts tried again: no node could take them (one was being lost)
  std::uint64_t windows_checked = 0;  // results read back and compared
  std::uint64_t mismatch_count = 0;
  std::uint64_t wrong_count = 0;  // of those, results there but wrong (the rest are missing)
  std::vector<std::string> mismatches;  // the first few, described
  std::string summary;            // results/summary as written by aggregate ("" if it never came)
  bool exact() const { return mismatch_count == 0; }
};

// Runs one stream, then confirms that every batch's session ended well,
// putting again the batches whose session failed with a lost node. Errors:
// the generator's config (invalid_argument), a put that fails for any
// reason other than a full store or a lost node (retried for 30 s), or a
// batch's session that failed otherwise.
// A result that is missing or wrong is no error: it is in the report.
trail::result<stream_report> run_stream(trail::client& c, const stream_options& o);

}  // namespace streaming
