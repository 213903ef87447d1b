// A coordinator that keeps its apps and accepted sessions in etcd (--etcd):
// SIGKILLed and started again, it still has every app deployed (same
// versions, libraries and all), its nodes rejoin and get them again, the
// sessions it had accepted finish, and invocations work. An undeploy is kept
// too. With etcd down, deploys and new sessions fail "unavailable" and all
// resumes when etcd is back; a coordinator cannot start without its etcd,
// but one starting over (fenced, stepping down) waits for it.
// Each runs against one etcd member and against three; with three, losing
// any one member changes nothing.
#include "../support/etcd_member.hpp"
#include "cluster_fixture.hpp"

namespace trail::testing {
namespace {

class durable_test : public cluster_test, public ::testing::WithParamInterface<int> {
 protected:
  std::vector<std::string> coordinator_extra() const override { return {"--etcd", etcd_.endpoint()}; }

  // SIGKILLs the coordinator and starts it again on its address; waits
  // until every node rejoined and the client is connected again.
  void restart_coordinator() {
    coordinator_.expect_clean_exit = false;
    (void)coordinator_.proc.kill_and_reap();  // gone, its port too, before it starts again
    start_coordinator_again();
  }

  etcd_cluster etcd_{GetParam()};  // members
};

TEST_P(durable_test, AppsOutliveACoordinatorKilledAndStartedAgain) {
  deploy("spread.yaml");
  deploy("spread.yaml");  // v2
  ASSERT_TRUE(client_->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/chain/chain.yaml").ok());
  wait_until_held("spread", 3);
  restart_coordinator();
  wait_for(coordinator_, "2 app(s), 0 session(s) and ", 10s);  // (its log lines may trail its "listening on")
  auto apps = client_->apps();
  ASSERT_TRUE(apps.ok()) << apps.error().to_string();
  std::sort(apps->begin(), apps->end());
  EXPECT_EQ(*apps, (std::vector<std::string>{"chain v1", "spread v2"}));
  wait_until_held("spread", 3);
  auto out = client_->invoke("spread", {"kept"}, 30s);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->output, "<KEPT>");
  auto chain = client_->invoke("chain", {"hello", "again"}, 30s);
  ASSERT_TRUE(chain.ok()) << chain.error().to_string();
  EXPECT_EQ(chain->output, "<HELLO AGAIN>");

  // Versions go on from where they were; an undeploy is kept as well.
  auto v3 = client_->deploy(cluster_apps + "spread.yaml");
  ASSERT_TRUE(v3.ok()) << v3.error().to_string();
  EXPECT_EQ(v3->rfind("spread v3", 0), 0u) << *v3;
  ASSERT_TRUE(client_->undeploy("chain").ok());
  restart_coordinator();
  apps = client_->apps();
  ASSERT_TRUE(apps.ok()) << apps.error().to_string();
  EXPECT_EQ(*apps, (std::vector<std::string>{"spread v3"}));
}

// Sessions accepted before the coordinator died are started again by the
// next one (their nodes dropped them when it went) and end with their
// output; the ids a client holds stay valid and are never handed out again.
TEST_P(durable_test, SessionsAcceptedBeforeTheCrashFinishAfterIt) {
  deploy("naps.yaml");
  wait_until_held("naps", 3);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 8; ++i) {
    auto r = client_->invoke("naps", {"1500"}, 120s, true);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ids.push_back(r->session);
  }
  restart_coordinator();
  wait_for(coordinator_, "1 app(s), 8 session(s) and ", 10s);  // (its log lines may trail its "listening on")
  for (auto id : ids) {
    auto r = client_->result_of(id, 60s);
    ASSERT_TRUE(r.ok()) << id << ": " << r.error().to_string();
    EXPECT_EQ(r->output, "rested");
  }
  auto fresh = client_->invoke("naps", {"1"}, 30s);
  ASSERT_TRUE(fresh.ok()) << fresh.error().to_string();
  for (auto id : ids) EXPECT_NE(fresh->session, id) << "an id handed out before the crash";
  // Ended sessions are erased from etcd (soon after they end, in the
  // keeper's next group): another restart has none to run.
  auto db = durable::etcd::open(etcd_.endpoint());
  ASSERT_TRUE(db.ok());
  std::size_t left = count_keys_until(*db, "trail/sessions/", [](std::size_t n) { return n == 0; }, 10s);
  ASSERT_EQ(left, 0u) << "ended sessions still kept in etcd";
  restart_coordinator();
  wait_for(coordinator_, "1 app(s), 0 session(s) and ", 10s);  // (its log lines may trail its "listening on")
}

TEST_P(durable_test, WithEtcdDownDeploysAndNewSessionsFailClearlyUntilItIsBack) {
  deploy("spread.yaml");
  wait_until_held("spread", 3);
  etcd_.kill();
  auto d = client_->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/chain/chain.yaml");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code(), errc::unavailable) << d.error().to_string();
  EXPECT_NE(d.error().message().find("etcd is unavailable"), std::string::npos) << d.error().to_string();
  auto u = client_->undeploy("spread");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code(), errc::unavailable) << u.error().to_string();
  EXPECT_EQ(*client_->apps(), (std::vector<std::string>{"spread v1"})) << "the failed deploy left nothing";
  auto refused = client_->invoke("spread", {"x"}, 30s);  // a session etcd cannot keep is not accepted
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), errc::unavailable) << refused.error().to_string();
  // Its lease may have run out by its own clock meanwhile: it says it is
  // paused, and why, and new sessions wait for it, then fail the same way.
  std::string paused;
  for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until; ::poll(nullptr, 0, 20)) {
    auto st = nlohmann::json::parse(*client_->status_json());
    paused = st["coordinator"].value("paused", "");
    if (!paused.empty()) break;
  }
  EXPECT_NE(paused.find("etcd is unavailable"), std::string::npos) << paused;
  auto held = client_->invoke("spread", {"x"}, 30s);
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.error().code(), errc::unavailable) << held.error().to_string();
  EXPECT_EQ(held.error().message().rfind("coordinator paused: ", 0), 0u) << held.error().to_string();
  etcd_.restart();
  auto again = client_->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/chain/chain.yaml");
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  auto out = client_->invoke("spread", {"back"}, 30s);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->output, "<BACK>");
}

