// The sort example on a 3-node cluster behind a coordinator: mappers and
// reducers spread over the nodes (parts cross nodes on the data path), and a
// node SIGKILLed mid-sort. The expected output is recomputed from the
// generator; a wrong answer is never acceptable, an error must be clear.
#include "../cluster/cluster_fixture.hpp"
#include "records.hpp"
#include "sort_expected.hpp"
#include "validate.hpp"

namespace trail::testing {
namespace {

class sort_cluster_test : public cluster_test {
 protected:
  // A node may hold all parts and all sorted partitions of a 100 MB sort.
  std::string store_size() const override { return "512M"; }

  void deploy_sort() {
    auto r = client_->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/sort/sort.yaml");
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    wait_until_held("sort", 3);
  }

  // A node with an executor at work, as the coordinator knows (its last
  // heartbeat); empty when none is.
  std::string a_busy_node() {
    auto st = nlohmann::json::parse(*client_->status_json());
    for (auto& n : st["nodes"])
      if (n.contains("free_executors") && n["free_executors"] < n["executors"]) return n["name"].get<std::string>();
    return {};
  }

  int forwarded() {
    auto st = nlohmann::json::parse(*client_->status_json());
    int n = 0;
    for (auto& shard : st["shards"]) n += shard["forwarded"]["placed"].get<int>();
    return n;
  }
};

TEST_F(sort_cluster_test, SortsAHundredMegabytesOnThreeNodes) {
  deploy_sort();
  auto r = client_->invoke("sort", {"records=1000000", "mappers=6", "reducers=6"}, 300s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, expected_output(1'000'000, 6, 0));
  // Six mappers on a node with two executors: the rest went to other nodes.
  EXPECT_GT(forwarded(), 0) << "the sort never left its first node";
}

// A node dies while the sort runs: the session ends with the exact output
// (its work re-run elsewhere, re-sent objects ignored) or with a clear error.
// Which nodes the sort lands on depends on timing, so the victim is whichever
// node the coordinator first sees at work.
TEST_F(sort_cluster_test, ANodeKilledMidSortGivesTheExactResultOrAClearError) {
  deploy_sort();
  auto started = client_->invoke("sort", {"records=1000000", "mappers=6", "reducers=6", "seed=3"}, 300s, true);
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  std::string victim;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while ((victim = a_busy_node()).empty() && std::chrono::steady_clock::now() < deadline) ::poll(nullptr, 0, 2);
  ASSERT_FALSE(victim.empty()) << "no node was ever seen running part of the sort";
  signal_node(victim, SIGKILL);
  auto r = client_->result_of(started->session, 300s);
  if (r.ok()) {
    EXPECT_EQ(r->output, expected_output(1'000'000, 6, 3));
    std::fprintf(stderr, "the sort survived the kill of %s: %s\n", victim.c_str(), r->output.c_str());
  } else {
    EXPECT_FALSE(r.error().message().empty());
    std::fprintf(stderr, "the sort ended with an error after the kill of %s: %s\n", victim.c_str(),
                 r.error().to_string().c_str());
  }
  // The victim comes back (and, starting, removes its dead predecessor's
  // state dir); the cluster still sorts.
  start_node(victim);
  wait_for(nodes_.at(victim), "joined ", 20s);
  auto again = client_->invoke("sort", {"records=10000", "mappers=2", "reducers=2"}, 120s);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->output, expected_output(10000, 2, 0));
}

}  // namespace
}  // namespace trail::testing
