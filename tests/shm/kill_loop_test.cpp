// Executors writing objects as fast as they can are SIGKILLed at random
// moments — mid-allocation, mid-write, mid-send — 200+ times. Afterwards the
// store must be intact: every sealed object holds exactly what its writer
// wrote, everything is released, and the store still works.
#include <signal.h>

#include <random>

#include "pool_fixture.hpp"

namespace trail::shm::testing {
namespace {

const std::string testlib = TRAIL_TESTLIB_PATH;

TEST_F(pool_test, KillingWritersAtRandomMomentsNeverDamagesTheStore) {
  unsigned seed = std::random_device{}();
  if (const char* s = std::getenv("TRAIL_SEED")) seed = static_cast<unsigned>(std::stoul(s));
  std::cout << "kill loop seed " << seed << " (rerun with TRAIL_SEED=" << seed << ")\n";
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);

  pool_options opts;
  opts.arena_bytes = 16 << 10;  // so that writers mix arena carves and alloc round trips
  opts.alloc_wait = 100ms;
  start(32 << 20, 2, opts);
  const std::uint64_t baseline = store_->used_bytes();

  constexpr int kills_wanted = 200;
  int kills = 0;
  session_id next_session = 1;
  std::map<std::uint64_t, session_id> running;  // invocation -> session
  std::uint64_t objects_checked = 0;
  auto t0 = std::chrono::steady_clock::now();

  // Every sealed object of a writer session holds the byte of its key.
  auto check_and_release = [&](session_id s) {
    for (std::uint64_t i = 0;; ++i) {
      auto id = store_->find(s, "w", "k" + std::to_string(i));
      if (!id) break;
      const object_info* o = store_->info(*id);
      const auto* p = reinterpret_cast<const unsigned char*>(store_->data(*o));
      for (std::uint64_t b = 0; b < o->size; ++b) ASSERT_EQ(p[b], i & 0xFF) << "object k" << i << " byte " << b;
      ++objects_checked;
    }
    store_->release_session(s);
  };

  const auto give_up = std::chrono::steady_clock::now() + 90s;  // ~5 s normally; slow CI gets room
  while (kills < kills_wanted) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "only " << kills << " kills in 90 s";
    // Keep every idle executor busy with a writer that never stops.
    while (auto slot = pool_->idle_executor()) {
      session_id s = next_session++;
      store_->open_session(s);
      invocation inv{++next_id_, s, 0, testlib, "writer", {std::to_string(rng()), "0", std::to_string(64 << 10)},
                     {}, 60s};
      ASSERT_TRUE(pool_->dispatch(*slot, inv).ok());
      running[inv.id] = s;
    }
    // Let them run for a random moment, handling their traffic meanwhile.
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 20000);
    while (std::chrono::steady_clock::now() < until) pool_->poll(1ms);
    // Kill one busy writer; its death arrives through its pidfd.
    std::vector<int> busy;
    for (int i = 0; i < pool_->size(); ++i)
      if (pool_->info(i).state == executor_state::busy) busy.push_back(i);
    if (busy.empty()) continue;
    int victim = busy[rng() % busy.size()];
    std::uint64_t inv_id = pool_->info(victim).invocation;
    pool_->kill(victim, SIGKILL);
    ASSERT_TRUE(run_until([&] { return events_.lost.contains(inv_id); })) << "death of executor " << victim;
    ++kills;
    check_and_release(running[inv_id]);
    running.erase(inv_id);
  }
  // Stop the rest the same way, then check the store.
  for (int i = 0; i < pool_->size(); ++i)
    if (pool_->info(i).state == executor_state::busy) pool_->kill(i, SIGKILL);
  ASSERT_TRUE(run_until([&] {
    for (auto& [inv, s] : running)
      if (!ended(inv)) return false;
    return true;
  }));
  for (auto& [inv, s] : running) check_and_release(s);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << kills << " kills, " << objects_checked << " sealed objects verified, " << elapsed.count() << " ms\n";
  EXPECT_GE(kills, kills_wanted);
  EXPECT_GT(objects_checked, 0u);
  EXPECT_EQ(store_->used_bytes(), baseline) << "nothing leaked";
  EXPECT_EQ(store_->object_count(), 0u);

  // The store and a fresh executor still work end to end.
  ASSERT_TRUE(pool_->wait_ready(10s));
  auto id = run(testlib, "writer", {"1", "50", "100000"}, {}, next_session);
  ASSERT_TRUE(wait_end(id));
  ASSERT_TRUE(events_.finished[id].ok()) << events_.finished[id].to_string();
  check_and_release(next_session);
  EXPECT_EQ(store_->used_bytes(), baseline);
}

}  // namespace
}  // namespace trail::shm::testing
