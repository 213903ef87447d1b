// Partitions (issue 11): the cluster's shards split between coordinators, so
// that losing one coordinator halts only its own partition. Two partitions
// of two shards; three coordinators (one holder each, a spare standing by
// for either), one etcd; four nodes, two per partition.
// - Each app lives in its partition: kept in etcd under that partition's
//   keys, run only on that partition's nodes; a client given any coordinator
//   reaches every app (it follows the holders it is told of), and lists
//   every app; a session id names its partition.
// - SIGKILL the holder of partition 0 while a client invokes an app of
//   partition 1 over and over: not one of those invocations fails, and they
//   go on while partition 0 has no holder. The spare claims partition 0
//   within two lease periods, a node moves over to it, and every session of
//   partition 0 accepted before the kill ends with its output.
// - A coordinator given another layout than the cluster's is refused, and
//   says the cluster's.
#include "../support/etcd_member.hpp"
#include "cluster_fixture.hpp"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "actors/core/partitions.hpp"
#include "actors/durable/etcd.hpp"

namespace trail::testing {
namespace {

constexpr auto lease = 2s;  // --lease-seconds
const core::partition_layout layout{2, 2};
// (Their partitions with two of two shards: fnv1a % 4 / 2.)
const std::string in_p0 = "wordcount", in_p1 = "chain";

class partitions_test : public cluster_test {
 protected:
  int initial_nodes() const override { return 0; }  // (once every partition is held)
  std::vector<std::string> coordinator_extra() const override {
    return {"--etcd", etcd_.endpoint(), "--lease-seconds", std::to_string(lease.count()), "--partitions", "2"};
  }
  std::string coordinators() const override { return address_ + "," + second_address_ + "," + spare_address_; }
  // n1, n3 try partition 0's holder first; n2, n4 partition 1's.
  std::string coordinators_for(const std::string& name) const override {
    bool odd = (name.back() - '0') % 2 == 1;
    return odd ? coordinators() : second_address_ + "," + spare_address_ + "," + address_;
  }

  void SetUp() override {
    auto ports = durable::free_loopback_ports(2);
    second_address_ = "127.0.0.1:" + std::to_string(ports[0]);
    spare_address_ = "127.0.0.1:" + std::to_string(ports[1]);
    cluster_test::SetUp();  // the first coordinator claims partition 0
    if (HasFatalFailure()) return;
    wait_for(coordinator_, "holds partition 0 of 2", 20s);
    launch_coordinator(second_, "second", second_address_);
    if (HasFatalFailure()) return;
    wait_for(second_, "holds partition 1 of 2", 20s);
    launch_coordinator(spare_, "spare", spare_address_);
    if (HasFatalFailure()) return;
    wait_for(spare_, "standing by: every partition is held", 20s);
    for (int i = 1; i <= 4; ++i) start_node("n" + std::to_string(i));
    for (auto& [name, m] : nodes_) wait_for(m, "joined ", 20s);
    if (HasFatalFailure()) return;
    auto c = client::connect(address_);  // the others it learns of
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    client_.emplace(std::move(*c));
  }
  void TearDown() override {
    client_.reset();
    for (member* m : {&second_, &spare_}) {
      stop(*m);
      if (HasFailure()) std::fprintf(stderr, "--- %s:\n%s", m->name.c_str(), m->said.c_str());
    }
    cluster_test::TearDown();
  }

  void deploy_both() {
    for (auto& app : {in_p0, in_p1}) {
      auto d = client_->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/" + app + "/" + app + ".yaml");
      ASSERT_TRUE(d.ok()) << app << ": " << d.error().to_string();
    }
  }

  // The nodes each partition lists, as its holder's status says (-1: not held).
  std::vector<int> partition_nodes() {
    auto st = client_->status_json();
    EXPECT_TRUE(st.ok()) << st.error().to_string();
    if (!st.ok()) return {};
    std::vector<int> out;
    auto j = nlohmann::json::parse(*st);  // (kept: the loop reads into it)
    for (auto& p : j["coordinator"]["partition"]["each"]) out.push_back(p.value("nodes", -1));
    last_status_ = j.dump();
    return out;
  }

  std::map<std::string, std::size_t> said_now() {
    std::map<std::string, std::size_t> out;
    for (auto& [name, m] : nodes_) out[name] = m.said.size();
    return out;
  }

