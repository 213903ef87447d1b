// The streaming example on a 3-node cluster behind a coordinator: batches
// are put through the coordinator (each session starts on the node
// placement picks), partials travel to the node holding the app's scope,
// which aggregates them; every (campaign, window) count must be exact. Then
// a node SIGKILLed mid-stream: the batches it held are put again by the
// driver and the counts stay exact, or the run ends with a clear error; and
// the aggregating node SIGKILLed: windows go missing, never wrong.
#include <poll.h>
#include <signal.h>

#include <atomic>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "../../cluster/cluster_fixture.hpp"
#include "driver.hpp"
#include "stream_checks.hpp"

namespace trail::testing {
namespace {

class streaming_cluster_test : public cluster_test {
 protected:
  std::string store_size() const override { return "128M"; }

  void SetUp() override {
    cluster_test::SetUp();
    if (HasFatalFailure()) return;
    auto r = client_->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/streaming/streaming.yaml");
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    wait_until_held("streaming", 3);
  }

  // Node names that ran sessions of the app (the coordinator's listing).
  std::set<std::string> nodes_that_ran(const std::string& app) {
    auto listing = client_->admin("sessions", {"--app", app});
    EXPECT_TRUE(listing.ok()) << listing.error().to_string();
    std::set<std::string> out;
    if (!listing.ok()) return out;
    auto j = nlohmann::json::parse(*listing);
    for (auto& s : j["sessions"]) out.insert(s["node"].get<std::string>());
    return out;
  }

  // Streams 5,000 events/s for 4 s (500 ms windows) with `victim` SIGKILLed
  // 1.5 s in. The stream's report, or the error it ended with, which must
  // say something.
  result<streaming::stream_report> stream_while_killing(const std::string& victim,
                                                        std::chrono::milliseconds result_timeout) {
    std::atomic<bool> done{false};
    std::thread fault([&] {
      // The fault's timing (1.5 s into a 4 s stream), not a wait for the system under test.
      for (int i = 0; i < 150 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (!done) signal_node(victim, SIGKILL);
    });
    streaming::stream_options o;
    o.rate = 5000, o.duration_ms = 4000, o.window_ms = 500, o.batch_ms = 10;
    o.result_timeout = result_timeout;
    auto r = streaming::run_stream(*client_, o);
    done = true;
    fault.join();
    pollfd dead{nodes_.at(victim).proc.pidfd(), POLLIN, 0};  // readable once it has exited
    EXPECT_EQ(::poll(&dead, 1, 10000), 1) << "the fault ran during the stream";
    if (!r.ok()) {  // a clear error, never a silently wrong count
      EXPECT_FALSE(r.error().message().empty());
      std::fprintf(stderr, "the stream ended with an error: %s\n", r.error().to_string().c_str());
    }
    return r;
  }

  // The name of the node holding the app's scope (it aggregates).
  std::string owner_name(const std::string& app) {
    auto st = client_->status_json();
    EXPECT_TRUE(st.ok()) << st.error().to_string();
    if (!st.ok()) return {};
    auto j = nlohmann::json::parse(*st);
    std::uint64_t owner = 0;
    for (auto& sh : j["shards"])
      if (sh["apps"].contains(app)) owner = sh["apps"][app]["owner"].get<std::uint64_t>();
    for (auto& n : j["nodes"])
      if (n["number"].get<std::uint64_t>() == owner) return n["name"].get<std::string>();
    return {};
  }
};

TEST_F(streaming_cluster_test, TenThousandEventsPerSecondForTenSecondsOnThreeNodesCountEveryWindowExactly) {
  auto r = ten_thousand_for_ten_seconds(*client_, "streaming on 3 nodes");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->redelivered, 0u) << "no node was lost";
  EXPECT_EQ(nodes_that_ran("streaming").size(), 3u) << "batches ran on every node";
}

// A node that is not the aggregating one dies mid-stream. Batches whose
// sessions it held fail with "put it again" and the driver puts them again;
// the counts must stay exact.
TEST_F(streaming_cluster_test, ANodeKilledMidStreamLeavesEveryCountExactOrAClearError) {
  std::string owner = owner_name("streaming");
  ASSERT_FALSE(owner.empty());
  std::string victim = owner == "n2" ? "n3" : "n2";
  auto r = stream_while_killing(victim, std::chrono::seconds(60));
  if (!r.ok()) return;  // a clear error (stream_while_killing checked it says something)
  expect_exact(*r);
  std::printf("stream survived the loss of %s: %llu batch(es) put again, %llu put(s) retried\n", victim.c_str(),
              static_cast<unsigned long long>(r->redelivered), static_cast<unsigned long long>(r->retried_puts));
}

// The aggregating node dies mid-stream: the app scope's state (the carried
// window counts, the results written so far) dies with it (README "Data in
// and out"), and a new node takes the scope over empty. What must never
// happen is a wrong count: a window is reported missing, or the stream
// ends with a clear error.
TEST_F(streaming_cluster_test, LosingTheAggregatingNodeLosesWindowsButNeverCountsOneWrong) {
  std::string owner = owner_name("streaming");
  ASSERT_FALSE(owner.empty());
  auto r = stream_while_killing(owner, std::chrono::seconds(10));
  if (!r.ok()) return;
  EXPECT_EQ(r->wrong_count, 0u) << "a result was there but wrong";
  if (r->wrong_count != 0)
    for (const auto& m : r->mismatches) ADD_FAILURE() << m;
  std::printf("losing the aggregating node %s: %llu result(s) missing of %llu windows and the summary, none wrong\n",
              owner.c_str(), static_cast<unsigned long long>(r->mismatch_count),
              static_cast<unsigned long long>(r->windows_checked));
}

}  // namespace
}  // namespace trail::testing
