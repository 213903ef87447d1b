// The streaming example end to end on a real standalone node: the driver
// sends batches through put at a fixed rate, waits (polling, with a
// deadline) for the stream's summary, and reads back every (campaign,
// window) result with get; each count must equal the generator's.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "driver.hpp"
#include "stream_checks.hpp"
#include "node_fixture.hpp"

namespace trail::testing {
namespace {

class streaming_test : public node_test {
 protected:
  void SetUp() override {
    store_size_ = "128M";
    node_test::SetUp();
    if (HasFatalFailure()) return;
    deploy("streaming");
  }
};

TEST_F(streaming_test, TenThousandEventsPerSecondForTenSecondsCountEveryWindowExactly) {
  ten_thousand_for_ten_seconds(*client_, "streaming");
}

// The node's executor processes (children of the node named trail-executor).
std::vector<pid_t> executors_of(pid_t node) {
  std::vector<pid_t> out;
  for (auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos || line.find("(trail-executor)") == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t parent = 0;
    rest >> state >> parent;
    if (parent == node) out.push_back(std::stoi(name));
  }
  return out;
}

// Executors SIGKILLed while the stream runs: the node re-runs the
// invocations they held (process or aggregate) in the same session, whose
// seals of an already sealed key are ignored; every count stays exact.
TEST_F(streaming_test, ExecutorsKilledMidStreamLeaveEveryCountExact) {
  const std::uint64_t seed = 7;
  std::printf("fault seed %llu\n", static_cast<unsigned long long>(seed));
  std::atomic<bool> done{false};
  std::atomic<int> killed{0};
  std::thread faults([&] {
    std::mt19937_64 rng(seed);
    while (!done) {
      // The fault schedule's pacing, not a wait for the system under test.
      std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 300));
      auto pids = executors_of(node_.pid());
      if (!pids.empty() && !done && ::kill(pids[rng() % pids.size()], SIGKILL) == 0) ++killed;
    }
  });
  streaming::stream_options o;
  o.rate = 5000, o.duration_ms = 4000, o.window_ms = 500, o.batch_ms = 10;
  auto r = streaming::run_stream(*client_, o);
  done = true;
  faults.join();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(killed.load(), 5) << "the faults ran";
  expect_exact(*r);
}

TEST_F(streaming_test, MalformedLinesAreCountedAsRejectedAndEveryWindowIsStillExact) {
  streaming::stream_options o;
  o.rate = 2000, o.duration_ms = 2000, o.window_ms = 500, o.batch_ms = 20, o.malformed_every = 13;
  auto r = streaming::run_stream(*client_, o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_GT(r->sent.sent.rejected, 0u);
  expect_exact(*r);  // includes the summary's `rejected` against what was sent
  auto summary = nlohmann::json::parse(r->summary);
  EXPECT_EQ(summary["rejected"], r->sent.sent.rejected);
  // The results can be read from the shell as well.
  auto g = cli({"get", "streaming", "results", "summary"});
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out, r->summary);
}

TEST_F(streaming_test, ABatchThatCannotBePlacedFailsItsSessionWithAClearError) {
  auto expect_failure = [&](const std::string& key, const std::string& batch, const std::string& says) {
    auto p = client_->put("streaming", "events", key, batch, put_scope::new_session);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    auto r = client_->result_of(p->session, 60s);
    ASSERT_FALSE(r.ok()) << "output: " << r->output;
    EXPECT_NE(r.error().message().find(says), std::string::npos) << r.error().to_string();
  };
  expect_failure("b-0", "window_ms=1000\n", "batch 0: bad header line 'window_ms=1000': not a flat JSON object");
  expect_failure("batch-1", "{\"window_ms\":1000}\n", "batch key 'batch-1' is not b-<seq>");
  // The node serves on: a well-formed batch is processed.
  auto p = client_->put("streaming", "events", "b-5", "{\"window_ms\":1000}\nnot an event\n", put_scope::new_session);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  auto r = client_->result_of(p->session, 60s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "batch 5: 0 views, 1 rejected");
}

}  // namespace
}  // namespace trail::testing
