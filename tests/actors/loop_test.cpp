// The node loop: actors hosted on it run on its thread whoever sends to
// them; it runs posted functions, watches fds, polls its pollers and arms
// them before it blocks.
#include "actors/loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace trail::actors {
namespace {

using namespace std::chrono_literals;
using ping_atom = caf::atom_constant<caf::atom("tping")>;

struct node_loop_test : ::testing::Test {
  node_loop_test() {
    cfg.set("scheduler.max-threads", 2);
    cfg.set("logger.verbosity", caf::atom("quiet"));
  }
  ~node_loop_test() override {
    sys.await_all_actors_done();
    loop.stop();
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  node_loop loop{sys};
};

std::uint64_t thread_key(std::thread::id id) { return std::hash<std::thread::id>{}(id); }

// Answers with (a hash of) the thread it ran on; forwards pings to `next`.
caf::behavior reporter(loop_actor* self, caf::actor next) {
  return {
      [=](ping_atom) -> caf::result<caf::message> {
        if (next) return self->delegate(next, ping_atom::value);
        return caf::make_message(thread_key(std::this_thread::get_id()));
      },
  };
}

std::uint64_t loop_thread(node_loop& loop) {
  return loop.call([] { return thread_key(std::this_thread::get_id()); });
}

TEST_F(node_loop_test, ActorsRunOnTheLoopThreadWhoeverSends) {
  loop.start();
  auto last = spawn_on(loop, reporter, caf::actor{});
  auto first = spawn_on(loop, reporter, last);
  caf::scoped_actor self{sys};  // a foreign sender
  std::uint64_t ran_on = 0;
  self->request(first, 5s, ping_atom::value).receive([&](std::uint64_t id) { ran_on = id; },
                                                     [&](caf::error& e) { FAIL() << sys.render(e); });
  EXPECT_EQ(ran_on, loop_thread(loop));
  EXPECT_NE(ran_on, thread_key(std::this_thread::get_id()));
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(last, caf::exit_reason::user_shutdown);
}

TEST_F(node_loop_test, ActorsSpawnedBeforeTheLoopStartsRunOnceItDoes) {
  auto a = spawn_on(loop, reporter, caf::actor{});
  loop.start();
  caf::scoped_actor self{sys};
  self->request(a, 5s, ping_atom::value).receive([&](std::uint64_t id) { EXPECT_EQ(id, loop_thread(loop)); },
                                                 [&](caf::error& e) { FAIL() << sys.render(e); });
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_F(node_loop_test, PostAndCallRunOnTheLoopAndAfterStopOnTheCaller) {
  loop.start();
  EXPECT_NE(loop_thread(loop), thread_key(std::this_thread::get_id()));
  std::promise<bool> on_loop;
  loop.post([&] { on_loop.set_value(loop.on_loop()); });
  EXPECT_TRUE(on_loop.get_future().get());
  loop.stop();
  EXPECT_EQ(loop.call([] { return std::this_thread::get_id(); }), std::this_thread::get_id())
      << "a stopped loop runs late calls on the caller's thread";
}

TEST_F(node_loop_test, WatchedFdsCallBackOnTheLoopUntilUnwatched) {
  loop.start();
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::atomic<int> calls{0};
  std::promise<void> first;
  loop.call([&] {
    loop.watch(fd, EPOLLIN, [&, fd](std::uint32_t) {
      std::uint64_t v;
      [[maybe_unused]] auto r = ::read(fd, &v, sizeof v);
      if (calls++ == 0) first.set_value();
    });
  });
  std::uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, sizeof one), 8);
  ASSERT_EQ(first.get_future().wait_for(5s), std::future_status::ready);
  loop.call([&] { loop.unwatch(fd); });
  ASSERT_EQ(::write(fd, &one, sizeof one), 8);
  loop.call([] {});  // a round went by
  EXPECT_EQ(calls.load(), 1);
  ::close(fd);
}

// A poller over an atomic flag, with an eventfd as its wake-up.
struct flag_poller : loop_poller {
  std::atomic<bool> flag{false};
  std::atomic<bool> armed{false};
  std::atomic<int> fired{0}, prepared{0};
  int bell = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ~flag_poller() override { ::close(bell); }

  bool ready() override { return flag.load(); }
  void fire() override {
    flag = false;
    ++fired;
  }
  bool expecting() override { return false; }  // never worth spinning for
  bool prepare_sleep() override {
    ++prepared;
    armed = true;
    if (flag.load()) {
      armed = false;
      return false;
    }
    return true;
  }
  void finish_sleep() override { armed = false; }
  // The producer side: set, then ring if the loop may sleep.
  void raise() {
    flag = true;
    if (armed.exchange(false)) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto r = ::write(bell, &one, sizeof one);
    }
  }
};

TEST_F(node_loop_test, PollersFireAndAreArmedBeforeTheLoopBlocks) {
  flag_poller p;
  loop.start();
  loop.call([&] {
    loop.add(p);
    loop.watch(p.bell, EPOLLIN, [&](std::uint32_t) {
      std::uint64_t v;
      [[maybe_unused]] auto r = ::read(p.bell, &v, sizeof v);
    });
  });
  for (int i = 1; i <= 100; ++i) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!p.armed && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    ASSERT_TRUE(p.armed) << "the loop did not arm the poller before blocking (round " << i << ")";
    p.raise();
    while (p.fired < i && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    ASSERT_EQ(p.fired.load(), i) << "a raised flag was not handled";
  }
  EXPECT_GE(p.prepared.load(), 100);
  loop.call([&] {
    loop.unwatch(p.bell);
    loop.remove(p);
  });
}

TEST_F(node_loop_test, AnIdleLoopSleeps) {
  loop.start();
  auto stats = [&] { return loop.call([&]() -> node_loop::counters { return loop.stats(); }); };
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (stats().sleeps == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  auto before = stats();
  std::this_thread::sleep_for(200ms);  // a window in which nothing happens, to count rounds in
  auto after = stats();
  EXPECT_LE(after.rounds - before.rounds, 20u) << "an idle loop went round " << after.rounds - before.rounds
                                              << " times in 200 ms";
}

}  // namespace
}  // namespace trail::actors
