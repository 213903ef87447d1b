// A three-node cluster on loopback, through real processes, sockets and
// shared memory: workflows spanning nodes give the outputs they give on one
// node; forwarding under load runs every invocation exactly once; killed and
// hung nodes lose no accepted session; a big object crosses nodes intact.
#include <set>

#include <nlohmann/json.hpp>

#include "actors/cluster_types.hpp"
#include "cluster_fixture.hpp"

namespace trail::testing {
namespace {

std::map<std::string, std::set<std::string>> nodes_by_function(const std::vector<execution>& runs) {
  std::map<std::string, std::set<std::string>> out;
  for (auto& e : runs) out[e.function].insert(e.node);
  return out;
}

TEST_F(cluster_test, AChainRunsOneFunctionPerNode) {
  deploy("spread.yaml");
  auto r = client_->invoke("spread", {"hello", "world"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<HELLO WORLD>");
  auto where = nodes_by_function(executions());
  EXPECT_EQ(where["start"], std::set<std::string>{"n1"});
  EXPECT_EQ(where["middle"], std::set<std::string>{"n2"});
  EXPECT_EQ(where["finish"], std::set<std::string>{"n3"});
}

// The examples' own libraries, their functions pinned to different nodes:
// chains, fan-out/fan-in (by_set) and dynamic_group/dynamic_join give their
// READMEs' outputs.
TEST_F(cluster_test, ExamplesSpreadOverNodesGiveTheirSingleNodeOutputs) {
  struct example {
    std::string manifest, app;
    std::vector<std::string> args;
    std::string expected;
  };
  for (auto& ex : std::vector<example>{
           {"chain_spread.yaml", "chain", {"hello", "world"}, "<HELLO WORLD>"},
           {"fanout_spread.yaml", "fanout", {"the", "quick", "brown", "fox", "jumps"}, "THE | QUICK BROWN | FOX JUMPS"},
           {"wordcount_spread.yaml", "wordcount", {"the", "cat", "the", "hat"}, "cat=1,hat=1,the=2"},
       }) {
    deploy(ex.manifest);
    for (int i = 0; i < 3; ++i) {
      auto r = client_->invoke(ex.app, ex.args, 30s);
      ASSERT_TRUE(r.ok()) << ex.app << ": " << r.error().to_string();
      EXPECT_EQ(r->output, ex.expected) << ex.app;
    }
  }
}

// Sessions on every node put events into one app-scoped window, owned by
// one node: every event is counted exactly once. Events up to 64 KiB travel
// inline; larger ones are pulled by the owner from each session's home.
class window_test : public cluster_test, public ::testing::WithParamInterface<std::pair<std::string, std::string>> {};

TEST_P(window_test, AnAppScopedWindowCountsEventsFromEveryNode) {
  auto [manifest, app] = GetParam();
  deploy(manifest);
  constexpr int events = 12;
  std::vector<std::uint64_t> sessions;
  for (int i = 0; i < events; ++i) {
    auto r = client_->invoke(app, {}, 10s, /*async=*/true);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    sessions.push_back(r->session);
  }
  for (auto s : sessions) {
    auto r = client_->result_of(s, 10s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->output, "queued");
  }
  // The windows close by their timers; wait until the counts add up.
  auto counted = [&] {
    int n = 0;
    for (auto& e : executions())
      if (e.function == "count") n += std::stoi(e.extra);
    return n;
  };
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (counted() < events && std::chrono::steady_clock::now() < deadline) {
    drain_all();
    ::poll(nullptr, 0, 50);  // polling a file another process appends to
  }
  EXPECT_EQ(counted(), events);
  auto where = nodes_by_function(executions());
  std::string entry = app == "cwindow" ? "ingest" : "ingest_big";
  EXPECT_GE(where[entry].size(), 2u) << "the sessions all ran on one node";
  EXPECT_EQ(where["count"].size(), 1u) << "app-scoped triggers fired on more than one node";
}

INSTANTIATE_TEST_SUITE_P(Events, window_test,
                         ::testing::Values(std::pair{std::string("cwindow.yaml"), std::string("cwindow")},
                                           std::pair{std::string("bigwindow.yaml"), std::string("bigwindow")}),
                         [](const auto& info) { return info.param.second; });

// Every executor is busy; a burst of invocations still all complete, each
// exactly once, by forwarding and queueing. No node fails here, so a node
// the burst's load keeps from its heartbeats for a second (under a
// sanitizer, say) must not be declared dead: re-runs after a false death are
// at-least-once by design, and this test counts runs.
class busy_cluster_test : public cluster_test {
 protected:
  std::vector<std::string> coordinator_extra() const override { return {"--node-timeout-ms", "5000"}; }
};

TEST_F(busy_cluster_test, ABurstWhileEveryExecutorIsBusyRunsEachInvocationOnce) {
  deploy("naps.yaml");
  deploy("ticks.yaml");
  std::vector<std::uint64_t> naps;
  for (int i = 0; i < 6; ++i) {  // 3 nodes x 2 executors
    auto r = client_->invoke("naps", {"1500"}, 30s, true);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    naps.push_back(r->session);
  }
  constexpr int burst = 1000;
  std::vector<std::uint64_t> ticks;
  for (int i = 0; i < burst; ++i) {
    auto r = client_->invoke("ticks", {}, 60s, true);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ticks.push_back(r->session);
  }
  for (auto s : ticks) {
    auto r = client_->result_of(s, 60s);
    ASSERT_TRUE(r.ok()) << "session " << s << ": " << r.error().to_string();
    EXPECT_EQ(r->output, "tick");
  }
  for (auto s : naps) EXPECT_TRUE(client_->result_of(s, 30s).ok());
  std::map<std::uint64_t, int> runs;
  std::set<std::string> nodes;
  for (auto& e : executions())
    if (e.function == "tick") ++runs[e.session], nodes.insert(e.node);
  EXPECT_EQ(runs.size(), static_cast<std::size_t>(burst));
  for (auto& [s, n] : runs) EXPECT_EQ(n, 1) << "session " << s << " ran " << n << " times";
  EXPECT_EQ(nodes.size(), 3u);
  auto st = nlohmann::json::parse(*client_->status_json());
  int forwarded = 0;
  for (auto& shard : st["shards"]) forwarded += shard["forwarded"]["placed"].get<int>();
  EXPECT_GT(forwarded, 0) << "no work was forwarded";
}

// Sessions whose second step runs on n2; n2 dies (SIGKILL) or hangs
// (SIGSTOP, then SIGCONT) while they run. Every accepted session still ends
// with its output, exactly once.
class node_loss_test : public cluster_test {
 protected:
  void run(int sig) {
    deploy("slow_spread.yaml");
    constexpr int count = 8;
    std::vector<std::uint64_t> sessions;
    for (int i = 0; i < count; ++i) {
      auto r = client_->invoke("slow_spread", {"s" + std::to_string(i)}, 60s, true);
      ASSERT_TRUE(r.ok()) << r.error().to_string();
      sessions.push_back(r->session);
    }
    // Wait until n2 is working on one of them, then take it down.
    auto deadline = std::chrono::steady_clock::now() + 20s;
    auto n2_busy = [&] {
      for (auto& e : executions())
        if (e.node == "n2") return true;
      return false;
    };
    while (!n2_busy() && std::chrono::steady_clock::now() < deadline) ::poll(nullptr, 0, 10);
    ASSERT_TRUE(n2_busy());
    std::size_t said = nodes_.at("n2").said.size();
    signal_node("n2", sig);
    if (sig == SIGSTOP) {
      // Hung past the 1 s timeout: declared dead, its work re-run elsewhere.
      wait_for(coordinator_, "n2 (#", 10s);
      signal_node("n2", SIGCONT);
      // It wakes up fenced, drops everything and rejoins as a new incarnation.
      wait_for(nodes_.at("n2"), "joined ", 20s, said);
    }
    for (int i = 0; i < count; ++i) {
      auto r = client_->result_of(sessions[i], 60s);
      ASSERT_TRUE(r.ok()) << "session " << sessions[i] << ": " << r.error().to_string();
      EXPECT_EQ(r->output, "<s" + std::to_string(i) + ">");
    }
    auto st = nlohmann::json::parse(*client_->status_json());
    int ok = 0, failed = 0;
    for (auto& shard : st["shards"]) ok += shard["sessions"]["ok"].get<int>(), failed += shard["sessions"]["failed"].get<int>();
    EXPECT_EQ(ok, count) << st.dump(2);
    EXPECT_EQ(failed, 0);
    // New sessions still run; with n2 gone (or back), nothing waits on it.
    auto r = client_->invoke("slow_spread", {"after"}, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->output, "<after>");
  }
};

TEST_F(node_loss_test, ANodeKilledMidSessionLosesNoSession) { run(SIGKILL); }

TEST_F(node_loss_test, AHungNodeIsFencedAndRejoins) {
  run(SIGSTOP);
  auto st = nlohmann::json::parse(*client_->status_json());
  std::set<std::string> names;
  for (auto& n : st["nodes"]) names.insert(n["name"].get<std::string>());
  EXPECT_TRUE(names.contains("n2")) << "n2 did not rejoin: " << st.dump(2);
}

// The coordinator hangs (SIGSTOP) for twice the node timeout, shorter than
// the nodes' own patience with it (and than the CAF connection timeout): on
// waking it does not count the nodes' silence meanwhile against them (its
// first look may come before their queued heartbeats), so they stay, with
// their numbers, and work goes on.
TEST_F(cluster_test, ACoordinatorStoppedAWhileKeepsItsNodes) {
  deploy("spread.yaml");
  auto numbers = [&] {
    std::map<std::string, int> out;
    auto st = nlohmann::json::parse(*client_->status_json());
    for (auto& n : st["nodes"])
      out[n["name"].get<std::string>()] = n["number"].get<int>();
    return out;
  };
  auto before = numbers();
  ASSERT_EQ(before.size(), 3u);
  std::size_t said = coordinator_.said.size();
  coordinator_.proc.kill(SIGSTOP);
  ::poll(nullptr, 0, 2000);  // the fault: how long it hangs (node timeout 1 s; nodes give it 3 s)
  coordinator_.proc.kill(SIGCONT);
  wait_for(coordinator_, "did not run for ", 10s, said);
  auto r = client_->invoke("spread", {"awake"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<AWAKE>");
  EXPECT_EQ(numbers(), before) << "nodes were declared dead and joined again";
  drain_all();
  EXPECT_EQ(coordinator_.said.find(" is dead", said), std::string::npos) << coordinator_.said.substr(said);
}

class big_object_test : public cluster_test {
 protected:
  std::string store_size() const override { return "320M"; }
};

TEST_F(big_object_test, A256MiBObjectCrossesNodesIntact) {
  deploy("big.yaml");
  auto r = client_->invoke("big", {"256"}, 120s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "bytes=" + std::to_string(256u << 20) + " bad_words=0");
  auto where = nodes_by_function(executions());
  EXPECT_EQ(where["make_big"], std::set<std::string>{"n1"});
  EXPECT_EQ(where["check_big"], std::set<std::string>{"n2"});
}

// The name of the node numbered `number`, as its coordinator lists it.
std::string name_of_node(client& c, std::uint64_t number) {
  auto st = nlohmann::json::parse(*c.status_json());
  for (auto& n : st["nodes"])
    if (n["number"] == number) return n["name"].get<std::string>();
  return {};
}

// A synchronous invoke given to the coordinator runs on the node the app's
// shard names, as that node's own session: the coordinator answers the
// client with the node's address, and the client sends its invokes there
// (the coordinator, which finds their results there, runs none of them).
// A node that drains, or that is lost, sends the client back through the
// coordinator: no invoke fails for it.
TEST_F(cluster_test, SynchronousInvokesRunOnTheNodeTheCoordinatorNames) {
  deploy("naps.yaml");  // (nothing pinned)
  wait_until_held("naps", 3);
  auto shards = [&] {
    auto st = nlohmann::json::parse(*client_->status_json());
    int ran = 0, sent = 0;
    for (auto& s : st["shards"])
      ran += s["sessions"]["ok"].get<int>() + s["sessions"]["failed"].get<int>(),
          sent += s["sessions"]["clients_sent_to_nodes"].get<int>();
    return std::pair{ran, sent};
  };
  auto name_of = [&](std::uint64_t number) { return name_of_node(*client_, number); };
  auto [ran_before, sent_before] = shards();
  auto invoke = [&] {
    auto r = client_->invoke("naps", {"1"}, 30s);
    if (!r.ok()) {
      ADD_FAILURE() << r.error().to_string();
      return std::uint64_t{0};
    }
    EXPECT_EQ(r->output, "rested");
    return r->session;
  };
  std::optional<std::uint64_t> home;
  for (int i = 0; i < 6; ++i) {
    auto s = invoke();
    auto node = actors::node_of_session(s);
    ASSERT_TRUE(node.has_value()) << "session " << s << " was run by the coordinator";
    if (!home) home = node;
    EXPECT_EQ(node, home) << "the client left its node";
    auto kept = client_->result_of(s, 10s);  // (kept on its node; the coordinator asks there)
    ASSERT_TRUE(kept.ok()) << kept.error().to_string();
    EXPECT_EQ(kept->output, "rested");
  }
  auto [ran, sent] = shards();
  EXPECT_EQ(ran, ran_before) << "the coordinator ran sessions itself";
  EXPECT_GE(sent - sent_before, 1);

  // Drained, its node refuses: the invokes run elsewhere.
  std::string drained = name_of(*home);
  ASSERT_FALSE(drained.empty());
  ASSERT_TRUE(client_->admin("drain", {drained}).ok());
  std::uint64_t elsewhere = 0;
  for (int i = 0; i < 4; ++i) {
    auto s = invoke();
    EXPECT_NE(actors::node_of_session(s), home) << "session " << s << " ran on the drained " << drained;
    if (auto n = actors::node_of_session(s)) elsewhere = *n;
  }
  ASSERT_TRUE(client_->admin("drain", {drained, "--off"}).ok());
  ASSERT_NE(elsewhere, 0u) << "the client was never sent to another node";

  // Lost (SIGKILL), the node it was sent to last: the invokes go on.
  signal_node(name_of(elsewhere), SIGKILL);
  for (int i = 0; i < 4; ++i) EXPECT_NE(invoke(), 0u);
}

// The node a client sends its invokes to hangs (SIGSTOP) with one of them:
// the client, hearing nothing for a second, asks the coordinator, which has
// fenced the silent node; the invoke runs again through the coordinator and
// ends with its output, long before its timeout (and the node, woken, starts
// over and rejoins).
TEST_F(cluster_test, ADirectInvokeOnAHungNodeEndsThroughTheCoordinator) {
  deploy("naps.yaml");
  wait_until_held("naps", 3);
  auto first = client_->invoke("naps", {"1"}, 30s);  // (the client learns its node)
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  auto number = actors::node_of_session(first->session);
  ASSERT_TRUE(number.has_value()) << "session " << first->session << " was run by the coordinator";
  std::string hung = name_of_node(*client_, *number);
  ASSERT_FALSE(hung.empty());
  std::size_t said = nodes_.at(hung).said.size();
  signal_node(hung, SIGSTOP);
  auto r = client_->invoke("naps", {"500"}, 20s);
  signal_node(hung, SIGCONT);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "rested");
  EXPECT_NE(actors::node_of_session(r->session), number) << "it ran on the hung node";
  wait_for(nodes_.at(hung), "joined ", 30s, said);
}

// A direct invoke that runs longer than the client waits before asking the
// coordinator about its node (a second) runs once: a live node is waited for.
TEST_F(cluster_test, ALongDirectInvokeRunsOnce) {
  deploy("naps.yaml");
  wait_until_held("naps", 3);
  auto naps = [&] {
    std::size_t n = 0;
    for (auto& e : executions()) n += e.function == "nap";
    return n;
  };
  std::size_t before = naps();
  auto r = client_->invoke("naps", {"2500"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "rested");
  EXPECT_TRUE(actors::node_of_session(r->session).has_value()) << "session " << r->session << " was run by the coordinator";
  EXPECT_EQ(naps() - before, 1u) << "the nap ran more than once";
}

TEST_F(cluster_test, ClientsGetClearErrorsFromTheCoordinator) {
  auto r = client_->invoke("nosuchapp", {}, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::not_found);
  auto bad = client_->deploy(cluster_apps + "does-not-exist.yaml");
  EXPECT_FALSE(bad.ok());
  // A node's own port takes the puts and gets its coordinator sends there,
  // and synchronous invokes (as sessions of its own); anything else tells
  // the client where to go.
  auto direct = client::connect(node_address("n1"));
  ASSERT_TRUE(direct.ok()) << direct.error().to_string();
  for (auto& e : {direct->invoke("chain", {}, 5s, true).error(), direct->status_json().error(), direct->apps().error()}) {
    EXPECT_EQ(e.code(), errc::invalid_argument) << e.to_string();
    EXPECT_NE(e.message().find("connect to its coordinator"), std::string::npos) << e.to_string();
  }
}

}  // namespace
}  // namespace trail::testing