INSTANTIATE_TEST_SUITE_P(EtcdMembers, durable_test, ::testing::Values(1, 3),
                         [](const auto& info) { return std::to_string(info.param) + "_members"; });

// A coordinator starts over (re-executes itself, on SIGUSR1) when it is
// fenced or steps down. Etcd answered it before, so when etcd is away at that
// moment the new run stands by and waits for it, where a first start without
// its etcd fails; etcd back, it claims the shards again, and its apps are
// still deployed.
class started_over_test : public cluster_test {
 protected:
  std::vector<std::string> coordinator_extra() const override {
    return {"--etcd", etcd_.endpoint(), "--lease-seconds", "2"};
  }
  etcd_cluster etcd_{1};
};

TEST_F(started_over_test, ACoordinatorStartingOverWhileEtcdIsAwayWaitsForEtcd) {
  deploy("spread.yaml");
  wait_until_held("spread", 3);
  etcd_.kill();
  drain_all();
  std::size_t before = coordinator_.said.size();
  std::map<std::string, std::size_t> nodes_before;
  for (auto& [name, m] : nodes_) nodes_before[name] = m.said.size();
  coordinator_.proc.kill(SIGUSR1);  // (what fencing and stepping down send it)
  wait_for(coordinator_, "standing by: etcd is unavailable", 30s, before);
  ASSERT_TRUE(coordinator_.proc.running());
  etcd_.restart();
  // Its earlier claim lives on in etcd until that lease runs out.
  wait_for(coordinator_, "holds the shards as", 30s, before);
  wait_for(coordinator_, "listening on " + address_, 10s, before);  // (the port it picked at first)
  for (auto& [name, m] : nodes_) wait_for(m, "joined ", 30s, nodes_before[name]);
  auto c = client::connect(address_);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  client_.emplace(std::move(*c));
  EXPECT_EQ(*client_->apps(), (std::vector<std::string>{"spread v1"}));
  wait_until_held("spread", 3);
  auto out = client_->invoke("spread", {"again"}, 30s);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->output, "<AGAIN>");
}

// Writes nobody waits for (a lost node's listing, here) are kept back while
// etcd is away, and go again every 200 ms: they must not hold up the
// coordinator's exit. It tries them once more and stops.
TEST_F(started_over_test, ACoordinatorWithWritesKeptBackStopsWhileEtcdIsAway) {
  etcd_.kill();
  signal_node("n3", SIGKILL);  // its listing's erase is a write nobody waits for
  wait_for(coordinator_, "write(s) nobody waits for", 20s);
  auto t0 = std::chrono::steady_clock::now();
  coordinator_.proc.kill(SIGTERM);
  std::string how;
  while ((how = coordinator_.proc.try_reap()).empty() && std::chrono::steady_clock::now() - t0 < 30s) {
    pollfd p{coordinator_.proc.pidfd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    drain(coordinator_);
  }
  EXPECT_EQ(how, "exited with status 0") << coordinator_.said;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s) << "its exit waited for etcd";
  if (!how.empty()) coordinator_.proc = shm::child_process{};  // (reaped here)
}

// Three etcd members: SIGKILL any one, and deploys, sessions and a
// coordinator restart go on as if nothing happened; it comes back and
// another goes.
class etcd_quorum_test : public cluster_test {
 protected:
  std::vector<std::string> coordinator_extra() const override { return {"--etcd", etcd_.endpoint()}; }
  etcd_cluster etcd_{3};
};

