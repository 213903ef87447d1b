// trail-bench channel: the node <-> executor round trip — dispatch a no-op
// function to a real executor and wait for its completion — beside a raw
// shared-memory round trip with the same wake-up, measured in the same run.
#include "bench.hpp"

#include "floors.hpp"
#include "shm/executor_pool.hpp"
#include "stats.hpp"

namespace trail::bench {
namespace {

// Remembers how the last invocation ended.
struct outcome : shm::pool_events {
  status last;
  void on_finished(const shm::invocation&, const status& s) override { last = s; }
  void on_lost(const shm::invocation&, const std::string& why) override { last = status::unavailable(why); }
};

// Median and p99 of `trips` no-op round trips through a one-executor pool.
result<summary> measure_channel(const options& o) {
  auto st = shm::store::create({64 << 20, "bench_store", true});
  if (!st) return st.error();
  outcome events;
  shm::pool_options po;
  po.executor_path = o.executor_path;
  po.executors = 1;
  shm::executor_pool pool(**st, po, events);
  if (auto s = pool.start(); !s.ok()) return s;
  if (!pool.wait_ready(std::chrono::seconds(10))) return status::unavailable("executor did not start");
  (*st)->open_session(1);

  std::vector<double> us;
  us.reserve(o.trips);
  const std::size_t warmup = o.trips / 10;
  for (std::size_t i = 0; i < o.trips + warmup; ++i) {
    shm::invocation inv{i + 1, 1, 0, o.library_path, "noop", {}, {}, std::chrono::seconds(10)};
    auto t0 = std::chrono::steady_clock::now();
    if (auto s = pool.dispatch(0, std::move(inv)); !s.ok()) return s;
    while (pool.info(0).state == shm::executor_state::busy) pool.poll(std::chrono::milliseconds(1000));
    auto t1 = std::chrono::steady_clock::now();
    if (!events.last.ok()) return events.last;
    if (i >= warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return summarize(us);
}

}  // namespace

// Two lines: the default wake-up (spin briefly, then block) and pure blocking
// (TRAIL_SPIN=0, inherited by the executor), each against the raw round trip
// with the same wake-up.
int run_channel(const options& o) {
  auto spinning = measure_channel(o);
  if (!spinning) return fail(spinning.error());
  auto spin_floor = summarize(shm_rtt_us(o.trips, true));
  emit({{"bench", "channel"}, {"wakeup", "spin_then_block"}, {"trips", o.trips}}, *spinning, "shm_rtt", "spin", spin_floor);

  ::setenv("TRAIL_SPIN", "0", 1);
  auto blocking = measure_channel(o);
  if (!blocking) return fail(blocking.error());
  auto block_floor = summarize(shm_rtt_us(o.trips, false));
  emit({{"bench", "channel"}, {"wakeup", "block"}, {"trips", o.trips}}, *blocking, "shm_rtt", "block", block_floor);
  return 0;
}

}  // namespace trail::bench
