// The node loop: one thread that runs a node's actors, watches its file
// descriptors and polls its shared-memory rings — so that the thread that
// learns an object was sealed is the one that runs its triggers and
// dispatches the next function (brief §3: buckets, triggers and the scheduler
// are CAF actors; here they are hosted where the events arrive).
//
// It is a CAF execution unit. Actors spawned with spawn_on() (loop_actor)
// always run on it: a message between two of them is queued and resumed on
// this thread without a syscall (~0.2 µs); a message from anywhere else (CAF
// workers, the network, timers) is handed over under a mutex and wakes the
// loop through an eventfd. Nothing a loop actor owns is ever touched by
// another thread.
//
// Each round the loop runs queued actors, asks its pollers (rings) whether
// something arrived, and looks at its file descriptors. With nothing to do it
// spins briefly — only while a poller expects an event soon (an executor is
// running) and cores are free (shm::spin_policy) — then blocks in epoll, after
// every poller armed its wake-up. An idle node does not spin.
//
// Thread-safety: post(), call(), stopping() and exec_later() from any thread;
// watch(), unwatch(), add() and remove() on the loop thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include <trail/check.hpp>

#include "shm/ring.hpp"
#include "shm/store_access.hpp"

namespace trail::actors {

// Something the loop polls without a syscall — the executors' rings.
class loop_poller {
 public:
  virtual ~loop_poller() = default;
  // Whether something waits to be handled. Cheap; called every round and
  // while spinning.
  virtual bool ready() = 0;
  // Hands what is ready to its owner (typically one message to an actor).
  virtual void fire() = 0;
  // Whether an event is likely soon (worth spinning for).
  virtual bool expecting() = 0;
  // Arms the wake-up before the loop blocks (e.g. ring waiting flags, so
  // that producers ring a doorbell the loop watches). False when something
  // arrived meanwhile: the loop does not block.
  virtual bool prepare_sleep() = 0;
  virtual void finish_sleep() = 0;
};

struct loop_options {
  std::chrono::microseconds spin_budget{100};  // spin this long after the last event, at most
  std::size_t max_throughput = 100;           // messages an actor handles per turn
};

class node_loop final : public caf::execution_unit {
 public:
  // REQUIRES: `sys` outlives the loop.
  explicit node_loop(caf::actor_system& sys, loop_options opts = {});
  // REQUIRES: stopped (or never started).
  ~node_loop() override;
  node_loop(const node_loop&) = delete;
  node_loop& operator=(const node_loop&) = delete;

  void start();
  // Runs what is queued, ends the thread and joins it. Actors hosted here
  // must be gone (await_all_actors_done) and no thread may call() any more.
  void stop();
  bool on_loop() const { return std::this_thread::get_id() == thread_id_.load(std::memory_order_acquire); }

  // Runs `f` on the loop thread, soon. Any thread. Once the loop has
  // stopped, runs `f` at once on the caller's thread (serialised).
  void post(std::function<void()> f);
  // Runs `f` on the loop thread and returns its result. REQUIRES: not on the
  // loop thread, and the loop runs.
  template <class F>
  auto call(F&& f) -> std::invoke_result_t<F&> {
    TRAIL_REQUIRE(!on_loop(), "node_loop::call from the loop thread would wait for itself");
    using R = std::invoke_result_t<F&>;
    std::promise<R> done;
    auto got = done.get_future();
    post([&] {
      if constexpr (std::is_void_v<R>) {
        f();
        done.set_value();
      } else {
        done.set_value(f());
      }
    });
    return got.get();
  }

  // -- loop thread only ------------------------------------------------------------
  // Calls `on_ready(events)` on the loop whenever `fd` is ready for `events`
  // (level-triggered, EPOLLIN/EPOLLOUT...). The loop does not own `fd`.
  void watch(int fd, std::uint32_t events, std::function<void(std::uint32_t)> on_ready);
  void rewatch(int fd, std::uint32_t events);
  void unwatch(int fd);
  // REQUIRES: `p` stays valid until remove(p).
  void add(loop_poller& p);
  void remove(loop_poller& p);

  // -- caf::execution_unit ---------------------------------------------------------------
  void exec_later(caf::resumable* job) override;

  // Counters for `trail status` and benchmarks (loop thread).
  struct counters {
    std::uint64_t rounds = 0, sleeps = 0, spins = 0, foreign = 0;
  };
  const counters& stats() const { return stats_; }

 private:
  struct watcher;
  void run();
  bool take_foreign();
  bool run_local();
  bool poll_pollers();
  void poll_fds(int timeout_ms);
  bool spin();
  void sleep();
  void wake();

  loop_options opts_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<bool> stop_{false};

  // Handed over from other threads.
  std::mutex mu_;
  std::vector<caf::resumable*> foreign_jobs_;
  std::vector<std::function<void()>> foreign_calls_;
  std::atomic<bool> foreign_pending_{false};
  std::atomic<bool> sleeping_{false};
  bool exited_ = false;  // the thread ended: post() runs functions itself

  // Loop thread only.
  std::vector<caf::resumable*> jobs_;
  std::vector<loop_poller*> pollers_;
  std::unordered_map<int, std::unique_ptr<watcher>> watchers_;
  std::vector<std::unique_ptr<watcher>> retired_;  // unwatched during a callback
  shm::spin_policy spin_;
  std::chrono::steady_clock::time_point last_event_{};
  std::chrono::steady_clock::time_point last_fd_poll_{};
  counters stats_;
};

// An actor that always runs on the node loop it was spawned on, whoever
// sends to it. Spawn with spawn_on(); use as the base of stateful actors:
// caf::stateful_actor<State, loop_actor>.
class loop_actor : public caf::event_based_actor {
 public:
  explicit loop_actor(caf::actor_config& cfg);
  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override;
  void launch(caf::execution_unit* eu, bool lazy, bool hide) override;
  node_loop& loop() const { return *loop_; }

 private:
  node_loop* loop_;
};

// Spawns `fun` (taking a loop_actor-derived self pointer) on `loop`.
template <class F, class... Ts>
caf::actor spawn_on(node_loop& loop, F fun, Ts&&... xs) {
  using impl = typename caf::infer_handle_from_fun<F>::impl;
  static_assert(std::is_base_of_v<loop_actor, impl>, "spawn_on: the self pointer must derive from loop_actor");
  caf::actor_config cfg{&loop};
  caf::detail::init_fun_factory<impl, F> fac;
  cfg.init_fun = fac(std::move(fun), std::forward<Ts>(xs)...);
  return loop.system().spawn_class<impl, caf::no_spawn_options>(cfg);
}

// The data path's way into a store that the loop's actors own: functions
// run on the loop thread (at once when already there).
class loop_store final : public shm::store_access {
 public:
  // REQUIRES: both outlive this.
  loop_store(node_loop& loop, shm::store& store) : loop_(loop), store_(store) {}

 protected:
  void run(const std::function<void(shm::store&)>& f) override {
    if (loop_.on_loop()) return f(store_);
    loop_.call([&] { f(store_); });
  }

 private:
  node_loop& loop_;
  shm::store& store_;
};

}  // namespace trail::actors
