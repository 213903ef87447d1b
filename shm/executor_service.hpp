// The node's store and executor pool behind one mutex, driven by a dedicated
// I/O thread: the seam between the shared-memory world and the actors.
//
// The I/O thread starts the executors (PR_SET_PDEATHSIG binds them to it),
// polls their channels and reports every event to `pool_events` — on the I/O
// thread, with the service's lock held: handlers must only hand the event on
// (e.g. anon_send into an actor), never block, and must not call back into
// the service. Every public method is safe from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include <trail/status.hpp>

#include "shm/executor_pool.hpp"
#include "shm/store.hpp"

namespace trail::shm {

struct service_options {
  store_options store;
  pool_options pool;
};

class executor_service {
 public:
  // Creates the store, starts the I/O thread and the executors. Returns once
  // the executors are ready, or gave up starting, or after 10 s.
  static result<std::unique_ptr<executor_service>> start(service_options opts, pool_events& events);
  // Stops the I/O thread; executors are killed and reaped, segments removed.
  ~executor_service();
  executor_service(const executor_service&) = delete;
  executor_service& operator=(const executor_service&) = delete;

  // Runs `inv` on an idle executor, preferring one that already loaded its
  // library. Errors: unavailable when every executor is busy or starting.
  status dispatch(invocation inv);
  int idle_executors() const;
  int executors() const;

  // Runs `f(store&)` under the lock: retain, release, sessions, reads.
  template <class F>
  auto with_store(F&& f) {
    std::lock_guard lock(mu_);
    return f(*store_);
  }
  template <class F>
  auto with_pool(F&& f) {
    std::lock_guard lock(mu_);
    return f(*pool_);
  }

 private:
  executor_service() = default;
  void run(pool_events& events, std::promise<status>& started);

  service_options opts_;
  mutable std::mutex mu_;
  std::unique_ptr<store> store_;
  std::unique_ptr<executor_pool> pool_;
  std::atomic<bool> stop_{false};
  std::thread io_;
};

}  // namespace trail::shm
