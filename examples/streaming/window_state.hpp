// The pure core of the streaming example's `aggregate`: per-batch partial
// counts in, complete (campaign, event-time window) counts out. No trail, no
// clock, no I/O: aggregate feeds it the objects its by_time trigger fired
// with and carries out the actions; tests drive it directly.
//
// Why it is exact under re-runs, duplicates and out-of-order delivery:
//  - Batches are numbered 0, 1, 2, ... and sent in event-time order: every
//    event of batch s+1 has event_time >= batch s's `watermark`. So once
//    batches 0..s have all been absorbed, every window ending at or before
//    batch s's watermark is complete, and no later batch can change it.
//  - A state absorbs only the contiguous prefix of batch numbers (`next`);
//    batches seen beyond it wait, whole and keyed by number (`ahead`), so a
//    second copy of a batch is recognised and dropped: a copy of s is a
//    duplicate when s < next or s is already ahead.
//  - Two carried states (a firing that overlapped the previous one) merge:
//    the prefix part (next, watermark, open counts, totals) is taken from the
//    state with the larger `next`, which has absorbed every batch below it,
//    so the other state's prefix part is a subset of it; batches ahead are
//    united by number. Every result is thus a function of the batches below
//    a prefix, and a result emitted twice (by a re-run, or by two lineages)
//    carries the same count under the same key; the `keep: app` bucket keeps
//    the first.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streaming {

inline constexpr std::int64_t no_watermark = std::numeric_limits<std::int64_t>::min();

// (window start in event-time ms, campaign index) -> view events.
using window_counts = std::map<std::pair<std::int64_t, int>, std::uint64_t>;

// Counters over a set of batches.
struct totals {
  std::uint64_t events = 0;    // valid event lines
  std::uint64_t views = 0;     // of which `view` events (the ones counted)
  std::uint64_t rejected = 0;  // lines that were not a valid event (events.hpp says which)
  std::uint64_t late = 0;      // views in a window that had already closed: the sender broke event-time order
  totals& operator+=(const totals& o);
  bool operator==(const totals&) const = default;
};

// What `process` makes of one batch.
struct partial {
  std::uint64_t seq = 0;                   // batch number, 0-based and gapless
  std::int64_t watermark = no_watermark;   // every later batch's events are at or after this (ms)
  std::int64_t window_ms = 0;              // tumbling window length, > 0
  bool last = false;                       // the stream's final batch
  totals counted;                          // this batch's counters
  window_counts counts;                    // this batch's views per window and campaign

  std::string encode() const;  // text; see window_state.cpp
  bool operator==(const partial&) const = default;
};

// One complete (campaign, window): written once as a result.
struct window_result {
  int campaign = 0;
  std::int64_t window_start = 0;  // ms; the window is [start, start + window_ms)
  std::uint64_t count = 0;
  bool operator==(const window_result&) const = default;
};

// The stream's state between two firings of `aggregate`.
// Not thread-safe; one owner (an invocation of aggregate, or a test).
class window_state {
 public:
  // Takes one batch's partial. Returns false (and changes nothing) for a
  // duplicate. Throws std::invalid_argument when its window length differs
  // from the stream's: no count could then be right.
  bool add(partial p);
  // Folds another carried state in (see the file comment for why this is
  // exact). Throws std::invalid_argument on differing window lengths.
  void merge(window_state other);
  // Absorbs the batches that extend the contiguous prefix, then returns the
  // windows that are complete and were not returned before (ordered by
  // window start, then campaign) and forgets their counts.
  std::vector<window_result> advance();

  // The final batch was absorbed: every window has been returned and no
  // carry is needed any more.
  bool finished() const { return finished_; }
  // Holds no batch at all: nothing worth carrying to the next firing.
  bool empty() const { return next_ == 0 && ahead_.empty(); }
  std::uint64_t next() const { return next_; }  // batches 0..next-1 absorbed
  std::int64_t watermark() const { return watermark_; }
  std::int64_t window_ms() const { return window_ms_; }
  const totals& counted() const { return counted_; }  // over batches 0..next-1
  std::uint64_t windows() const { return windows_; }  // results returned by advance() so far
  std::size_t open_windows() const { return open_.size(); }
  std::size_t ahead() const { return ahead_.size(); }

  // Text form of the whole state, carried from one firing to the next.
  std::string encode() const;
  bool operator==(const window_state&) const = default;

 private:
  friend struct codec;
  void use_window(std::int64_t window_ms, std::uint64_t seq);
  void absorb(const partial& p);

  std::uint64_t next_ = 0;
  std::int64_t watermark_ = no_watermark;  // windows ending at or before it are returned
  std::int64_t window_ms_ = 0;             // 0 until the first batch is seen
  bool finished_ = false;
  totals counted_;
  std::uint64_t windows_ = 0;
  window_counts open_;                     // absorbed counts of windows still open
  std::map<std::uint64_t, partial> ahead_; // batches seen beyond the prefix
};

// One object `aggregate` received: a batch's partial or a carried state.
struct decoded {
  bool is_state = false;
  partial batch;
  window_state state;
};
// Parses partial::encode() or window_state::encode() output. Throws
// std::invalid_argument naming the line for anything else.
decoded decode(std::string_view text);

}  // namespace streaming
