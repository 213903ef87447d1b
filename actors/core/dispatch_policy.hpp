// Where the next invocation runs on a node: which executor, or none yet.
// A pure function of the executors' states, with time as an input.
//
// A hop is cheapest when the executor that runs the next function is awake:
// one spinning for work after its last invocation (hot), or the one that
// produced the input and is about to be free — it takes the next function
// from its ring the moment it completes (run-to-completion locality). Waking
// a sleeping executor costs a futex wake-up and, on a small VM, a vCPU
// wake-up: tens of microseconds. So, in order:
//   1. the producer, if it is idle already;
//   2. a hot idle executor (most recently idle first; one that loaded the
//      function's library before others);
//   3. the producer while it is busy, if it usually completes soon after it
//      sends (its expected tail is below the cost of a wake-up) and nothing
//      waits in its ring yet;
//   4. any idle executor (library first, then most recently idle);
//   5. with every executor busy, a short function (expected run time known
//      and small) queues behind the executor with the shortest queue, up to
//      max_queued: it then runs without a round trip through the node;
//   6. otherwise none: the task waits on the node (or, in a cluster, may be
//      forwarded).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace trail::core {

struct executor_view {
  enum class state : std::uint8_t { idle, busy, unavailable };
  state st = state::unavailable;
  std::chrono::steady_clock::time_point since{};  // idle: since its last completion
  std::uint32_t queued = 0;                        // busy: invocations waiting in its ring
  bool has_library = false;                        // it loaded the function's library before
};

struct task_view {
  std::optional<int> producer;                              // executor that sealed its input
  std::optional<std::chrono::nanoseconds> producer_tail;    // expected time until that one completes
  std::optional<std::chrono::nanoseconds> expected_run;     // the function's usual run time
};

struct dispatch_params {
  std::chrono::microseconds hot_window{40};   // executors idle for less still spin (50 us, shm/executor.cpp)
  std::chrono::microseconds wake_cost{20};    // about what waking a sleeping executor costs
  std::chrono::microseconds short_run{200};   // functions this quick may queue behind busy executors
  std::uint32_t max_queued = 4;               // (the pool's limit)
};

// The executor (index into `execs`) to give the task to, or nullopt.
std::optional<int> choose_executor(const std::vector<executor_view>& execs, const task_view& t,
                                   std::chrono::steady_clock::time_point now, const dispatch_params& p = {});

// An exponentially weighted mean of durations (1/8 weight on the newest);
// empty until the first sample.
class duration_mean {
 public:
  void add(std::chrono::nanoseconds sample);
  std::optional<std::chrono::nanoseconds> get() const;

 private:
  std::optional<double> ns_;
};

}  // namespace trail::core
