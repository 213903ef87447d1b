#include "shm/executor_pool.hpp"

#include <signal.h>

#include "pool_fixture.hpp"

namespace trail::shm::testing {
namespace {

const std::string testlib = TRAIL_TESTLIB_PATH;

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

TEST_F(pool_test, RunsTheChainExampleThroughRealExecutors) {
  start();
  const std::string chain = TRAIL_CHAIN_PATH;
  auto first = run(chain, "first", {"hello", "world"});
  ASSERT_TRUE(wait_end(first));
  ASSERT_TRUE(events_.finished[first].ok()) << events_.finished[first].to_string();
  auto a = store_->find(1, "a", "text");
  ASSERT_TRUE(a);
  EXPECT_EQ(bytes_of(*a), "hello world");

  auto second = run(chain, "second", {}, {*a});
  ASSERT_TRUE(wait_end(second));
  auto b = store_->find(1, "b", "text");
  ASSERT_TRUE(b);
  EXPECT_EQ(bytes_of(*b), "HELLO WORLD");

  auto third = run(chain, "third", {}, {*b});
  ASSERT_TRUE(wait_end(third));
  EXPECT_EQ(output_of(third), "<HELLO WORLD>");
  store_->release_session(1);
  EXPECT_EQ(store_->used_bytes(), 0u) << "inputs, arenas and outputs are all released";
}

TEST_F(pool_test, UserExceptionIsAFailedInvocationAndTheExecutorStays) {
  start(64 << 20, 1);
  int pid = pool_->info(0).pid;
  auto id = run(testlib, "throws", {}, {}, 7);
  ASSERT_TRUE(wait_end(id));
  ASSERT_TRUE(events_.finished.contains(id));
  EXPECT_EQ(events_.finished[id].code(), errc::internal);
  EXPECT_EQ(events_.finished[id].message(), "deliberate failure in session 7");
  auto other = run(testlib, "throws_int");
  ASSERT_TRUE(wait_end(other));
  EXPECT_TRUE(contains(events_.finished[other].message(), "unknown exception"));
  EXPECT_EQ(pool_->info(0).pid, pid) << "no executor was replaced";
  EXPECT_EQ(pool_->info(0).state, executor_state::idle);
}

TEST_F(pool_test, ExecutorOutputIsCapturedWithSessionAndFunction) {
  start(64 << 20, 1);
  auto id = run(testlib, "throws", {}, {}, 7);
  ASSERT_TRUE(wait_end(id));
  auto e = run(testlib, "echo", {"x"}, {}, 9);
  ASSERT_TRUE(wait_end(e));
  EXPECT_NE(std::find(events_.logs.begin(), events_.logs.end(), "[session 7 throws] about to throw"),
            events_.logs.end());
  EXPECT_NE(std::find(events_.logs.begin(), events_.logs.end(), "[session 9 echo] echo says x;"),
            events_.logs.end());
  EXPECT_EQ(output_of(e), "x;");
}

// A crash in user code kills only its executor: the invocation is reported
// lost with the signal, a replacement starts and serves the next invocation.
class crash_test : public pool_test, public ::testing::WithParamInterface<std::pair<const char*, const char*>> {};

TEST_P(crash_test, CrashIsLostAndTheExecutorReplaced) {
  auto [fn, signal_text] = GetParam();
  start(64 << 20, 1);
  int pid = pool_->info(0).pid;
  auto id = run(testlib, fn);
  ASSERT_TRUE(wait_end(id));
  ASSERT_TRUE(events_.lost.contains(id)) << "the invocation is reported lost";
  EXPECT_TRUE(contains(events_.lost[id], signal_text)) << events_.lost[id];
  EXPECT_TRUE(contains(events_.lost[id], std::to_string(pid))) << events_.lost[id];
  ASSERT_TRUE(pool_->wait_ready(10s)) << "a replacement executor starts";
  EXPECT_NE(pool_->info(0).pid, pid);
  auto next = run(testlib, "echo", {"after"});
  ASSERT_TRUE(wait_end(next));
  EXPECT_EQ(output_of(next), "after;");
  store_->release_session(1);
  EXPECT_EQ(store_->used_bytes(), 0u);
}

// Under AddressSanitizer a segfault is caught and reported by ASan, which
// then exits with status 1 instead of dying by the signal.
#if defined(__SANITIZE_ADDRESS__)
constexpr const char* segv_death = "exited with status 1";
#else
constexpr const char* segv_death = "signal 11";
#endif

INSTANTIATE_TEST_SUITE_P(UserCrashes, crash_test,
                         ::testing::Values(std::pair{"segfault", segv_death}, std::pair{"aborts", "signal 6"}),
                         [](const auto& info) { return std::string(info.param.first); });

TEST_F(pool_test, LibraryProblemsAreClearErrors) {
  start(64 << 20, 1);
  int pid = pool_->info(0).pid;
  struct expectation { std::string lib, fn, text; errc code; };
  std::vector<expectation> cases{
      {"/nonexistent/libnothing.so", "f", "cannot load library '/nonexistent/libnothing.so'", errc::invalid_argument},
      {testlib, "no_such_function", "has no function 'no_such_function'", errc::not_found},
      {TRAIL_BAD_ABI_PATH, "noop", "built against trail SDK ABI version 999", errc::invalid_argument},
  };
  for (auto& c : cases) {
    auto id = run(c.lib, c.fn);
    ASSERT_TRUE(wait_end(id));
    ASSERT_TRUE(events_.finished.contains(id)) << c.lib;
    EXPECT_EQ(events_.finished[id].code(), c.code) << events_.finished[id].to_string();
    EXPECT_TRUE(contains(events_.finished[id].message(), c.text)) << events_.finished[id].message();
  }
  EXPECT_EQ(pool_->info(0).pid, pid) << "load errors do not cost an executor";
}

TEST_F(pool_test, ALibraryCrashingOnLoadTakesOnlyItsExecutor) {
  start(64 << 20, 1);
  auto id = run(TRAIL_BAD_INIT_PATH, "noop");
  ASSERT_TRUE(wait_end(id));
  ASSERT_TRUE(events_.lost.contains(id));
  EXPECT_TRUE(contains(events_.lost[id], "signal 6")) << events_.lost[id];
  ASSERT_TRUE(pool_->wait_ready(10s));
  auto next = run(testlib, "echo", {"alive"});
  ASSERT_TRUE(wait_end(next));
  EXPECT_EQ(output_of(next), "alive;");
}

TEST_F(pool_test, OverrunningTheTimeoutKillsAndReplaces) {
  start(64 << 20, 1);
  auto id = run(testlib, "spins", {}, {}, 1, 200ms);
  ASSERT_TRUE(wait_end(id));
  ASSERT_TRUE(events_.lost.contains(id));
  EXPECT_TRUE(contains(events_.lost[id], "timed out after 200 ms")) << events_.lost[id];
  ASSERT_TRUE(pool_->wait_ready(10s));
}

TEST_F(pool_test, FullStoreFailsTheCreateAfterABoundedWait) {
  pool_options opts;
  opts.alloc_wait = 200ms;
  start(1 << 20, 1, opts);
  auto t0 = std::chrono::steady_clock::now();
  auto id = run(testlib, "hoard", {"600000", "600000"});
  ASSERT_TRUE(wait_end(id));
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(events_.finished.contains(id));
  EXPECT_EQ(events_.finished[id].code(), errc::internal);  // the user's create threw
  EXPECT_TRUE(contains(events_.finished[id].message(), "store full")) << events_.finished[id].message();
  EXPECT_GE(waited, 200ms) << "it waited for space before failing";
  EXPECT_EQ(store_->used_bytes(), 0u) << "the unsent reservation was released";
  auto next = run(testlib, "echo", {"still serving"});
  ASSERT_TRUE(wait_end(next));
  EXPECT_EQ(output_of(next), "still serving;");
}

TEST_F(pool_test, WaitingCreateSucceedsWhenSpaceIsFreed) {
  pool_options opts;
  opts.alloc_wait = 10s;
  start(1 << 20, 1, opts);
  store_->open_session(1);
  auto blocker = store_->allocate(700 << 10);
  ASSERT_TRUE(blocker.ok());
  auto id = run(testlib, "hoard", {"600000"});
  EXPECT_FALSE(run_until([&] { return ended(id); }, 300ms)) << "the create waits while the store is full";
  store_->free(*blocker);
  ASSERT_TRUE(wait_end(id));
  EXPECT_TRUE(events_.finished[id].ok()) << events_.finished[id].to_string();
}

TEST_F(pool_test, OversizeObjectFailsAtOnce) {
  pool_options opts;
  opts.alloc_wait = 10s;
  start(1 << 20, 1, opts);
  auto t0 = std::chrono::steady_clock::now();
  auto id = run(testlib, "hoard", {"2000000"});
  ASSERT_TRUE(wait_end(id));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "no wait for space that can never come";
  EXPECT_TRUE(contains(events_.finished[id].message(), "exceeds the store's capacity"))
      << events_.finished[id].message();
}

TEST_F(pool_test, FirstSealOfANameWins) {
  start(64 << 20, 1);
  auto id = run(testlib, "twice");
  ASSERT_TRUE(wait_end(id));
  ASSERT_EQ(events_.seals.size(), 2u);
  EXPECT_TRUE(events_.seals[0].second.fresh);
  EXPECT_FALSE(events_.seals[1].second.fresh);
  EXPECT_EQ(bytes_of(*store_->find(1, "t", "same")), "first");
}

TEST_F(pool_test, GetReadsAnyObjectOfTheSession) {
  start(64 << 20, 1);
  auto fill = run(testlib, "fill", {"key", "5", "3"}, {}, 4);
  ASSERT_TRUE(wait_end(fill));
  auto hit = run(testlib, "lookup", {"b", "key"}, {}, 4);
  ASSERT_TRUE(wait_end(hit));
  EXPECT_EQ(bytes_of(*store_->find(4, "b", "key")), bytes_of(*store_->find(4, "r", "found")));
  auto miss = run(testlib, "lookup", {"b", "key"}, {}, 5);
  ASSERT_TRUE(wait_end(miss));
  EXPECT_EQ(bytes_of(*store_->find(5, "r", "found")), "missing") << "sessions do not see each other's objects";
}

TEST_F(pool_test, OnlyTheFirstOutputOfASessionCounts) {
  start(64 << 20, 1);
  auto a = run(testlib, "echo", {"one"}, {}, 3);
  ASSERT_TRUE(wait_end(a));
  auto b = run(testlib, "echo", {"two"}, {}, 3);
  ASSERT_TRUE(wait_end(b));
  EXPECT_EQ(output_of(a), "one;");
  EXPECT_FALSE(events_.outputs.contains(b)) << "a later output is not fresh";
}

TEST_F(pool_test, ThousandsOfInputsTravelThroughTheStore) {
  start(64 << 20, 1);
  auto w = run(testlib, "writer", {"5", "3000", "100"});
  ASSERT_TRUE(wait_end(w));
  std::vector<object_id> inputs;
  std::uint64_t bytes = 0;
  for (int i = 0; i < 3000; ++i) {
    auto id = store_->find(1, "w", "k" + std::to_string(i));
    ASSERT_TRUE(id);
    inputs.push_back(*id);
    bytes += store_->info(*id)->size;
  }
  auto c = run(testlib, "count_inputs", {}, inputs, 2);  // session 1 already has its output
  ASSERT_TRUE(wait_end(c));
  ASSERT_TRUE(events_.finished[c].ok()) << events_.finished[c].to_string();
  EXPECT_EQ(output_of(c), "3000 " + std::to_string(bytes));
  store_->release_session(1);
  store_->release_session(2);
  EXPECT_EQ(store_->used_bytes(), 0u) << "the input list's block was freed too";
}

TEST_F(pool_test, ArenaObjectsMaySealInAnyOrder) {
  start(64 << 20, 1);
  auto id = run(testlib, "send_reversed");
  ASSERT_TRUE(wait_end(id));
  ASSERT_TRUE(events_.finished.contains(id)) << "the executor was not killed";
  EXPECT_TRUE(events_.finished[id].ok()) << events_.finished[id].to_string();
  EXPECT_EQ(bytes_of(*store_->find(1, "r", "a")), "first");
  EXPECT_EQ(bytes_of(*store_->find(1, "r", "b")), "second");
  store_->release_session(1);
  EXPECT_EQ(store_->used_bytes(), 0u);
}

TEST_F(pool_test, AnAbsurdCapacityIsAClearErrorNotCorruption) {
  start(64 << 20, 1);
  auto id = run(testlib, "huge_create");
  ASSERT_TRUE(wait_end(id));
  ASSERT_TRUE(events_.finished.contains(id));
  EXPECT_TRUE(contains(events_.finished[id].message(), "exceeds the store's capacity"))
      << events_.finished[id].message();
}

TEST_F(pool_test, AnIdleExecutorKilledIsNoticedAndReplaced) {
  start(64 << 20, 2);
  int pid = pool_->info(1).pid;
  pool_->kill(1, SIGKILL);
  ASSERT_TRUE(run_until([&] { return !events_.died.empty(); }));
  EXPECT_EQ(events_.died[0].first, 1);
  EXPECT_TRUE(contains(events_.died[0].second, "signal 9")) << events_.died[0].second;
  ASSERT_TRUE(pool_->wait_ready(10s));
  EXPECT_NE(pool_->info(1).pid, pid);
}

TEST_F(pool_test, PrefersAnExecutorThatLoadedTheLibrary) {
  start(64 << 20, 2);
  auto a = run(testlib, "noop");
  ASSERT_TRUE(wait_end(a));
  int loaded = -1;
  for (int i = 0; i < pool_->size(); ++i)
    if (!pool_->info(i).libraries.empty()) loaded = i;
  ASSERT_GE(loaded, 0);
  EXPECT_EQ(pool_->idle_executor(testlib), loaded);
}

// -- work queued in a busy executor's ring ---------------------------------------------

TEST_F(pool_test, WorkQueuedBehindABusyExecutorRunsInOrderWithoutTheNode) {
  start(64 << 20, 1);
  auto slow = queue_on(0, testlib, "pause", {"30"}, 1);
  auto a = queue_on(0, testlib, "echo", {"a"}, 2);
  auto b = queue_on(0, testlib, "echo", {"b"}, 3);
  ASSERT_TRUE(slow && a && b);
  EXPECT_EQ(pool_->info(0).state, executor_state::busy);
  EXPECT_EQ(pool_->info(0).invocation, slow);
  EXPECT_EQ(pool_->info(0).queued, 2u);
  ASSERT_TRUE(run_until([&] { return ended(b); }));
  EXPECT_EQ(events_.ended, (std::vector<std::uint64_t>{slow, a, b}));
  EXPECT_EQ(output_of(slow), "slept");
  EXPECT_EQ(output_of(a), "a;");
  EXPECT_EQ(output_of(b), "b;");
  EXPECT_EQ(pool_->info(0).state, executor_state::idle);
  EXPECT_EQ(pool_->info(0).queued, 0u);
  for (session_id s : {1, 2, 3}) store_->release_session(s);
  EXPECT_EQ(store_->used_bytes(), 0u) << "every queued invocation's arena went back";
}

TEST_F(pool_test, AnExecutorsQueueIsBounded) {
  pool_options o;
  o.max_queued = 2;
  start(64 << 20, 1, o);
  ASSERT_TRUE(queue_on(0, testlib, "pause", {"20"}));
  ASSERT_TRUE(queue_on(0, testlib, "noop"));
  ASSERT_TRUE(queue_on(0, testlib, "noop"));
  EXPECT_EQ(queue_on(0, testlib, "noop"), 0u) << "a third waiting invocation is refused";
  ASSERT_TRUE(run_until([&] { return events_.ended.size() == 3; }));
}

// An invocation that waits for a reply (get) while more work waits behind it
// in the ring gets its reply; the queued work runs after it.
TEST_F(pool_test, AReplyReachesAnInvocationWithWorkQueuedBehindIt) {
  start(64 << 20, 1);
  store_->open_session(1);
  auto w = run(testlib, "echo", {"there"});
  ASSERT_TRUE(wait_end(w));
  auto getter = queue_on(0, testlib, "pause", {"20", "", "output"});
  auto after = queue_on(0, testlib, "echo", {"after"}, 2);
  ASSERT_TRUE(getter && after);
  ASSERT_TRUE(run_until([&] { return ended(after); }));
  ASSERT_TRUE(events_.finished[getter].ok()) << events_.finished[getter].to_string();
  auto got = store_->find(1, "r", "got");
  ASSERT_TRUE(got);
  EXPECT_EQ(bytes_of(*got), "there;") << "read the session's earlier output";
  EXPECT_EQ(output_of(after), "after;");
}

// A crash with work waiting in the executor's ring: the running invocation
// is lost, the waiting ones come back unstarted, and nothing leaks.
TEST_F(pool_test, AKilledExecutorReturnsTheWorkWaitingInItsRing) {
  start(64 << 20, 1);
  int pid = pool_->info(0).pid;
  auto running = queue_on(0, testlib, "pause", {"5000"});
  auto w1 = queue_on(0, testlib, "echo", {"1"});
  auto w2 = queue_on(0, testlib, "echo", {"2"});
  ASSERT_TRUE(running && w1 && w2);
  pool_->kill(0, SIGKILL);
  ASSERT_TRUE(run_until([&] { return ended(w2); }));
  EXPECT_TRUE(events_.lost.contains(running));
  EXPECT_TRUE(events_.returned.contains(w1));
  EXPECT_TRUE(events_.returned.contains(w2));
  EXPECT_FALSE(events_.finished.contains(w1)) << "it never ran";
  store_->release_session(1);
  EXPECT_EQ(store_->used_bytes(), 0u);
  ASSERT_TRUE(pool_->wait_ready(10s));
  EXPECT_NE(pool_->info(0).pid, pid);
  auto again = run(testlib, "echo", {"again"});
  ASSERT_TRUE(wait_end(again));
  EXPECT_EQ(output_of(again), "again;");
}

}  // namespace
}  // namespace trail::shm::testing
