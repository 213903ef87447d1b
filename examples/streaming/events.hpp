// The event stream of the Yahoo streaming benchmark as trail carries it, and
// `process`'s pure core: one batch object in, one partial out.
//
// A batch object is text: a header line, then one event per line.
//   {"window_ms":1000,"until_ms":1733330001010,"last":false}
//   {"user_id":"…","page_id":"…","ad_id":"…","ad_type":"banner","event_type":"view","event_time":1733330001003,"ip_address":"10.1.2.3"}
// Header: window_ms (tumbling window length, > 0), until_ms (optional: every
// event of a later batch has event_time >= it; lets a window close with the
// batch that ends it instead of the next one), last (the final batch).
// Events: the original benchmark's seven fields, event_time in ms since the
// epoch as a number; other fields are ignored.
//
// A malformed event line is counted as `rejected` and the batch goes on: one
// bad line must not cost the good events beside it, and a function that
// threw on it would fail the same way on every re-run. A line is rejected
// when it is not a flat JSON object, lacks one of the seven fields, has an
// ad_type or event_type outside the benchmark's sets, an event_time that is
// not a non-negative integer, or an ad_id not in the campaign table.
// A bad header (the batch cannot be placed in time) throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "window_state.hpp"

namespace streaming {

enum class event_type : std::uint8_t { view, click, purchase };

// One valid event, projected to what the pipeline uses.
struct event {
  int campaign = 0;          // joined from ad_id
  event_type type = event_type::view;
  std::int64_t time_ms = 0;  // event_time
};

// Parses one event line; nullopt when it must be rejected (see above).
std::optional<event> parse_event(std::string_view line);

// The window an event time falls in: [start, start + window_ms).
inline std::int64_t window_start(std::int64_t time_ms, std::int64_t window_ms) {
  return time_ms - time_ms % window_ms;
}

// `process`'s core: parse, keep views, project, join, count per (window,
// campaign). Throws std::invalid_argument on a bad header.
partial summarize_batch(std::uint64_t seq, std::string_view batch);

// "b-17" -> 17 (the key the generator puts batch 17 under); nullopt otherwise.
std::optional<std::uint64_t> batch_seq(std::string_view key);

}  // namespace streaming
