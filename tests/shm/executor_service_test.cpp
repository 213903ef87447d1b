// The store and pool shared between an I/O thread and other threads.
#include "shm/executor_service.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>

namespace trail::shm {
namespace {

using namespace std::chrono_literals;

// Thread-safe record of what the I/O thread reported.
struct waiter : pool_events {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::uint64_t, status> ended;
  int ready = 0;

  void on_ready(int) override { note([&] { ++ready; }); }
  void on_finished(const invocation& inv, const status& s) override { note([&] { ended[inv.id] = s; }); }
  void on_lost(const invocation& inv, const std::string& why) override {
    note([&] { ended[inv.id] = status::unavailable(why); });
  }
  template <class F>
  void note(F f) {
    std::lock_guard lock(mu);
    f();
    cv.notify_all();
  }
  template <class Pred>
  bool wait(Pred p) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, p);
  }
};

service_options options(int executors) {
  service_options o;
  o.store = {16 << 20, "store", false};
  o.pool.executor_path = TRAIL_EXECUTOR_PATH;
  o.pool.executors = executors;
  return o;
}

TEST(ExecutorService, DispatchesFromAnotherThread) {
  waiter w;
  auto svc = executor_service::start(options(2), w);
  ASSERT_TRUE(svc.ok()) << svc.error().to_string();
  ASSERT_TRUE(w.wait([&] { return w.ready == 2; }));
  (*svc)->with_store([](store& s) { s.open_session(1); });
  for (std::uint64_t i = 1; i <= 50; ++i) {
    ASSERT_TRUE(w.wait([&] { return (*svc)->idle_executors() > 0; }));
    auto st = (*svc)->dispatch({i, 1, 0, TRAIL_TESTLIB_PATH, "noop", {}, {}, 10s});
    ASSERT_TRUE(st.ok()) << st.to_string();
    ASSERT_TRUE(w.wait([&] { return w.ended.contains(i); })) << "invocation " << i;
    EXPECT_TRUE(w.ended[i].ok());
  }
}

TEST(ExecutorService, AllBusyIsUnavailable) {
  waiter w;
  auto svc = executor_service::start(options(1), w);
  ASSERT_TRUE(svc.ok());
  ASSERT_TRUE(w.wait([&] { return w.ready == 1; }));
  (*svc)->with_store([](store& s) { s.open_session(1); });
  ASSERT_TRUE((*svc)->dispatch({1, 1, 0, TRAIL_TESTLIB_PATH, "spins", {}, {}, 300ms}).ok());
  auto second = (*svc)->dispatch({2, 1, 0, TRAIL_TESTLIB_PATH, "noop", {}, {}, 10s});
  EXPECT_EQ(second.code(), errc::unavailable);
  ASSERT_TRUE(w.wait([&] { return w.ended.contains(1); })) << "the timeout still fires";
  EXPECT_NE(w.ended[1].message().find("timed out"), std::string::npos) << w.ended[1].message();
}

TEST(ExecutorService, ShutdownLeavesNoExecutors) {
  waiter w;
  std::vector<int> pidfds;
  {
    auto svc = executor_service::start(options(2), w);
    ASSERT_TRUE(svc.ok());
    ASSERT_TRUE(w.wait([&] { return w.ready == 2; }));
    (*svc)->with_pool([&](executor_pool& p) {
      for (int i = 0; i < p.size(); ++i)
        pidfds.push_back(static_cast<int>(::syscall(SYS_pidfd_open, p.info(i).pid, 0)));
    });
  }
  for (int fd : pidfds) {
    ASSERT_GE(fd, 0);
    pollfd p{fd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 1) << "an executor outlived the service";
    ::close(fd);
  }
}

}  // namespace
}  // namespace trail::shm
