// Where the next invocation runs: locality, hot executors, queueing.
#include "actors/core/dispatch_policy.hpp"

#include <gtest/gtest.h>

#include <random>

namespace trail::core {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
using st = executor_view::state;

const clock::time_point t0 = clock::time_point{} + 1h;

executor_view idle(clock::duration for_how_long, bool lib = false) { return {st::idle, t0 - for_how_long, 0, lib}; }
executor_view busy(std::uint32_t queued = 0, bool lib = false) { return {st::busy, t0 - 1ms, queued, lib}; }
executor_view gone() { return {st::unavailable, {}, 0, false}; }

TEST(DispatchPolicy, AnIdleProducerTakesItsOwnOutput) {
  std::vector<executor_view> e{idle(10us), idle(5ms)};
  EXPECT_EQ(choose_executor(e, {1, {}, {}}, t0), 1) << "even when another is hotter";
}

TEST(DispatchPolicy, AHotIdleExecutorBeatsABusyProducer) {
  std::vector<executor_view> e{busy(), idle(20us)};
  EXPECT_EQ(choose_executor(e, {0, 1us, {}}, t0), 1);
}

TEST(DispatchPolicy, ABusyProducerAboutToFinishBeatsASleepingExecutor) {
  std::vector<executor_view> e{busy(), idle(5ms)};
  EXPECT_EQ(choose_executor(e, {0, 2us, {}}, t0), 0) << "its ring takes it: no wake-up";
  EXPECT_EQ(choose_executor(e, {0, 500us, {}}, t0), 1) << "a long tail: wake the other";
  EXPECT_EQ(choose_executor(e, {0, {}, {}}, t0), 1) << "an unknown tail is not assumed short";
  std::vector<executor_view> queued{busy(1), idle(5ms)};
  EXPECT_EQ(choose_executor(queued, {0, 2us, {}}, t0), 1) << "work already waits behind the producer";
}

TEST(DispatchPolicy, IdleExecutorsWithTheLibraryComeFirstThenTheMostRecent) {
  std::vector<executor_view> e{idle(5ms), idle(2ms), idle(9ms, true)};
  EXPECT_EQ(choose_executor(e, {}, t0), 2);
  std::vector<executor_view> f{idle(5ms), idle(2ms), idle(9ms)};
  EXPECT_EQ(choose_executor(f, {}, t0), 1);
  std::vector<executor_view> hot{idle(20us), idle(10us), idle(30us, true)};
  EXPECT_EQ(choose_executor(hot, {}, t0), 2) << "among hot ones, the library first too";
}

TEST(DispatchPolicy, WithEveryExecutorBusyOnlyShortFunctionsQueue) {
  std::vector<executor_view> e{busy(2), busy(1), gone()};
  EXPECT_EQ(choose_executor(e, {{}, {}, 50us}, t0), 1) << "the shortest queue";
  EXPECT_EQ(choose_executor(e, {{}, {}, 5ms}, t0), std::nullopt) << "long work waits on the node";
  EXPECT_EQ(choose_executor(e, {}, t0), std::nullopt) << "unknown run time waits too";
  std::vector<executor_view> full{busy(4), busy(4)};
  EXPECT_EQ(choose_executor(full, {{}, {}, 1us}, t0), std::nullopt) << "queues are bounded";
}

TEST(DispatchPolicy, NothingAvailableMeansNone) {
  std::vector<executor_view> e{gone(), gone()};
  EXPECT_EQ(choose_executor(e, {0, 1us, 1us}, t0), std::nullopt);
  EXPECT_EQ(choose_executor({}, {}, t0), std::nullopt);
}

// Whatever the states: never an unavailable executor, never a full queue,
// an idle one whenever one exists unless the producer is about to be free.
TEST(DispatchPolicy, RandomStatesKeepTheInvariants) {
  std::uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  dispatch_params p;
  for (int round = 0; round < 5000; ++round) {
    std::vector<executor_view> e(rng() % 5);
    for (auto& x : e) {
      x.st = static_cast<st>(rng() % 3);
      x.since = t0 - std::chrono::microseconds(rng() % 2000);
      x.queued = x.st == st::busy ? rng() % (p.max_queued + 1) : 0;
      x.has_library = rng() % 2;
    }
    task_view t;
    if (!e.empty() && rng() % 2) t.producer = static_cast<int>(rng() % e.size());
    if (rng() % 2) t.producer_tail = std::chrono::microseconds(rng() % 60);
    if (rng() % 2) t.expected_run = std::chrono::microseconds(rng() % 400);
    auto c = choose_executor(e, t, t0, p);
    bool any_idle = std::any_of(e.begin(), e.end(), [](auto& x) { return x.st == st::idle; });
    if (!c) {
      EXPECT_FALSE(any_idle) << "round " << round;
      continue;
    }
    ASSERT_LT(*c, static_cast<int>(e.size()));
    const auto& x = e[*c];
    EXPECT_NE(x.st, st::unavailable) << "round " << round;
    if (x.st == st::busy) {
      EXPECT_LT(x.queued, p.max_queued) << "round " << round;
      bool waits_for_producer = t.producer == *c && x.queued == 0 && t.producer_tail && *t.producer_tail < p.wake_cost;
      EXPECT_TRUE(waits_for_producer || !any_idle) << "busy chosen over an idle one, round " << round;
    }
  }
}

TEST(DurationMean, StartsEmptyAndFollowsItsSamples) {
  duration_mean m;
  EXPECT_FALSE(m.get());
  m.add(800ns);
  EXPECT_EQ(*m.get(), 800ns);
  for (int i = 0; i < 100; ++i) m.add(100ns);
  EXPECT_LT(*m.get(), 110ns);
  EXPECT_GE(*m.get(), 100ns);
}

}  // namespace
}  // namespace trail::core
