// Sessions on a real node: concurrency without mixing, windows, crashes,
// retries, deadlines.
#include <nlohmann/json.hpp>

#include "node_fixture.hpp"

namespace trail::testing {
namespace {

const std::string apps_dir = TRAIL_TEST_APPS_DIR;

// 100 sessions in flight at once; each must see only its own objects.
TEST_F(node_test, ConcurrentSessionsNeverMixSessionState) {
  deploy("fanout");
  deploy("batch");
  struct pending { std::uint64_t session; std::string expected; };
  std::vector<pending> all;
  for (int i = 0; i < 100; ++i) {
    std::string w = "s" + std::to_string(i);
    auto f = client_->invoke("fanout", {w + "a", w + "b", w + "c"}, 60s, true);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    std::string W = "S" + std::to_string(i);
    all.push_back({f->session, W + "A | " + W + "B | " + W + "C"});
    std::vector<std::string> items;
    int sum = 0;
    for (int k = 1; k <= 8; ++k) {
      items.push_back(std::to_string(i * 8 + k));
      sum += i * 8 + k;
    }
    auto b = client_->invoke("batch", items, 60s, true);
    ASSERT_TRUE(b.ok()) << b.error().to_string();
    all.push_back({b->session, "total=" + std::to_string(sum)});
  }
  for (auto& p : all) {
    auto r = client_->result_of(p.session, 60s);
    ASSERT_TRUE(r.ok()) << "session " << p.session << ": " << r.error().to_string();
    EXPECT_EQ(r->output, p.expected) << "session " << p.session;
  }
}

// The window's timer fires with no new arrival, after the session that sent
// the event has ended — so the window reads an object of an ended session.
TEST_F(node_test, AppScopedWindowFiresByTimerAndReadsObjectsOfEndedSessions) {
  deploy("window");
  auto r = client_->invoke("window", {"click"}, 10s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->output, "queued") << "the sending session has ended";
  // Nothing else arrives; the window must close by its timer (300 ms).
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string seen;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = client_->status_json();
    ASSERT_TRUE(s.ok());
    auto j = nlohmann::json::parse(*s);
    for (auto& e : j["recent_sessions"])
      if (e["app"] == "window" && e.contains("output") && e["output"] != "queued") seen = e["output"];
    if (!seen.empty()) break;
    auto again = client_->result_of(r->session, 1s);  // a request round trip paces the loop
    ASSERT_TRUE(again.ok());
  }
  EXPECT_EQ(seen, "window: 1 events");
}

TEST_F(node_test, ExecutorKilledMidFunctionIsReRunWithoutFeedingATriggerTwice) {
  auto d = client_->deploy(apps_dir + "/flaky/flaky.yaml");
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  auto r = client_->invoke("flaky", {}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "a+b") << "the re-run's second 'a' must not reach the batch";
  auto s = nlohmann::json::parse(*client_->status_json());
  EXPECT_GE(s["invocations"]["retries"].get<int>(), 1);
}

TEST_F(node_test, AFunctionThatAlwaysThrowsFailsAfterItsRetriesAndTheNodeKeepsServing) {
  auto d = client_->deploy(apps_dir + "/flaky/throwing.yaml");
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  auto r = client_->invoke("throwing", {}, 30s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::app_error) << r.error().to_string();
  EXPECT_NE(r.error().message().find("always fails"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("after 3 attempts"), std::string::npos) << r.error().message();
  deploy("chain");
  auto ok = client_->invoke("chain", {"still", "here"}, 30s);
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok->output, "<STILL HERE>");
}

TEST_F(node_test, AClientTimeoutCancelsTheSession) {
  auto d = client_->deploy(apps_dir + "/flaky/slow.yaml");
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  auto t0 = std::chrono::steady_clock::now();
  auto r = client_->invoke("slow", {}, 300ms);
  ASSERT_FALSE(r.ok()) << "a 4 s function cannot answer within 300 ms";
  EXPECT_EQ(r.error().code(), errc::deadline_exceeded) << r.error().to_string();
  EXPECT_NE(r.error().message().find("deadline of 300 ms exceeded"), std::string::npos) << r.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3500ms) << "the client got its answer at the deadline";
  auto later = client_->invoke("slow", {}, 30s);
  ASSERT_TRUE(later.ok()) << later.error().to_string();
  EXPECT_EQ(later->output, "finally");
}

TEST_F(node_test, ASessionWhoseWindowFiredAndWroteNothingFailsWithNoOutputAtOnce) {
  ASSERT_TRUE(client_->deploy(apps_dir + "/flaky/quiet_window.yaml").ok());
  auto t0 = std::chrono::steady_clock::now();
  auto r = client_->invoke("quiet_window", {}, 30s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no output"), std::string::npos) << r.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << "not at the 30 s deadline";
}

TEST_F(node_test, OutputsThatAreNotUtf8DoNotBreakStatus) {
  ASSERT_TRUE(client_->deploy(apps_dir + "/flaky/binary.yaml").ok());
  auto r = client_->invoke("binary", {}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, std::string("\xff\xfe\x00\x80", 4));
  auto s = client_->status_json();
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  deploy("chain");
  EXPECT_TRUE(client_->invoke("chain", {"alive"}, 30s).ok()) << "the scheduler survived";
}

TEST_F(node_test, ADispatchThatCannotBeSentFailsTheSessionPromptly) {
  deploy("chain");
  auto t0 = std::chrono::steady_clock::now();
  auto r = client_->invoke("chain", {std::string(65530, 'x')}, 30s);  // within the args limit, not the channel record
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("exceeds the channel limit"), std::string::npos) << r.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST_F(node_test, AFailedReplicaDoesNotFailTheSessionWhileKCanBeReached) {
  ASSERT_TRUE(client_->deploy(apps_dir + "/flaky/replicas.yaml").ok());
  auto one = client_->invoke("replicas", {"1"}, 30s);
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  EXPECT_EQ(one->output, "ok,ok");
  auto two = client_->invoke("replicas", {"2"}, 30s);
  ASSERT_FALSE(two.ok()) << "only one of the needed two can arrive";
  EXPECT_NE(two.error().message().find("broke"), std::string::npos) << two.error().message();
  EXPECT_NE(two.error().message().find("2 of 3"), std::string::npos) << two.error().message();
}

TEST_F(node_test, UnknownAppIsNotFound) {
  auto r = client_->invoke("nope", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::not_found);
  EXPECT_NE(r.error().message().find("\"nope\""), std::string::npos);
}

TEST_F(node_test, RedeployMakesANewVersion) {
  deploy("chain");
  auto again = client_->deploy(example("chain"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, "chain v2");
  auto apps = client_->apps();
  ASSERT_TRUE(apps.ok());
  EXPECT_EQ(*apps, std::vector<std::string>{"chain v2"});
  auto u = client_->undeploy("chain");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(client_->invoke("chain", {"x"}).error().code(), errc::not_found);
}

}  // namespace
}  // namespace trail::testing

