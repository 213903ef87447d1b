// The admin commands against a 3-node cluster, through the client library:
// the coordinator asks every node and merges their answers.
#include <nlohmann/json.hpp>

#include "cluster_fixture.hpp"

namespace trail::testing {
namespace {

using nlohmann::json;

class cluster_admin_test : public cluster_test {
 protected:
  json admin(const std::string& command, const std::vector<std::string>& words = {}) {
    auto r = client_->admin(command, words);
    EXPECT_TRUE(r.ok()) << command << ": " << r.error().to_string();
    return r.ok() ? json::parse(*r) : json();
  }
};

TEST_F(cluster_admin_test, ATraceOfASpreadChainHasEveryFunctionInOrderOnItsNode) {
  deploy("chain_spread.yaml");
  auto r = client_->invoke("chain", {"a", "b"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  // The last function's own report reaches the home a moment after the
  // output it sealed has ended the session: ask until it is in the trace.
  std::vector<std::pair<std::string, std::string>> want{{"first", "n1"}, {"second", "n2"}, {"third", "n3"}};
  std::vector<std::pair<std::string, std::string>> ran;
  nlohmann::json t;
  for (auto until = std::chrono::steady_clock::now() + 10s; ran != want && std::chrono::steady_clock::now() < until;) {
    t = admin("trace", {std::to_string(r->session)});
    ran.clear();
    for (auto& e : t["events"])
      if (e["outcome"] == "ok") ran.emplace_back(e["function"], e["node"]);
  }
  EXPECT_EQ(ran, want) << t.dump(1);
  EXPECT_EQ(t["node"], "n1");  // its home: where the entry is pinned
  std::int64_t last = -1;
  for (auto& e : t["events"]) {
    if (e["outcome"] != "ok") continue;
    EXPECT_GE(e["started_us"].get<std::int64_t>(), last) << t.dump(1);
    EXPECT_GE(e["ended_us"].get<std::int64_t>(), e["started_us"].get<std::int64_t>());
    last = e["started_us"];
  }
  auto s = admin("session", {std::to_string(r->session)});
  EXPECT_EQ(s["state"], "ok");
  auto listed = admin("sessions", {"--app", "chain"});
  ASSERT_EQ(listed["sessions"].size(), 1u) << listed.dump(1);
  EXPECT_EQ(listed["sessions"][0]["id"], r->session);
}

TEST_F(cluster_admin_test, ADrainedNodeGetsNoNewSessionsUntilDrainOff) {
  auto up = client_->deploy(TRAIL_EXAMPLES_DIR "/chain/chain.yaml");  // (no function pinned)
  ASSERT_TRUE(up.ok()) << up.error().to_string();
  auto d = admin("drain", {"n2"});
  EXPECT_EQ(d["draining"], true);
  auto nodes = admin("nodes");
  for (auto& n : nodes["nodes"]) EXPECT_EQ(n["state"], n["name"] == "n2" ? "draining" : "live") << n.dump();
  for (int i = 0; i < 12; ++i) {
    auto r = client_->invoke("chain", {"x"}, std::chrono::seconds(30), true);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_TRUE(client_->result_of(r->session).ok());
  }
  auto sessions = admin("sessions");  // (a range-for over a temporary's member would dangle)
  for (auto& s : sessions["sessions"]) EXPECT_NE(s["node"], "n2") << s.dump();
  EXPECT_EQ(admin("drain", {"n2", "--off"})["draining"], false);
}

TEST_F(cluster_admin_test, UnknownNodesAndSessionsAreClearErrors) {
  auto n = client_->admin("drain", {"n9"});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code(), errc::not_found);
  EXPECT_NE(n.error().message().find("no live node 'n9'"), std::string::npos) << n.error().message();
  auto s = client_->admin("trace", {"123456"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), errc::not_found);
  auto bad = client_->admin("sessions", {"--state", "sleeping"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), errc::invalid_argument);
  auto logs = admin("logs", {"coordinator"});
  EXPECT_FALSE(logs["lines"].empty());  // it logged the joins
  auto node_logs = admin("logs", {"n1"});
  EXPECT_EQ(node_logs["node"], "n1");
}

}  // namespace
}  // namespace trail::testing
