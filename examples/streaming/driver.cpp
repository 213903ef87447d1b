#include "driver.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "campaigns.hpp"

namespace streaming {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A result missing, or (`wrong`) there but not what the generator sent.
void mismatch(stream_report& r, std::string what, bool wrong = false) {
  if (r.mismatches.size() < 10) r.mismatches.push_back(std::move(what));
  ++r.mismatch_count;
  if (wrong) ++r.wrong_count;
}

// A batch put, and the session it went into.
struct sent_batch {
  std::uint64_t seq = 0;
  std::uint64_t session = 0;
  std::string text;
};

// Puts one batch into a new session. A full store, or a node lost while
// the batch was on its way (unavailable), is retried for up to 30 s: a
// batch is never sent twice except to replace a copy that was lost, and
// aggregate ignores a batch number it has (README "Why the counts are
// exact"). Anything else fails the run.
trail::result<std::uint64_t> put_batch(trail::client& c, const stream_options& o, std::uint64_t seq,
                                       const std::string& text, stream_report& r) {
  auto give_up = steady::now() + 30s;
  for (auto backoff = 1ms;; backoff = std::min(backoff * 2, 100ms)) {
    auto t0 = steady::now();
    auto p = c.put(o.app, "events", "b-" + std::to_string(seq), text, trail::put_scope::new_session);
    if (p) {
      r.put_rtt_us.push_back(std::chrono::duration<double, std::micro>(steady::now() - t0).count());
      return p->session;
    }
    auto code = p.error().code();
    if ((code != trail::errc::overloaded && code != trail::errc::unavailable) || steady::now() > give_up)
      return p.error();
    if (code == trail::errc::unavailable) ++r.retried_puts;
    std::this_thread::sleep_for(backoff);  // a retry's backoff; the deadline bounds it
  }
}

// Every batch's session must have ended well. One that failed because its
// node was lost (unavailable: its put object went with the node) is put
// again, into a new session; any other failure fails the run.
trail::status confirm(trail::client& c, const stream_options& o, std::vector<sent_batch>& batches, stream_report& r) {
  for (auto& b : batches) {
    for (int attempt = 0;; ++attempt) {
      auto done = c.result_of(b.session, o.result_timeout);
      if (done) break;
      if (done.error().code() != trail::errc::unavailable || attempt == 5)
        return trail::status(done.error().code(), "batch " + std::to_string(b.seq) + ": " + done.error().message());
      auto again = put_batch(c, o, b.seq, b.text, r);
      if (!again) return again.error();
      b.session = *again;
      ++r.redelivered;
    }
  }
  return {};
}

// Sends batch k at (k+1) * batch_ms after the start: open loop, so a slow
// put delays the batches after it but never thins them out.
trail::status send(trail::client& c, const stream_options& o, generator& g, std::vector<sent_batch>& sent,
                   stream_report& r) {
  auto start = steady::now();
  std::uint64_t n = g.batches_for(o.duration_ms);
  for (std::uint64_t k = 0; k < n; ++k) {
    auto due = start + std::chrono::milliseconds((k + 1) * o.batch_ms);
    std::this_thread::sleep_until(due);  // pacing the generator, not waiting for the system
    r.max_behind_ms = std::max(r.max_behind_ms, std::chrono::duration<double, std::milli>(steady::now() - due).count());
    std::string text = g.batch(k, k + 1 == n);
    auto session = put_batch(c, o, k, text, r);
    if (!session) return session.error();
    sent.push_back({k, *session, std::move(text)});
  }
  r.send_s = std::chrono::duration<double>(steady::now() - start).count();
  const totals& t = g.sent().sent;
  r.events_per_s = static_cast<double>(t.events + t.rejected) / r.send_s;
  return {};
}

// Polls for the summary, which aggregate writes after the last window.
void await_summary(trail::client& c, const stream_options& o, stream_report& r) {
  for (auto until = steady::now() + o.result_timeout; steady::now() < until;) {
    if (auto s = c.get(o.app, "results", "summary"); s) {
      r.summary = *s;
      return;
    }
    std::this_thread::sleep_for(5ms);  // a poll interval; the deadline bounds the wait
  }
  mismatch(r, "no results/summary within " + std::to_string(o.result_timeout.count()) + " ms of the last batch");
}

void check_summary(stream_report& r) {
  if (r.summary.empty()) return;
  auto j = nlohmann::json::parse(r.summary, nullptr, false);
  const truth& t = r.sent;
  auto expect = [&](const char* field, std::uint64_t want) {
    if (!j.is_object() || !j[field].is_number_unsigned() || j[field].get<std::uint64_t>() != want)
      mismatch(r, std::string("summary ") + field + ": want " + std::to_string(want) + ", got " + r.summary, true);
  };
  expect("batches", t.batches), expect("events", t.sent.events), expect("views", t.sent.views);
  expect("rejected", t.sent.rejected), expect("late", 0), expect("windows", t.counts.size());
}

void check_windows(trail::client& c, const stream_options& o, stream_report& r) {
  for (const auto& [key, want] : r.sent.counts) {
    std::string name = campaign_name(key.second) + "/" + std::to_string(key.first);
    auto got = c.get(o.app, "results", name);
    ++r.windows_checked;
    if (!got) {
      mismatch(r, name + ": want " + std::to_string(want) + ", " + got.error().to_string());
      continue;
    }
    auto j = nlohmann::json::parse(*got, nullptr, false);
    if (!j.is_object() || !j["count"].is_number_unsigned() || !j["written_ms"].is_number_integer()) {
      mismatch(r, name + ": unreadable result '" + *got + "'", true);
      continue;
    }
    if (j["count"].get<std::uint64_t>() != want)
      mismatch(r, name + ": want " + std::to_string(want) + ", got " + std::to_string(j["count"].get<std::uint64_t>()), true);
    // A window the final batch cut short closed by the end-of-stream mark,
    // not by time: checked, but not timed.
    std::int64_t end = key.first + o.window_ms;
    if (end <= r.stream_end_ms) r.latency_ms.push_back(static_cast<double>(j["written_ms"].get<std::int64_t>() - end));
  }
}

}  // namespace

trail::result<stream_report> run_stream(trail::client& c, const stream_options& o) {
  generator_config gc;
  gc.rate = o.rate, gc.batch_ms = o.batch_ms, gc.window_ms = o.window_ms, gc.seed = o.seed;
  gc.malformed_every = o.malformed_every;
  gc.start_ms = wall_ms();  // event time is wall-clock time, as in the original benchmark
  std::optional<generator> g;
  try {
    g.emplace(gc);
  } catch (const std::invalid_argument& e) {
    return trail::status::invalid(e.what());
  }
  stream_report r;
  std::vector<sent_batch> batches;
  if (auto st = send(c, o, *g, batches, r); !st.ok()) return st;
  if (auto st = confirm(c, o, batches, r); !st.ok()) return st;
  r.sent = g->sent();
  r.stream_end_ms = gc.start_ms + static_cast<std::int64_t>(r.sent.batches) * o.batch_ms;
  await_summary(c, o, r);
  check_summary(r);
  check_windows(c, o, r);
  return r;
}

}  // namespace streaming