  std::string last_status_;
  etcd_cluster etcd_{1};
  std::string second_address_, spare_address_;
  member second_, spare_;
};

TEST_F(partitions_test, EachAppLivesInItsPartitionAndAClientReachesEveryOne) {
  ASSERT_EQ(layout.partition_of_app(in_p0), 0u);
  ASSERT_EQ(layout.partition_of_app(in_p1), 1u);
  deploy_both();
  if (HasFatalFailure()) return;

  // Kept under their partitions' keys.
  auto db = durable::etcd::open(etcd_.endpoint());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  for (auto [app, p] : {std::pair{in_p0, 0u}, std::pair{in_p1, 1u}}) {
    auto mine = db->get(core::partition_prefix("", p, 2) + "trail/apps/" + app);
    ASSERT_TRUE(mine.ok()) << mine.error().to_string();
    EXPECT_TRUE(mine->has_value()) << app << " is not kept under partition " << p;
    auto other = db->get(core::partition_prefix("", 1 - p, 2) + "trail/apps/" + app);
    ASSERT_TRUE(other.ok()) << other.error().to_string();
    EXPECT_FALSE(other->has_value()) << app << " is kept under partition " << 1 - p << " too";
  }

  // Every app, through a client connected to partition 0's holder.
  auto apps = client_->apps();
  ASSERT_TRUE(apps.ok()) << apps.error().to_string();
  std::string listed;
  for (auto& a : *apps) listed += a + ";";
  EXPECT_NE(listed.find(in_p0), std::string::npos) << listed;
  EXPECT_NE(listed.find(in_p1), std::string::npos) << listed;

  for (int i = 0; i < 3; ++i) {
    auto w = client_->invoke(in_p0, {"a b a"}, 30s);
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    EXPECT_EQ(w->output, "a=2,b=1");
    auto c = client_->invoke(in_p1, {"x" + std::to_string(i)}, 30s);
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    EXPECT_EQ(c->output, "<X" + std::to_string(i) + ">");
    auto a = client_->invoke(in_p1, {"y" + std::to_string(i)}, 30s, true);  // numbered by partition 1's shard
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    EXPECT_EQ(layout.partition_of_session(a->session), 1u) << a->session;
    auto r = client_->result_of(a->session, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->output, "<Y" + std::to_string(i) + ">");
  }

  // Each ran only on its partition's nodes.
  std::map<std::string, std::set<std::string>> ran;  // app -> nodes
  for (auto [app, args] : {std::pair{in_p0, std::string("q r q")}, std::pair{in_p1, std::string("q")}}) {
    for (int i = 0; i < 4; ++i) {
      auto a = client_->invoke(app, {args}, 30s, true);
      ASSERT_TRUE(a.ok()) << a.error().to_string();
      ASSERT_TRUE(client_->result_of(a->session, 30s).ok());
      auto seen = client_->admin("session", {std::to_string(a->session)});
      ASSERT_TRUE(seen.ok()) << seen.error().to_string();
      auto session = nlohmann::json::parse(*seen);  // (kept: the loop reads into it)
      for (auto& at : session["attempts"]) ran[app].insert(at["node"].get<std::string>());
    }
  }
  auto in = [](const std::set<std::string>& nodes, const std::set<std::string>& allowed) {
    return !nodes.empty() && std::includes(allowed.begin(), allowed.end(), nodes.begin(), nodes.end());
  };
  const std::set<std::string> p0_nodes{std::string("n1"), std::string("n3")};
  const std::set<std::string> p1_nodes{std::string("n2"), std::string("n4")};
  EXPECT_TRUE(in(ran[in_p0], p0_nodes)) << nlohmann::json(ran[in_p0]).dump();
  EXPECT_TRUE(in(ran[in_p1], p1_nodes)) << nlohmann::json(ran[in_p1]).dump();

  // `trail nodes` and `trail sessions` show every partition's.
  auto listed_nodes = client_->admin("nodes", {});
  ASSERT_TRUE(listed_nodes.ok()) << listed_nodes.error().to_string();
  auto nodes = nlohmann::json::parse(*listed_nodes);
  std::map<std::string, int> partition_of_node;
  for (auto& n : nodes["nodes"]) partition_of_node[n["name"]] = n["partition"];
  EXPECT_EQ(partition_of_node, (std::map<std::string, int>{{"n1", 0}, {"n2", 1}, {"n3", 0}, {"n4", 1}})) << nodes.dump();
  auto listed_sessions = client_->admin("sessions", {});
  ASSERT_TRUE(listed_sessions.ok()) << listed_sessions.error().to_string();
  std::set<std::string> apps_seen;
  auto sessions = nlohmann::json::parse(*listed_sessions);
  for (auto& x : sessions["sessions"]) apps_seen.insert(x["app"].get<std::string>());
  EXPECT_EQ(apps_seen, (std::set<std::string>{in_p0, in_p1})) << sessions.dump();

  // A node's own commands reach it whichever partition it is in.
  for (std::string n : {"n1", "n2", "n3", "n4"}) {
    auto logs = client_->admin("logs", {n});
    ASSERT_TRUE(logs.ok()) << n << ": " << logs.error().to_string();
    EXPECT_EQ(nlohmann::json::parse(*logs).value("node", std::string()), n) << *logs;
  }
  auto nobody = client_->admin("logs", {"n9"});
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.error().code(), errc::not_found) << nobody.error().to_string();

