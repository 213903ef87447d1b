// A standalone node started again with the same --state-dir still has its
// apps (README "Using it"): after a clean stop, after a SIGKILL, and with a
// kept-apps file it cannot read (set aside; the node starts without them).
#include <fstream>

#include "../support/temp_dir.hpp"
#include "node_fixture.hpp"

namespace trail::testing {
namespace {

class state_dir_test : public node_test {
 protected:
  void SetUp() override { start_node({"--state-dir", dir_.path().string()}); }

  void restart() {
    TearDown();  // SIGTERM; exits 0, leaves no segments
    start_node({"--state-dir", dir_.path().string()});
  }

  void killed_restart() {
    client_.reset();
    node_.kill_and_reap();  // SIGKILL: nothing of its own shutdown runs
    start_node({"--state-dir", dir_.path().string()});
  }

  std::vector<std::string> apps() {
    auto a = client_->apps();
    EXPECT_TRUE(a.ok()) << a.error().to_string();
    return a.ok() ? *a : std::vector<std::string>{};
  }

  void invokes_chain() {
    auto r = client_->invoke("chain", {"hello", "world"}, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->output, "<HELLO WORLD>");
  }

  temp_dir dir_;
};

TEST_F(state_dir_test, DeployedAppsComeBackAfterARestartAndUndeployedOnesDoNot) {
  deploy("chain");
  deploy("chain");  // v2: the current version is the one that comes back
  deploy("wordcount");
  ASSERT_TRUE(client_->undeploy("wordcount").ok());
  restart();
  EXPECT_EQ(apps(), std::vector<std::string>{"chain v2"}) << startup_;
  invokes_chain();
  auto again = client_->deploy(example("chain"));
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(*again, "chain v3") << "versions go on from the kept one";
}

TEST_F(state_dir_test, AppsSurviveASigkilledNode) {
  deploy("chain");
  killed_restart();
  EXPECT_EQ(apps(), std::vector<std::string>{"chain v1"});
  invokes_chain();
}

TEST_F(state_dir_test, AnUnreadableListIsSetAsideAndTheNodeStartsWithoutIt) {
  deploy("chain");
  TearDown();
  std::ofstream(dir_.path() / "apps.json", std::ios::trunc) << "{ not what the node wrote";
  start_node({"--state-dir", dir_.path().string()});
  EXPECT_TRUE(apps().empty());
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "apps.json.unreadable"));
  deploy("chain");  // and it keeps apps again from here
  restart();
  EXPECT_EQ(apps(), std::vector<std::string>{"chain v1"});
}

}  // namespace
}  // namespace trail::testing