TEST_F(etcd_quorum_test, LosingOneMemberOfThreeChangesNothing) {
  deploy("spread.yaml");
  wait_until_held("spread", 3);
  for (std::size_t lost = 0; lost < 3; ++lost) {
    SCOPED_TRACE("etcd member " + std::to_string(lost) + " killed");
    etcd_.kill(lost);
    auto d = client_->deploy(cluster_apps + "spread.yaml");  // a write: a new version
    ASSERT_TRUE(d.ok()) << d.error().to_string();
    EXPECT_EQ(d->rfind("spread v" + std::to_string(lost + 2), 0), 0u) << *d;
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 4; ++i) {
      auto r = client_->invoke("spread", {"async"}, 30s, true);
      ASSERT_TRUE(r.ok()) << r.error().to_string();
      ids.push_back(r->session);
    }
    for (auto id : ids) {
      auto r = client_->result_of(id, 30s);
      ASSERT_TRUE(r.ok()) << r.error().to_string();
      EXPECT_EQ(r->output, "<ASYNC>");
    }
    coordinator_.expect_clean_exit = false;  // and what it kept is read back from the other two
    (void)coordinator_.proc.kill_and_reap();  // gone, its port too, before it starts again
    start_coordinator_again();
    auto apps = client_->apps();
    ASSERT_TRUE(apps.ok()) << apps.error().to_string();
    EXPECT_EQ(*apps, (std::vector<std::string>{"spread v" + std::to_string(lost + 2)}));
    etcd_.restart(lost);
  }
}

// Two clusters share one etcd, each under its own --etcd-prefix: both hold
// their shards at once, neither sees the other's apps, nothing lands at
// etcd's root, and a coordinator started again restores only its own.
class shared_etcd_test : public cluster_test {
 protected:
  std::vector<std::string> coordinator_extra() const override {
    return {"--etcd", etcd_.endpoint(), "--etcd-prefix", "clusters/a"};
  }
  etcd_cluster etcd_{1};
};

TEST_F(shared_etcd_test, TwoClustersUnderTwoPrefixesOfOneEtcdKeepApart) {
  member other;
  auto p = shm::child_process::launch({TRAIL_COORDINATOR_PATH,
                                       {"--listen", "127.0.0.1:0", "--shards", "2", "--etcd", etcd_.endpoint(),
                                        "--etcd-prefix", "clusters/b/"},
                                       {}});
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  other.name = "other";
  other.proc = std::move(*p);
  wait_for(other, "listening on ", 20s);
  auto at = other.said.find("listening on ") + 13;
  const std::string other_address = other.said.substr(at, other.said.find('\n', at) - at);
  EXPECT_NE(other.said.find("holds the shards as"), std::string::npos) << "not standing by for cluster a: " << other.said;
  EXPECT_NE(coordinator_.said.find("holds the shards as"), std::string::npos) << coordinator_.said;

  deploy("spread.yaml");
  wait_until_held("spread", 3);
  auto c = client::connect(other_address);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_TRUE(c->apps()->empty()) << "cluster a's app is not b's";
  auto b = c->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/chain/chain.yaml");
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  EXPECT_EQ(*c->apps(), (std::vector<std::string>{"chain v1"}));
  EXPECT_EQ(*client_->apps(), (std::vector<std::string>{"spread v1"}));

  auto db = durable::etcd::open(etcd_.endpoint());
  ASSERT_TRUE(db.ok());
  EXPECT_TRUE(db->range("trail/")->empty()) << "nothing at etcd's root";
  EXPECT_FALSE(db->range("clusters/a/trail/apps/")->empty());
  EXPECT_FALSE(db->range("clusters/b/trail/apps/")->empty());
  auto status = client_->status_json();
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_EQ(nlohmann::json::parse(*status)["coordinator"].value("etcd_prefix", ""), "clusters/a/") << *status;

  coordinator_.expect_clean_exit = false;
  (void)coordinator_.proc.kill_and_reap();
  start_coordinator_again();
  wait_for(coordinator_, "1 app(s), 0 session(s) and 0 result(s) kept in etcd at " + etcd_.endpoint() +
                             " under clusters/a/", 10s);
  EXPECT_EQ(*client_->apps(), (std::vector<std::string>{"spread v1"}));
  wait_until_held("spread", 3);
  auto out = client_->invoke("spread", {"apart"}, 30s);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->output, "<APART>");
  stop(other);
}

TEST(durable_coordinator, ACoordinatorWithoutItsEtcdDoesNotStart) {
  auto p = shm::child_process::launch(
      {TRAIL_COORDINATOR_PATH, {"--listen", "127.0.0.1:0", "--etcd", "127.0.0.1:" + std::to_string(free_port())}, {}});
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  pollfd done{p->pidfd(), POLLIN, 0};
  ASSERT_EQ(::poll(&done, 1, 30000), 1) << "it kept running";
  EXPECT_EQ(p->try_reap(), "exited with status 1");
  std::string said;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p->output_fd(), buf, sizeof buf)) > 0) said.append(buf, static_cast<std::size_t>(n));
  EXPECT_NE(said.find("etcd is unavailable"), std::string::npos) << said;
}

}  // namespace
}  // namespace trail::testing
