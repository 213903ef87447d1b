// --metrics on a coordinator and the nodes of a three-node cluster: valid
// Prometheus text from each, and numbers that add up to what the cluster ran.
#include "../support/prometheus.hpp"
#include "cluster_fixture.hpp"

namespace trail::testing {
namespace {

class cluster_metrics_test : public cluster_test {
 protected:
  int initial_nodes() const override { return 0; }  // started with --metrics below
  std::vector<std::string> coordinator_extra() const override { return {"--metrics", "127.0.0.1:0"}; }

  // The address `m` said its metrics are on.
  static std::string metrics_of(const member& m) {
    auto at = m.said.find("metrics on ");
    EXPECT_NE(at, std::string::npos) << m.name << " said:\n" << m.said;
    if (at == std::string::npos) return {};
    at += 11;
    return m.said.substr(at, m.said.find('\n', at) - at);
  }

  static prom_text scrape(const std::string& address) {
    auto r = http_request(address, "GET", "/metrics");
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (!r.ok()) return {};
    EXPECT_EQ(r->code, 200) << r->body;
    auto p = parse_prometheus(r->body);
    EXPECT_TRUE(p.ok()) << p.error().to_string() << "\n" << r->body;
    return p.ok() ? *p : prom_text{};
  }

  // The sum of every series of `name` with `labels` among their labels.
  static double sum(const prom_text& t, const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    double total = 0;
    for (auto& [fname, f] : t.families)
      for (auto& s : f.samples) {
        if (s.name != name) continue;
        bool match = true;
        for (auto& [k, v] : labels) match = match && s.labels.contains(k) && s.labels.at(k) == v;
        if (match) total += s.value;
      }
    return total;
  }
};

TEST_F(cluster_metrics_test, CoordinatorAndNodesCountWhatTheClusterRan) {
  for (const char* n : {"n1", "n2", "n3"}) start_node(n, {"--metrics", "127.0.0.1:0"});
  for (auto& [name, m] : nodes_) wait_for(m, "joined ", 20s);
  deploy("chain_spread.yaml");  // first on n1, second on n2, third on n3
  wait_until_held("chain", 3);
  auto coordinator = metrics_of(coordinator_);
  auto before = scrape(coordinator);
  EXPECT_EQ(before.value("trail_nodes_live"), 3);
  EXPECT_EQ(before.value("trail_coordinator_shards"), 2);

  constexpr int sessions = 5;
  client_->set_direct_invokes(false);  // every session through the shard, which counts it
  for (int i = 0; i < sessions; ++i) {
    auto r = client_->invoke("chain", {"over", "nodes"}, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
  auto after = scrape(coordinator);
  EXPECT_EQ(sum(after, "trail_shard_sessions_total", {{"outcome", "ok"}}) -
                sum(before, "trail_shard_sessions_total", {{"outcome", "ok"}}),
            sessions);
  EXPECT_GE(sum(after, "trail_shard_placements_total", {{"kind", "session"}}) -
                sum(before, "trail_shard_placements_total", {{"kind", "session"}}),
            sessions);
  EXPECT_EQ(sum(after, "trail_shard_sessions_in_flight"), 0);
  EXPECT_EQ(after.families.at("trail_node_free_executors").samples.size(), 3u);

  // Every node ran one function of each session, for the home on n1.
  double started = 0, homed_ok = 0, worked = 0;
  for (const char* n : {"n1", "n2", "n3"}) {
    auto t = scrape(metrics_of(nodes_.at(n)));
    EXPECT_EQ(t.value("trail_invocations_started_total"), sessions) << n;
    EXPECT_EQ(sum(t, "trail_hop_latency_seconds_count"), sessions) << n;
    started += sum(t, "trail_invocations_started_total");
    homed_ok += sum(t, "trail_sessions_total", {{"outcome", "ok"}});
    worked += sum(t, "trail_worked_for_others_total");
  }
  EXPECT_EQ(started, 3 * sessions);
  EXPECT_EQ(homed_ok, sessions);
  EXPECT_EQ(worked, 2 * sessions) << "second and third run for the home on n1";

  // A synchronous invoke the coordinator sends to a node (its entry is
  // pinned to n1): counted as a client placed there; n1 counts the session.
  client_->set_direct_invokes(true);
  auto n1_before = sum(scrape(metrics_of(nodes_.at("n1"))), "trail_sessions_total", {{"outcome", "ok"}});
  auto r = client_->invoke("chain", {"straight", "there"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto last = scrape(coordinator);
  EXPECT_EQ(sum(last, "trail_shard_placements_total", {{"kind", "client"}}) -
                sum(after, "trail_shard_placements_total", {{"kind", "client"}}),
            1);
  EXPECT_EQ(sum(last, "trail_shard_sessions_total", {{"outcome", "ok"}}),
            sum(after, "trail_shard_sessions_total", {{"outcome", "ok"}}));
  EXPECT_EQ(sum(scrape(metrics_of(nodes_.at("n1"))), "trail_sessions_total", {{"outcome", "ok"}}) - n1_before, 1);
}

// Objects over 64 KiB cross nodes over the data path (smaller ones travel
// inline with the work): a 1 MiB object made on n1 is pulled into n2.
TEST_F(cluster_metrics_test, TransferBytesCountTheDataPath) {
  for (const char* n : {"n1", "n2", "n3"}) start_node(n, {"--metrics", "127.0.0.1:0"});
  for (auto& [name, m] : nodes_) wait_for(m, "joined ", 20s);
  deploy("big.yaml");  // make_big on n1, check_big on n2
  wait_until_held("big", 3);
  auto r = client_->invoke("big", {"1"}, 60s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto n2 = scrape(metrics_of(nodes_.at("n2")));
  EXPECT_EQ(n2.value("trail_transfer_bytes_total", {{"direction", "in"}}), 1 << 20);
  // n1's server counts the bytes once its last chunk went: by now, or very soon.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  double served = 0;
  while (served < (1 << 20) && std::chrono::steady_clock::now() < deadline)
    served = scrape(metrics_of(nodes_.at("n1"))).value("trail_transfer_bytes_total", {{"direction", "out"}}).value_or(0);
  EXPECT_EQ(served, 1 << 20);
}

}  // namespace
}  // namespace trail::testing