  // The status names both holders and each partition's nodes.
  auto st = client_->status_json();
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  auto part = nlohmann::json::parse(*st)["coordinator"]["partition"];
  EXPECT_EQ(part["of"], 2);
  EXPECT_EQ(part["each"][0]["holder"], address_) << part.dump();
  EXPECT_EQ(part["each"][1]["holder"], second_address_) << part.dump();
}

TEST_F(partitions_test, LosingOneHolderHaltsOnlyItsPartitionUntilTheSpareClaimsIt) {
  deploy_both();
  if (HasFatalFailure()) return;
  // Sessions of partition 0 accepted before its holder dies.
  std::map<std::uint64_t, std::string> accepted;
  for (int i = 0; i < 20; ++i) {
    auto w = "w" + std::to_string(i);
    auto r = client_->invoke(in_p0, {w + " " + w}, 30s, true);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    accepted[r->session] = w + "=2";
  }

  // A second client invokes partition 1's app over and over meanwhile.
  auto other = client::connect(coordinators());
  ASSERT_TRUE(other.ok()) << other.error().to_string();
  using clock = std::chrono::steady_clock;
  std::atomic<bool> done{false};
  std::atomic<int> calls{0};
  std::vector<clock::time_point> ended;  // (the invoking thread's own)
  std::vector<std::string> failures;
  std::thread invoking([&] {
    for (int i = 0; !done; ++i) {
      auto r = other->invoke(in_p1, {"z" + std::to_string(i)}, 30s);
      if (!r.ok()) failures.push_back(r.error().to_string());
      else if (r->output != "<Z" + std::to_string(i) + ">") failures.push_back("wrong output " + r->output);
      ended.push_back(clock::now());
      ++calls;
    }
  });
  while (calls < 20) ::poll(nullptr, 0, 5);

  auto before = said_now();
  coordinator_.expect_clean_exit = false;
  coordinator_.proc.kill(SIGKILL);
  auto killed = clock::now();
  wait_for(spare_, "holds partition 0 of 2", 30s);
  auto claimed = clock::now();
  int at_claim = calls;
  EXPECT_LT(claimed - killed, 2 * lease + 1s) << "partition 0 was held again only after "
                                              << std::chrono::duration_cast<std::chrono::milliseconds>(claimed - killed).count() << " ms";
  while (calls < at_claim + 20) ::poll(nullptr, 0, 5);
  done = true;
  invoking.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " invocations of partition 1's app failed; the first: " << failures.front();
  auto during = std::count_if(ended.begin(), ended.end(), [&](auto t) { return t > killed && t < claimed; });
  EXPECT_GE(during, 10) << "partition 1 halted while partition 0 had no holder";

  // A node of the others moves over to the spare; partition 0's sessions end.
  bool moved = false;
  for (auto until = clock::now() + 30s; !moved && clock::now() < until;) {
    drain_all();
    for (auto& [name, m] : nodes_)
      if (m.said.find("joined " + spare_address_, before.at(name)) != std::string::npos) moved = true;
    if (!moved) ::poll(nullptr, 0, 50);
  }
  ASSERT_TRUE(moved) << "no node joined the spare";
  for (auto& [session, expected] : accepted) {
    auto r = client_->result_of(session, 60s);
    ASSERT_TRUE(r.ok()) << "session " << session << ": " << r.error().to_string();
    EXPECT_EQ(r->output, expected) << "session " << session;
  }
  // Both partitions list nodes again.
  std::vector<int> nodes;
  for (auto until = clock::now() + 20s; clock::now() < until; ::poll(nullptr, 0, 100)) {
    nodes = partition_nodes();
    if (nodes.size() == 2 && nodes[0] >= 1 && nodes[1] >= 1) break;
  }
  ASSERT_EQ(nodes.size(), 2u) << last_status_;
  EXPECT_GE(nodes[0], 1);
  EXPECT_GE(nodes[1], 1);
}

TEST_F(partitions_test, ACoordinatorGivenAnotherLayoutIsRefusedAndToldTheClusters) {
  member wrong;
  auto p = shm::child_process::launch({TRAIL_COORDINATOR_PATH,
                                       {"--listen", "127.0.0.1:0", "--shards", "2", "--etcd", etcd_.endpoint(),
                                        "--partitions", "3"},
                                       {}});
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  wrong.name = "wrong";
  wrong.proc = std::move(*p);
  wait_for(wrong, "made with partitions 2 shards 2", 20s);
  using clock = std::chrono::steady_clock;
  std::string how;
  for (auto until = clock::now() + 20s; (how = wrong.proc.try_reap()).empty() && clock::now() < until;)
    ::poll(nullptr, 0, 20);
  EXPECT_EQ(how, "exited with status 1") << wrong.said;
  EXPECT_NE(wrong.said.find("--partitions"), std::string::npos) << wrong.said;
}

}  // namespace
}  // namespace trail::testing
