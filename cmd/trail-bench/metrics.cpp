// trail-bench metrics: what recording Prometheus metrics costs the hot path,
// beside the hop it rides on.
//
// The recording is measured in this process, exactly as the scheduler does
// it per dispatched task (sched/flow.cpp): load the node_metrics pointer,
// test it, subtract the task's queued time from `now`, and record the
// duration in the hop histogram. Durations are spread log-uniformly over
// 1 µs .. 10 ms, so every bucket is hit and nothing predicts the branch.
// The reference ("floor") is the back-to-back local hop of a real node
// measured in the same run; the aim is a ratio under 1 %. A session's start
// and end (a hash map insert and erase, once per session, never per hop)
// are measured the same way, beside the same hop.
#include "bench.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>

#include "actors/metrics.hpp"
#include "stats.hpp"

namespace trail::bench {
namespace {

using clock = std::chrono::steady_clock;

// Keeps the compiler from hoisting or dropping what `p` points to.
template <class T>
T* opaque(T* p) {
  asm volatile("" : "+r"(p) : : "memory");
  return p;
}

constexpr std::size_t per_batch = 100000;

// ns per hop recording, one sample per batch.
std::vector<double> hop_record_ns(std::size_t batches) {
  metrics::node_metrics m;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(std::log2(1e3), std::log2(1e7));
  auto now = clock::now();
  std::vector<clock::time_point> queued(4096);
  for (auto& q : queued) q = now - std::chrono::nanoseconds(static_cast<std::int64_t>(std::exp2(exponent(rng))));
  std::vector<double> out;
  for (std::size_t b = 0; b < batches; ++b) {
    auto t0 = clock::now();
    for (std::size_t i = 0; i < per_batch; ++i) {
      metrics::node_metrics* mm = opaque(&m);  // (st.opts.metrics)
      if (mm) mm->hop.record(now - queued[i & 4095]);
    }
    auto t1 = clock::now();
    out.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / per_batch);
  }
  if (m.hop.count() != batches * per_batch) std::abort();  // (and the work cannot be dropped)
  return out;
}

// ns per session recording (start and end), one sample per batch, with
// `live` sessions in flight all along.
std::vector<double> session_record_ns(std::size_t batches, std::uint64_t live = 1000) {
  metrics::node_metrics m;
  auto now = clock::now();
  for (std::uint64_t s = 0; s < live; ++s) m.session_started(s, now);
  std::uint64_t next = live;
  std::vector<double> out;
  for (std::size_t b = 0; b < batches; ++b) {
    auto t0 = clock::now();
    for (std::size_t i = 0; i < per_batch / 10; ++i, ++next) {
      metrics::node_metrics* mm = opaque(&m);
      mm->session_started(next, now);
      mm->session_ended(next - live, now + std::chrono::microseconds(next & 1023));
    }
    auto t1 = clock::now();
    out.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / (per_batch / 10));
  }
  return out;
}

summary us_of(const std::vector<double>& ns) {
  std::vector<double> us;
  for (double v : ns) us.push_back(v / 1000);
  return summarize(us);
}

}  // namespace

int run_metrics(const options& o) {
  auto hop = back_to_back_hops_us(o);
  if (!hop) return fail(hop.error());
  auto floor = summarize(*hop);
  constexpr std::size_t batches = 200;
  emit({{"bench", "metrics"}, {"case", "hop"}, {"records_per_sample", per_batch}}, us_of(hop_record_ns(batches)),
       "local_hop", "spin", floor);
  emit({{"bench", "metrics"}, {"case", "session"}, {"records_per_sample", per_batch / 10}},
       us_of(session_record_ns(batches)), "local_hop", "spin", floor);
  return 0;
}

}  // namespace trail::bench
