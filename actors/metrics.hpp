// Prometheus metrics, the pure part: fixed-bucket latency histograms, what a
// node records on its hot path, the text exposition format (version 0.0.4)
// and the little HTTP a scrape needs. No CAF, no sockets: the server that
// serves it is metrics_server.hpp.
//
// Recording is meant for the node loop's hot path: histogram::record() is a
// handful of instructions (no search, no allocation, no atomics), because
// every writer and reader of one node_metrics runs on one thread (the node
// loop: the scheduler writes, the metrics server reads). Nothing here is
// thread-safe; copy it to hand it to another thread.
#pragma once

#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

namespace trail::metrics {

using clock = std::chrono::steady_clock;

// A histogram of durations with fixed log-scale buckets: bucket k counts
// durations in (2^(k-1) µs, 2^k µs] — upper bounds 1 µs, 2 µs, 4 µs, ...,
// 2^24 µs (about 16.8 s) — and one more bucket counts everything above
// (Prometheus' +Inf). Durations are rounded up to the microsecond, so a
// bound is exact; a negative duration counts as zero.
class histogram {
 public:
  static constexpr int finite_buckets = 25;  // 1 µs .. 2^24 µs
  // Bucket of `d`: 0 .. finite_buckets (the last is the +Inf overflow).
  static int index_of(std::chrono::nanoseconds d) noexcept {
    auto ns = d.count();
    if (ns <= 1000) return 0;
    auto us = (static_cast<std::uint64_t>(ns) + 999) / 1000;  // rounded up (unsigned: no overflow)
    int k = std::bit_width(us - 1);
    return k < finite_buckets ? k : finite_buckets;
  }
  // The upper bound of bucket k < finite_buckets, in microseconds.
  static std::uint64_t bound_us(int k) { return std::uint64_t{1} << k; }

  void record(std::chrono::nanoseconds d) noexcept {
    ++counts_[static_cast<std::size_t>(index_of(d))];
    ++count_;
    sum_ns_ += d.count() > 0 ? static_cast<std::uint64_t>(d.count()) : 0;
  }

  std::uint64_t count() const { return count_; }
  std::uint64_t sum_ns() const { return sum_ns_; }
  // Durations in bucket k alone (not cumulative); k == finite_buckets: above the last bound.
  std::uint64_t in_bucket(int k) const { return counts_.at(static_cast<std::size_t>(k)); }

 private:
  std::array<std::uint64_t, finite_buckets + 1> counts_{};
  std::uint64_t count_ = 0, sum_ns_ = 0;
};

// What a node records beyond the scheduler's own counters (which `status`
// already reports and a scrape reads from there).
//
// Thread: the node loop's. The scheduler (sched/flow.cpp) writes it; the
// metrics server, on the same loop, reads it. Owned by run_node (node.cpp),
// which keeps it alive longer than both.
struct node_metrics {
  // Hop latency as the scheduler sees it: from a task becoming runnable on
  // this node (its trigger fired, its session was invoked, its retry's delay
  // ended, forwarded work arrived) to its dispatch into an executor's ring.
  // The executor's wake-up and the function's entry are not included.
  histogram hop;
  // Sessions homed here: from start_session to the session's end (output,
  // failure, or going quiet), in the node's view.
  histogram session;
  std::uint64_t failures = 0;  // attempts run here that ended failed (crash, error, timeout, lost)

  void session_started(std::uint64_t s, clock::time_point now) {
    if (open_.size() >= max_open) open_.clear();  // (bounded; sessions in flight are far fewer)
    open_[s] = now;
  }
  void session_ended(std::uint64_t s, clock::time_point now) {
    auto it = open_.find(s);
    if (it == open_.end()) return;
    session.record(now - it->second);
    open_.erase(it);
  }
  std::size_t open_sessions() const { return open_.size(); }

 private:
  static constexpr std::size_t max_open = 1 << 20;
  std::unordered_map<std::uint64_t, clock::time_point> open_;  // sessions started and not ended
};

// -- the text exposition format, version 0.0.4 -------------------------------------

enum class metric_type { counter, gauge, histogram };

struct label {
  std::string_view name, value;
};

// Whether `name` may name a metric ([a-zA-Z_:][a-zA-Z0-9_:]*) or a label
// ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
// A label value between double quotes: \ " and newline escaped.
std::string escape_label_value(std::string_view v);
// A HELP text: \ and newline escaped.
std::string escape_help(std::string_view v);
// A sample value: integers as integers, else the shortest exact decimal;
// +Inf, -Inf, NaN.
std::string format_value(double v);

// Builds one exposition: families, each its HELP and TYPE lines and then
// its samples. Checks names loudly (a bad name is trail's bug).
class exposition {
 public:
  // REQUIRES: a valid name, not started before.
  void family(std::string_view name, std::string_view help, metric_type type);
  // A sample of the family started last (or, for histograms, its
  // _bucket/_sum/_count series). REQUIRES: valid label names.
  void sample(std::string_view name, std::initializer_list<label> labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }
  // One family of a whole histogram (seconds): cumulative buckets ending in
  // le="+Inf", _sum and _count.
  void histogram(std::string_view name, std::string_view help, const metrics::histogram& h);
  // Shortcuts: a family with one unlabelled sample.
  void counter(std::string_view name, std::string_view help, double value);
  void gauge(std::string_view name, std::string_view help, double value);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void labels(std::initializer_list<label> ls, std::string_view extra_name = {}, std::string_view extra_value = {});
  std::string out_;
  std::unordered_map<std::string, metric_type> families_;
};

// -- HTTP/1.x, as much as a scrape needs --------------------------------------------

inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

struct http_request {
  enum class state { incomplete, complete, bad } st = state::incomplete;
  std::string method, path;  // path without its query string
};
// Parses the request head buffered so far (complete once a blank line ends it).
http_request parse_http_request(std::string_view buffered);
// A whole response that closes the connection.
std::string http_response(int code, std::string_view reason, std::string_view type, std::string_view body,
                          bool head_only = false);
// The reply to a complete request: its status line and body, given the
// exposition text (only rendered for GET/HEAD /metrics).
struct route {
  int code = 404;
  bool wants_metrics = false;  // 200: reply with the exposition
};
route route_of(const http_request& r);

// -- what a node and a coordinator export ---------------------------------------------

// The data path's totals (net::transfer_stats), zero without one.
struct transfer_bytes {
  std::uint64_t in = 0;   // pulled into this node's store
  std::uint64_t out = 0;  // served to other nodes
};
// A node's exposition: the scheduler's `status` answer (its counters and
// gauges), what it recorded (`m`) and its data path's bytes. A field the
// status lacks leaves its metric out.
std::string render_node(const nlohmann::json& status, const node_metrics& m, const transfer_bytes& t);
// A coordinator's exposition, from its front's `status` answer (the nodes
// and every shard's status).
std::string render_coordinator(const nlohmann::json& status);

}  // namespace trail::metrics