namespace trail::testing {
namespace {

class limited_node_test : public node_test {
 protected:
  void SetUp() override { start_node({"--max-sessions-per-app", "2"}); }
};

TEST_F(limited_node_test, SessionsBeyondTheLimitAreOverloadedAndTheNodeRecovers) {
  ASSERT_TRUE(client_->deploy(apps_dir + "/flaky/slow.yaml").ok());
  auto a = client_->invoke("slow", {}, 30s, true);
  auto b = client_->invoke("slow", {}, 30s, true);
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = client_->invoke("slow", {}, 30s, true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), errc::overloaded) << c.error().to_string();
  EXPECT_NE(c.error().message().find("limit 2"), std::string::npos) << c.error().message();
  ASSERT_TRUE(client_->result_of(a->session, 30s).ok());
  auto d = client_->invoke("slow", {}, 30s);
  EXPECT_TRUE(d.ok()) << "room again once a session ended: " << d.error().to_string();
}

}  // namespace
}  // namespace trail::testing

namespace trail::testing {
namespace {

// Executors that cannot start: invocations fail at once with a clear error.
class broken_executor_test : public node_test {
 protected:
  void SetUp() override { start_node({"--executor", "/bin/false"}); }
};

TEST_F(broken_executor_test, InvocationsFailClearlyWhenNoExecutorCanRun) {
  deploy("chain");
  auto t0 = std::chrono::steady_clock::now();
  auto r = client_->invoke("chain", {"x"}, 30s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no executor can run"), std::string::npos) << r.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
}

// One executor: the node queues the next function in the producer's ring
// (it usually completes right after it sends), and the producer dies before
// completing. Whether "right after" holds depends on this machine's speed
// (slower under a sanitizer or load), so the node is told that waking an
// executor costs a whole second: the queueing decision is then certain.
class single_executor_test : public node_test {
 protected:
  void SetUp() override { start_node({"--wake-cost-us", "1000000"}, 1); }
};

TEST_F(single_executor_test, WorkQueuedBehindAProducerThatDiesRunsOnceAfterAll) {
  ASSERT_TRUE(client_->deploy(apps_dir + "/flaky/relay.yaml").ok());
  for (int i = 0; i < 20; ++i) {  // the node learns that relay completes soon after it sends
    auto r = client_->invoke("relay", {"live"}, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
  auto r = client_->invoke("relay", {"die"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "got payload");
  auto st = client_->status_json();
  ASSERT_TRUE(st.ok());
  auto j = nlohmann::json::parse(*st);
  EXPECT_EQ(j["invocations"]["retries"], 1) << "relay ran again; collect did not count as a retry";
  EXPECT_EQ(j["invocations"]["returned"], 1) << "collect waited in the dead executor's ring: " << *st;
  EXPECT_EQ(j["sessions"]["failed"], 0);
}

// A fan-out of short functions keeps both executors busy: the node hands
// work to busy executors, queued in their rings, instead of waiting for each
// to come back; every task still runs once. ("Short" is told to the node
// generously, so that a slow machine or a sanitizer build still counts tick
// as short.)
class batching_node_test : public node_test {
 protected:
  void SetUp() override { start_node({"--short-run-us", "100000"}); }
};

TEST_F(batching_node_test, AFanOutOfShortFunctionsIsBatchedIntoBusyExecutors) {
  ASSERT_TRUE(client_->deploy(apps_dir + "/flaky/spray.yaml").ok());
  // The node learns how short they are from their run times, so batching
  // starts after a few rounds (more on a loaded machine or under a
  // sanitizer); every round must count all 200 either way.
  nlohmann::json j;
  std::string st;
  for (int i = 0; i < 20; ++i) {
    auto r = client_->invoke("spray", {}, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->output, "200");
    auto s = client_->status_json();
    ASSERT_TRUE(s.ok());
    st = *s;
    j = nlohmann::json::parse(st);
    if (i >= 2 && j["invocations"]["batched"].get<int>() > 0) break;
  }
  EXPECT_GT(j["invocations"]["batched"].get<int>(), 0) << st;
  EXPECT_EQ(j["sessions"]["failed"], 0);
}

TEST(NodeStart, AMissingExecutorBinaryIsAClearError) {
  auto r = run_program(TRAIL_NODE_PATH, {"--standalone", "--executor", "/nonexistent/trail-executor"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("is not executable"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace trail::testing
