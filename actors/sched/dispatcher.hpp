// The dispatch step: the node's executors, where each task runs, and what
// the executors report.
//
// It owns the executor pool (started on the loop thread, so that executors
// die with it) and drives it from the loop: the loop polls the pool's rings
// and watches its fds, and tells the scheduler (drain_atom), which calls
// service(). Where a task runs is core::choose_executor's decision, fed with
// what the dispatcher learns from the events: which executor produced an
// object, how long each function runs and how long after sending it
// usually completes.
//
// Thread: the loop's, inside the scheduler actor.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "actors/core/dispatch_policy.hpp"
#include "actors/loop.hpp"
#include "actors/sched/tasks.hpp"
#include "actors/types.hpp"
#include "shm/async_log.hpp"
#include "shm/executor_pool.hpp"

namespace trail::actors::sched {

class dispatcher {
 public:
  dispatcher();
  // Stops the loop's polling, then kills and reaps the executors.
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  // Starts the executors and waits (up to 10 s) until they are up. From
  // then on the loop tells `owner` (drain_atom, bool fds) when they have news.
  // REQUIRES: on the loop thread of `loop`; `store` outlives this.
  status start(node_loop& loop, shm::store& store, shm::pool_options opts, caf::actor owner);

  // The machine's costs core::choose_executor weighs (defaults: this VM kind's).
  void tune(const core::dispatch_params& p) { params_ = p; }
  // Where `t` would run now, if anywhere (core::choose_executor).
  std::optional<int> choose(const task& t, task_table& tasks, clock::time_point now) const;
  // Hands the attempt `invocation` of `t` to executor `slot` (queued in its
  // ring when it is busy).
  status run(int slot, const task& t, std::uint64_t invocation);

  // Handles what the executors did (with `fds`: deaths and output too) and
  // returns it as events, in order.
  std::vector<exec_event> service(bool fds);
  // A drain_atom the loop sent was handled: it may send the next.
  void drained() { poller_.notified = false; }
  // Learns from an event of attempt `t` (nullptr: not one of ours).
  void learn(const exec_event& e, task* t, clock::time_point now);
  // The executor that sealed `object`, if it was one of the last few.
  std::optional<int> producer_of(std::uint64_t object) const;

  // When service() must run at the latest (timeouts, waiting allocations).
  std::optional<clock::time_point> next_deadline() const { return pool_->next_deadline(); }
  int live_executors() const { return pool_->live_executors(); }
  int size() const { return pool_->size(); }
  const shm::executor_info& info(int slot) const { return pool_->info(slot); }
  std::uint32_t idle() const;

 private:
  // Collects what the pool reports during service().
  struct listener final : shm::pool_events {
    shm::store* store = nullptr;
    std::vector<exec_event> events;
    shm::async_log log{stderr};  // executor output, written off the loop thread
    void on_sealed(const shm::invocation& inv, const shm::sealed& s) override;
    void on_output(const shm::invocation& inv, const shm::sealed& s) override;
    void on_announce(const shm::invocation& inv, std::string_view bucket, std::uint64_t n) override;
    void on_done(const shm::invocation& inv, std::string_view bucket) override;
    void on_finished(const shm::invocation& inv, const status& st) override;
    void on_lost(const shm::invocation& inv, const std::string& why) override;
    void on_returned(const shm::invocation& inv, const std::string& why) override;
    void on_executor_died(int slot, const std::string& why) override;
    void on_log(int slot, const shm::invocation* inv, std::string_view line) override;
  };
  // The loop's view of the pool: rings to poll, whether to spin.
  struct poller final : loop_poller {
    shm::executor_pool* pool = nullptr;
    caf::actor owner;
    bool notified = false;  // a drain_atom is on its way
    bool ready() override { return !notified && pool->rings_pending(); }
    void fire() override;
    bool expecting() override { return pool->busy(); }
    bool prepare_sleep() override { return pool->prepare_sleep(); }
    void finish_sleep() override { pool->finish_sleep(); }
  };
  // How long a function usually runs, and how long after a send it completes.
  struct timing {
    core::duration_mean run, tail;
  };

  std::vector<core::executor_view> views(const core::function_spec& fn) const;

  listener listener_;  // (declared before the pool: it outlives it)
  std::unique_ptr<shm::executor_pool> pool_;
  poller poller_;
  node_loop* loop_ = nullptr;
  // By library and function (a redeployed function keeps what was learned;
  // bounded: forgotten wholesale past max_timings).
  static constexpr std::size_t max_timings = 4096;
  const timing* timing_of(const core::function_spec& fn) const;
  std::unordered_map<std::string, timing> timing_;
  core::dispatch_params params_;
  std::array<std::pair<std::uint64_t, int>, 64> producers_{};  // (object, executor) of the last seals
  std::size_t producers_next_ = 0;
};

}  // namespace trail::actors::sched
