// Coordinators that survive (issue 11): two coordinators share one etcd
// (three members); the first holds the shards under a lease, the second
// stands by. Nodes know both.
// - Three coordinators, three etcd members, three nodes: SIGKILL the holder
//   in the middle of 1,000 async invocations of a 3-function app: one of
//   the two standbys wins the claim within two lease periods (the other
//   stands by behind it), the nodes join it (etcd lists them as its nodes),
//   and every accepted session ends with its output. The client, given the
//   holder alone, learned of the standbys from its answers: it sends the
//   invocation that found the holder dead again to the new holder, by itself.
// - SIGKILL the holder while synchronous invocations wait on it: each client
//   sends its invocation again to the standby, by itself, and gets the
//   session the holder accepted — one session per invocation, as etcd shows.
// - SIGKILL the holder while the standby is stopped: the nodes go on
//   running the synchronous invokes a client sends them directly, and join
//   the standby once it wakes and takes over; a node running one when a
//   coordinator answers again lets it end (its client gets its output,
//   and it runs once) before it starts over.
// - SIGSTOP the holder past its lease: the standby takes over; on SIGCONT
//   the old holder learns its lease is gone, says it was fenced, and stands
//   by (it holds the shards again only through a fresh claim). `trail
//   status` lists both coordinators, and which one holds the shards.
// - Stop every node: the holder, alone while a standby is listed, steps
//   down for it (as when it is cut off from its nodes), and the nodes join
//   the standby once woken.
// - Nodes and clients given only the holder's address learn of the standby
//   from it (etcd lists every coordinator); the nodes join it when the
//   holder dies, and the client's next requests go there. So does a client
//   that connected before the standby started: the holder's next answer to
//   it names the standby.
// - Cut the holder off from etcd alone: by its own clock its lease may have
//   run out, so it pauses (refuses joins, tells its nodes); its nodes find
//   the standby that claimed the shards and join it (a node running a direct
//   invoke first lets it end), and a client waiting on it for a session gets
//   that session from the new holder. Healed, the old holder is fenced and
//   stands by.
#include "../support/etcd_member.hpp"
#include "../support/prometheus.hpp"
#include "../support/tcp_capture.hpp"
#include "../cmd/node_fixture.hpp"  // run_program
#include "../cmd/shell_pty.hpp"
#include "cluster_fixture.hpp"

#include <fstream>
#include <latch>
#include <set>
#include <thread>

#include "actors/cluster_types.hpp"
#include "actors/durable/node_records.hpp"
#include "actors/net/control.hpp"
#include "actors/net/tls.hpp"
#include "actors/types.hpp"
#include "actors/durable/session_records.hpp"

namespace trail::testing {
namespace {

constexpr auto lease = 2s;  // --lease-seconds

class failover_test : public cluster_test {
 protected:
  // A third coordinator, standing by beside the first standby: they race for the shards.
  virtual bool with_spare() const { return false; }
  // False: the test starts the standby itself (start_standby), later.
  virtual bool standby_at_start() const { return true; }
  // Where the standby listens, and what else it is given.
  virtual std::string standby_listen() const { return standby_address_; }
  virtual std::vector<std::string> standby_extra() const { return {}; }

  void SetUp() override {
    auto ports = durable::free_loopback_ports(2);
    standby_address_ = "127.0.0.1:" + std::to_string(ports[0]);
    if (with_spare()) spare_address_ = "127.0.0.1:" + std::to_string(ports[1]);
    cluster_test::SetUp();
    if (HasFatalFailure() || !standby_at_start()) return;
    start_standby();
    if (HasFatalFailure() || !with_spare()) return;
    launch_coordinator(spare_, "spare", spare_address_);
    if (HasFatalFailure()) return;
    wait_for(spare_, "standing by: 127.0.0.1:", 20s);
  }
  void start_standby() {
    launch_coordinator(standby_, "standby", standby_listen(), standby_extra());
    if (HasFatalFailure()) return;
    wait_for(standby_, "standing by: 127.0.0.1:", 20s);
  }
  void TearDown() override {
    stop(standby_);
    if (HasFailure()) std::fprintf(stderr, "--- standby:\n%s", standby_.said.c_str());
    if (with_spare()) {
      stop(spare_);
      if (HasFailure()) std::fprintf(stderr, "--- spare:\n%s", spare_.said.c_str());
    }
    cluster_test::TearDown();
  }
  std::vector<std::string> coordinator_extra() const override {
    return {"--etcd", etcd_.endpoint(), "--lease-seconds", std::to_string(lease.count()), "--metrics", "127.0.0.1:0"};
  }
  std::vector<std::string> node_extra() const override { return {"--metrics", "127.0.0.1:0"}; }
  std::string coordinators() const override {
    return address_ + "," + standby_address_ + (with_spare() ? "," + spare_address_ : "");
  }

  // The address of the standby that holds the shards now (of two, the one
  // that won the claim); the other must still stand by.
  std::string await_new_holder(std::chrono::milliseconds within) {
    std::vector<std::pair<member*, std::string>> candidates{{&standby_, standby_address_}};
    if (with_spare()) candidates.emplace_back(&spare_, spare_address_);
    for (auto until = std::chrono::steady_clock::now() + within; std::chrono::steady_clock::now() < until;) {
      std::vector<pollfd> fds;
      for (auto& [m, at] : candidates) fds.push_back({m->proc.output_fd(), POLLIN, 0});
      ::poll(fds.data(), fds.size(), 100);
      std::string holder;
      for (auto& [m, at] : candidates) {
        drain(*m);
        if (m->said.find("holds the shards as") != std::string::npos) {
          EXPECT_TRUE(holder.empty()) << "two coordinators hold the shards: " << holder << " and " << at;
          holder = at;
        }
      }
      if (!holder.empty()) return holder;
    }
    ADD_FAILURE() << "no standby held the shards within " << within.count() << " ms";
    return {};
  }

  // Waits until every node joined `holder` (default: the standby), and connects the client to it.
  void follow_the_standby(const std::map<std::string, std::size_t>& said_before, std::string holder = {}) {
    if (holder.empty()) holder = standby_address_;
    for (auto& [name, m] : nodes_) wait_for(m, "joined " + holder, 30s, said_before.at(name));
    auto c = client::connect(coordinators());  // the first answers no more
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    client_.emplace(std::move(*c));
  }
  // Waits until the status lists exactly these coordinators (address -> holds the shards).
  void wait_for_listed(const std::map<std::string, bool>& want) {
    std::map<std::string, bool> listed;
    std::string last;
    for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
      auto st = client_->status_json();
      ASSERT_TRUE(st.ok()) << st.error().to_string();
      last = *st;
      listed.clear();
      for (auto& c : nlohmann::json::parse(*st)["coordinator"].value("coordinators", nlohmann::json::array())) {
        std::string id = c["identity"];
        listed[id.substr(0, id.find(' '))] = c["holds_shards"];
      }
      if (listed == want) return;
      ::poll(nullptr, 0, 100);  // listed anew at each lease renewal
    }
    FAIL() << "the coordinators listed never matched; last status: " << last;
  }
  // Waits until etcd lists exactly the cluster's nodes, each as joined to `coordinator`.
  void wait_for_nodes_listed_by(const std::string& coordinator) {
    auto db = durable::etcd::open(etcd_.endpoint());
    ASSERT_TRUE(db.ok()) << db.error().to_string();
    std::set<std::string> want, listed;
    for (auto& [name, m] : nodes_) want.insert(name);
    for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
      auto kvs = db->range(durable::nodes_prefix);
      ASSERT_TRUE(kvs.ok()) << kvs.error().to_string();
      listed.clear();
      for (auto& kv : *kvs) {
        auto n = durable::decode_node(kv.key, kv.value);
        ASSERT_TRUE(n.ok()) << kv.key << ": " << n.error().to_string();
        if (n->coordinator == coordinator) listed.insert(n->name);
        else listed.insert(n->name + " (joined to " + n->coordinator + ")");
      }
      if (listed == want) return;
      ::poll(nullptr, 0, 50);  // written with the keeper's next group
    }
    std::string got;
    for (auto& l : listed) got += " " + l;
    FAIL() << "etcd never listed every node as joined to " << coordinator << "; last:" << got;
  }
  // Stops the standby and SIGKILLs the holder: every node detaches (what
  // they said before is returned). SIGCONT the standby to end it.
  std::map<std::string, std::size_t> leave_no_coordinator() {
    auto before = said_now();
    standby_.proc.kill(SIGSTOP);
    coordinator_.expect_clean_exit = false;
    coordinator_.proc.kill(SIGKILL);
    for (auto& [name, m] : nodes_) wait_for(m, "serving the invokes clients send here", 10s, before.at(name));
    return before;
  }
  // SIGKILLs the holder; waits until the standby holds the shards and every
  // node joined it (they start over to: the new incarnation knows it too).
  void kill_holder_for_the_standby() {
    auto before = said_now();
    coordinator_.expect_clean_exit = false;
    coordinator_.proc.kill(SIGKILL);
    wait_for(standby_, "holds the shards as", 30s);
    for (auto& [name, m] : nodes_) {
      wait_for(m, "joined " + standby_address_, 30s, before.at(name));
      EXPECT_EQ(process_name(m), "trail-node") << name << " started over under another name";
    }
  }
  // What ps and pgrep call it (it starts over by running /proc/self/exe).
  static std::string process_name(const member& m) {
    std::ifstream in("/proc/" + std::to_string(m.proc.pid()) + "/comm");
    std::string name;
    std::getline(in, name);
    return name;
  }
  std::map<std::string, std::size_t> said_now() {
    std::map<std::string, std::size_t> out;
    for (auto& [name, m] : nodes_) out[name] = m.said.size();
    return out;
  }

  etcd_cluster etcd_{3};
  std::string standby_address_;
  member standby_;
  std::string spare_address_;  // with_spare()
  member spare_;
};

class three_coordinators_test : public failover_test {
 protected:
  bool with_spare() const override { return true; }
};

TEST_F(three_coordinators_test, AKilledHolderIsReplacedWithinTwoLeasePeriodsAndEveryAcceptedSessionEnds) {
  deploy("chain_spread.yaml");
  wait_until_held("chain", 3);
  wait_for_nodes_listed_by(address_);
  if (HasFatalFailure()) return;
  // The client, given the holder alone, learns of the standbys (started after it connected) from its answers.
  wait_for_listed({{address_, true}, {standby_address_, false}, {spare_address_, false}});
  if (HasFatalFailure()) return;
  auto before = said_now();
  auto early = client::connect(coordinators());  // connected to the holder, kept through its loss
  ASSERT_TRUE(early.ok()) << early.error().to_string();
  std::map<std::uint64_t, std::string> accepted;  // session -> its expected output
  std::string holder;  // the coordinator that took over
  for (int i = 0; i < 1000; ++i) {
    if (i == 400) {
      coordinator_.expect_clean_exit = false;
      coordinator_.proc.kill(SIGKILL);
      auto killed = std::chrono::steady_clock::now();
      holder = await_new_holder(30s);
      ASSERT_FALSE(holder.empty());
      auto took = std::chrono::steady_clock::now() - killed;
      RecordProperty("takeover_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
      EXPECT_LT(took, 2 * lease + 1s) << "the shards were held again only after "
                                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
      for (auto& [name, m] : nodes_) wait_for(m, "joined " + holder, 30s, before.at(name));
      if (HasFatalFailure()) return;
      wait_for_nodes_listed_by(holder);  // cleared by the new holder, listed again as they rejoined
      if (HasFatalFailure()) return;
    }
    std::string word = "w" + std::to_string(i);
    // (The first after the kill finds its connection broken, and sends it again to the new holder.)
    auto r = client_->invoke("chain", {word}, 30s, true);
    ASSERT_TRUE(r.ok()) << "invocation " << i << ": " << r.error().to_string();
    accepted[r->session] = "<" + std::string(1, 'W') + std::to_string(i) + ">";
  }
  if (with_spare()) {  // the loser of the race still stands by, behind the winner
    member& other = holder == standby_address_ ? spare_ : standby_;
    wait_for(other, "standing by: " + holder, 10s);
  }
  // A client whose coordinator died asks the new one, by itself, with the session id.
  auto first = accepted.begin();
  auto asked = early->result_of(first->first, 60s);
  ASSERT_TRUE(asked.ok()) << "session " << first->first << ": " << asked.error().to_string();
  EXPECT_EQ(asked->output, first->second);
  for (auto& [session, expected] : accepted) {
    auto r = client_->result_of(session, 60s);
    ASSERT_TRUE(r.ok()) << "session " << session << ": " << r.error().to_string();
    EXPECT_EQ(r->output, expected) << "session " << session;
  }
}

// Every coordinator SIGKILLed at once, with sessions accepted (kept in etcd)
// and running, then all started again: one of them holds the shards again,
// the app is still deployed, `trail invoke` works, and every session accepted
// before the crash ends with its output.
TEST_F(three_coordinators_test, EveryCoordinatorKilledAndStartedAgainKeepsAppsAndAcceptedSessions) {
  deploy("slow_spread.yaml");  // 600 ms a session: they are still running at the crash
  wait_until_held("slow_spread", 3);
  auto db = durable::etcd::open(etcd_.endpoint());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  constexpr int calls = 6;
  std::vector<std::uint64_t> accepted;
  client_->set_direct_invokes(false);  // through the holder, which keeps them in etcd
  for (int i = 0; i < calls; ++i) {
    auto r = client_->invoke("slow_spread", {"a" + std::to_string(i)}, 60s, true);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    accepted.push_back(r->session);
  }
  ASSERT_EQ(count_keys_until(*db, "trail/sessions/", [](std::size_t n) { return n >= static_cast<std::size_t>(calls); }, 20s),
            static_cast<std::size_t>(calls));
  auto before = said_now();
  std::vector<std::pair<member*, std::string>> all{
      {&coordinator_, address_}, {&standby_, standby_address_}, {&spare_, spare_address_}};
  for (auto& [m, at] : all) {
    m->expect_clean_exit = false;
    (void)m->proc.kill_and_reap();
  }
  launch_coordinator(coordinator_, "coordinator", address_);
  launch_coordinator(standby_, "standby", standby_address_);
  launch_coordinator(spare_, "spare", spare_address_);
  if (HasFatalFailure()) return;
  std::string holder;  // the one that claimed the shards once the dead ones' leases ran out
  for (auto until = std::chrono::steady_clock::now() + 30s; holder.empty() && std::chrono::steady_clock::now() < until;) {
    std::vector<pollfd> fds;
    for (auto& [m, at] : all) fds.push_back({m->proc.output_fd(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), 100);
    for (auto& [m, at] : all) {
      drain(*m);
      if (m->said.find("holds the shards as") != std::string::npos) holder = at;
    }
  }
  ASSERT_FALSE(holder.empty()) << "no coordinator held the shards again";
  for (auto& [name, m] : nodes_) wait_for(m, "joined " + holder, 30s, before.at(name));
  if (HasFatalFailure()) return;
  auto c = client::connect(coordinators());
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  client_.emplace(std::move(*c));
  auto apps = client_->apps();
  ASSERT_TRUE(apps.ok()) << apps.error().to_string();
  EXPECT_EQ(*apps, (std::vector<std::string>{"slow_spread v1"}));
  auto said = run_program(TRAIL_CLI_PATH, {"--connect", coordinators(), "invoke", "slow_spread", "after"});
  EXPECT_EQ(said.code, 0) << said.err;
  EXPECT_EQ(said.out, "<after>\n") << said.err;
  for (int i = 0; i < calls; ++i) {
    auto r = client_->result_of(accepted[i], 60s);
    ASSERT_TRUE(r.ok()) << "session " << accepted[i] << ": " << r.error().to_string();
    EXPECT_EQ(r->output, "<a" + std::to_string(i) + ">");
  }
}

TEST_F(failover_test, ASynchronousInvokeWhoseHolderDiesGetsTheOneSessionItStarted) {
  deploy("slow_spread.yaml");  // 600 ms a session: they wait on the holder when it dies
  wait_until_held("slow_spread", 3);
  auto db = durable::etcd::open(etcd_.endpoint());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  constexpr int calls = 4;
  std::vector<std::optional<result<invocation_result>>> got(calls);
  std::vector<std::thread> callers;
  // Every caller connected before any invokes: on a loaded machine, connects
  // spread over more than a session's 600 ms would let one end before the
  // last is accepted.
  std::latch connected(calls);
  for (int i = 0; i < calls; ++i)
    callers.emplace_back([&, i] {
      auto c = client::connect(address_ + "," + standby_address_);
      connected.arrive_and_wait();
      if (!c.ok()) return got[i].emplace(c.error()), void();
      c->set_direct_invokes(false);  // through the holder, which keeps them in etcd
      got[i].emplace(c->invoke("slow_spread", {"s" + std::to_string(i)}, 60s));
    });
  // Kill the holder once it kept every session in etcd (accepted), before any ended.
  std::size_t kept =
      count_keys_until(*db, "trail/sessions/", [](std::size_t n) { return n >= static_cast<std::size_t>(calls); }, 20s);
  coordinator_.expect_clean_exit = false;
  coordinator_.proc.kill(SIGKILL);
  for (auto& t : callers) t.join();
  ASSERT_EQ(kept, static_cast<std::size_t>(calls)) << "the holder never kept every session";
  std::set<std::uint64_t> answered;
  for (int i = 0; i < calls; ++i) {
    ASSERT_TRUE(got[i].has_value() && got[i]->ok()) << "call " << i << ": " << (got[i] ? got[i]->error().to_string() : std::string("no answer"));
    EXPECT_EQ((*got[i])->output, "<s" + std::to_string(i) + ">");
    answered.insert((*got[i])->session);
  }
  EXPECT_EQ(answered.size(), static_cast<std::size_t>(calls));
  // Every session that ever ended is kept in etcd: exactly the ones answered.
  std::set<std::uint64_t> ended;
  std::size_t running = count_keys_until(*db, "trail/sessions/", [](std::size_t n) { return n == 0; }, 10s);
  EXPECT_EQ(running, 0u) << "a session still runs: a second one was started";
  auto results = db->range("trail/results/");
  ASSERT_TRUE(results.ok()) << results.error().to_string();
  for (auto& kv : *results) {
    auto r = durable::decode_result(kv.key, kv.value);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ended.insert(r->id);
  }
  EXPECT_EQ(ended, answered) << "sessions started in etcd other than those answered";
}

// A client started between the holder's death and the takeover: the standby
// names the dead holder until its lease runs out, or none; connect() looks
// again until it holds the shards (the shell's one-shot invoke, here).
TEST_F(failover_test, AClientStartedDuringATakeoverWaitsForIt) {
  deploy("chain_spread.yaml");
  wait_until_held("chain", 3);
  coordinator_.expect_clean_exit = false;
  coordinator_.proc.kill(SIGKILL);
  auto said = run_program(TRAIL_CLI_PATH, {"--connect", coordinators(), "invoke", "chain", "meanwhile"});
  EXPECT_EQ(said.code, 0) << said.err;
  EXPECT_EQ(said.out, "<MEANWHILE>\n") << said.err;
  wait_for(standby_, "holds the shards as", 10s);  // (it did: nothing else serves)
}

// What `family` of `m` says, at the metrics address it last said (a process
// that starts over serves them at a new port).
std::optional<double> metric_of(const member& m, const std::string& family) {
  auto at = m.said.rfind("metrics on ");
  if (at == std::string::npos) return std::nullopt;
  at += 11;
  auto r = http_request(m.said.substr(at, m.said.find('\n', at) - at), "GET", "/metrics");
  if (!r.ok() || r->code != 200) return std::nullopt;
  auto p = parse_prometheus(r->body);
  return p.ok() ? p->value(family) : std::nullopt;
}

// The holder dies while no standby can take over (it is stopped): the
// nodes, detached, go on running the synchronous invokes a client sends
// them directly — past the second after which the client would ask the
// coordinator again, and across nodes (each step is pinned to another) —
// and start over only once a coordinator answers: woken, the standby takes
// over, they join it, and invokes go through it again.
TEST_F(failover_test, SynchronousInvokesGoOnOnTheNodesWhileNoCoordinatorAnswers) {
  deploy("chain_spread.yaml");
  wait_until_held("chain", 3);
  auto c = client::connect(coordinators());
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  auto first = c->invoke("chain", {"first"}, 30s);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ASSERT_TRUE(actors::node_of_session(first->session).has_value()) << "not a direct invoke";
  auto before = leave_no_coordinator();
  if (HasFatalFailure()) return standby_.proc.kill(SIGCONT);
  for (auto& [name, m] : nodes_) EXPECT_EQ(metric_of(m, "trail_node_detached"), 1.0) << name;
  int done = 0;
  for (auto t0 = std::chrono::steady_clock::now(); std::chrono::steady_clock::now() - t0 < 2500ms; ++done) {
    std::string word = "w" + std::to_string(done);
    auto r = c->invoke("chain", {word}, 10s);
    if (!r.ok()) standby_.proc.kill(SIGCONT);
    ASSERT_TRUE(r.ok()) << "invoke " << done << " with no coordinator: " << r.error().to_string();
    EXPECT_EQ(r->output, "<W" + std::to_string(done) + ">");
    EXPECT_TRUE(actors::node_of_session(r->session).has_value()) << "session " << r->session;
  }
  drain_all();
  for (auto& [name, m] : nodes_)
    EXPECT_EQ(m.said.find("new incarnation", before.at(name)), std::string::npos)
        << name << " started over with no coordinator to join:\n" << m.said.substr(before.at(name));
  standby_.proc.kill(SIGCONT);
  follow_the_standby(before);
  if (HasFatalFailure()) return;
  for (auto& [name, m] : nodes_) {
    EXPECT_NE(m.said.find(" answers", before.at(name)), std::string::npos) << m.said;
    EXPECT_EQ(metric_of(m, "trail_node_detached"), 0.0) << name << " (started over)";
  }
  auto after = c->invoke("chain", {"after"}, 30s);
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_EQ(after->output, "<AFTER>");
  RecordProperty("invokes_without_a_coordinator", done);
}

TEST_F(failover_test, ADetachedNodeLetsTheInvokesItRunsEndBeforeItStartsOver) {
  deploy("holds.yaml");
  wait_until_held("holds", 3);
  auto released = log_.string() + ".released";
  auto c = client::connect(coordinators());
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  {
    std::ofstream{released};  // the first one returns at once: it shows the client its node
    auto first = c->invoke("holds", {released}, 30s);
    ASSERT_TRUE(first.ok()) << first.error().to_string();
    ASSERT_TRUE(actors::node_of_session(first->session).has_value()) << "not a direct invoke";
    std::filesystem::remove(released);
  }
  auto before = leave_no_coordinator();
  if (HasFatalFailure()) return standby_.proc.kill(SIGCONT);

  // A direct invoke that runs on its node until released.
  result<invocation_result> held = status::internal("not answered");
  std::thread invoker([&] { held = c->invoke("holds", {released}, 60s); });
  auto release = [&] {  // (on every way out: the invoker must end)
    std::ofstream{released};
    standby_.proc.kill(SIGCONT);
    if (invoker.joinable()) invoker.join();
  };
  std::string runner;
  for (auto until = std::chrono::steady_clock::now() + 20s; runner.empty() && std::chrono::steady_clock::now() < until;) {
    auto ran = executions();
    if (ran.size() == 2) runner = ran[1].node;
    else ::poll(nullptr, 0, 20);  // (the execution log is a file)
  }
  if (runner.empty()) release();
  ASSERT_FALSE(runner.empty()) << "the held invoke never ran";
  auto& m = nodes_.at(runner);

  // A coordinator answers again: that node waits for the invoke it runs
  // before it starts over (the others start over at once and join it).
  standby_.proc.kill(SIGCONT);
  wait_for(m, "starting over once the 1 invokes clients sent here end", 30s, before.at(runner));
  release();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(held.ok()) << held.error().to_string();
  EXPECT_EQ(held->output, "released");
  follow_the_standby(before);
  if (HasFatalFailure()) return;
  EXPECT_NE(m.said.find("(and the 1 invokes clients sent here ended)", before.at(runner)), std::string::npos) << m.said;
  std::size_t holds = 0;
  for (auto& e : executions()) holds += e.function == "hold";
  EXPECT_EQ(holds, 2u) << "the held invoke ran more than once";
  auto after = c->invoke("holds", {released}, 30s);
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_EQ(after->output, "released");
}

// Nodes and clients given only the holder's address: they learn of the standby from it.
class learning_test : public failover_test {
 protected:
  std::string coordinators() const override { return address_; }
};

TEST_F(learning_test, NodesAndClientsGivenOnlyTheHolderLearnOfTheStandbyAndFindItOnceTheHolderDies) {
  deploy("chain_spread.yaml");
  wait_until_held("chain", 3);
  for (auto& [name, m] : nodes_) wait_for(m, "learned of coordinator(s) " + standby_address_, 20s);
  if (HasFatalFailure()) return;
  auto lone = client::connect(address_);  // (the holder names the standby as it says hello)
  ASSERT_TRUE(lone.ok()) << lone.error().to_string();
  auto accepted = lone->invoke("chain", {"accepted"}, 30s, true);
  ASSERT_TRUE(accepted.ok()) << accepted.error().to_string();
  auto idle = client::connect(address_);  // one that sends nothing until it reconnects
  ASSERT_TRUE(idle.ok()) << idle.error().to_string();
  // The admin shell, given the holder alone, as an operator would start it.
  auto home = std::filesystem::temp_directory_path() / ("trail-learning-shell-" + std::to_string(::getpid()));
  std::filesystem::create_directories(home);
  pty_process sh(TRAIL_CLI_PATH, {"--connect", address_},
                 {{"HOME", home.string()}, {"TRAIL_HISTORY", (home / "history").string()}, {"TERM", "xterm"}});
  ASSERT_TRUE(sh.read_until("trail> ")) << sh.output();
  sh.write("apps\n");
  ASSERT_TRUE(sh.read_until("chain v")) << sh.output();
  sh.mark();
  kill_holder_for_the_standby();
  if (HasFatalFailure()) return;
  EXPECT_FALSE(idle->connected());
  status again = idle->reconnect();
  ASSERT_TRUE(again.ok()) << again.to_string();
  EXPECT_TRUE(idle->connected());
  sh.write("invoke chain shell\n");  // its next command goes to the standby
  EXPECT_TRUE(sh.read_until("<SHELL>")) << sh.output();
  sh.write("quit\n");
  EXPECT_EQ(sh.wait(), 0) << sh.output();
  std::filesystem::remove_all(home);
  // The client finds its connection broken, and the standby it was told of.
  auto r = lone->invoke("chain", {"learned"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<LEARNED>");
  auto earlier = lone->result_of(accepted->session, 30s);
  ASSERT_TRUE(earlier.ok()) << earlier.error().to_string();
  EXPECT_EQ(earlier->output, "<ACCEPTED>");
}

// The standby starts after the client connected to the holder (given only
// its address): the holder names it in its next reply to that client.
class late_standby_test : public learning_test {
 protected:
  bool standby_at_start() const override { return false; }
};

TEST_F(late_standby_test, AClientConnectedBeforeTheStandbyStartedLearnsOfItFromItsNextReply) {
  deploy("chain_spread.yaml");
  wait_until_held("chain", 3);
  auto early = client::connect(address_);  // no other coordinator is listed yet
  ASSERT_TRUE(early.ok()) << early.error().to_string();
  auto accepted = early->invoke("chain", {"before"}, 30s, true);
  ASSERT_TRUE(accepted.ok()) << accepted.error().to_string();
  start_standby();
  if (HasFatalFailure()) return;
  // (Another client sees it listed: the holder told its gateway first.)
  wait_for_listed({{address_, true}, {standby_address_, false}});
  if (HasFatalFailure()) return;
  auto told = early->invoke("chain", {"told"}, 30s);  // its answer names the standby
  ASSERT_TRUE(told.ok()) << told.error().to_string();
  EXPECT_EQ(told->output, "<TOLD>");
  kill_holder_for_the_standby();
  if (HasFatalFailure()) return;
  auto after = early->invoke("chain", {"after"}, 30s);
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_EQ(after->output, "<AFTER>");
  auto earlier = early->result_of(accepted->session, 30s);
  ASSERT_TRUE(earlier.ok()) << earlier.error().to_string();
  EXPECT_EQ(earlier->output, "<BEFORE>");
}

// The standby listens on every interface, advertising the host others reach
// it at: etcd lists it there, so a client given only the holder learns of
// it (a wildcard address it could not use; on another machine, neither
// could a node).
class advertised_standby_test : public learning_test {
 protected:
  std::string standby_listen() const override {
    return "0.0.0.0:" + standby_address_.substr(standby_address_.rfind(':') + 1);
  }
  std::vector<std::string> standby_extra() const override { return {"--advertise", "127.0.0.1"}; }
};

TEST_F(advertised_standby_test, AStandbyOnEveryInterfaceIsListedAndLearnedAtTheHostItAdvertises) {
  deploy("chain_spread.yaml");
  wait_until_held("chain", 3);
  wait_for_listed({{address_, true}, {standby_address_, false}});
  if (HasFatalFailure()) return;
  auto lone = client::connect(address_);  // told of the standby as it says hello
  ASSERT_TRUE(lone.ok()) << lone.error().to_string();
  kill_holder_for_the_standby();
  if (HasFatalFailure()) return;
  auto r = lone->invoke("chain", {"advertised"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<ADVERTISED>");
}

// What trail_coordinator_holds_shards of `m` says.
std::optional<double> holds_shards(const member& m) { return metric_of(m, "trail_coordinator_holds_shards"); }

// A standby listens. A client that says hello to it is sent to the holder;
// a node that asks it for the control ports to join on is told it stands
// by, and who holds the shards.
void expect_standing_by(const std::string& at, const std::string& holder) {
  auto c = client::connect(at);
  ASSERT_TRUE(c.ok()) << "not redirected from " << at << " to " << holder << ": " << c.error().to_string();
  auto st = c->status_json();
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_EQ(nlohmann::json::parse(*st)["coordinator"].value("holds_shards_as", "").rfind(holder + " ", 0), 0u) << *st;
  auto cred = net::credentials_from_env();  // as a joining node does (cluster.with_secret, with_tls)
  ASSERT_TRUE(cred.ok()) << cred.error().to_string();
  auto tls = net::client_tls_from_env();
  ASSERT_TRUE(tls.ok()) << tls.error().to_string();
  auto ports = net::control_address(at, 5s, actors::protocol_version, *cred ? &**cred : nullptr, *tls);
  ASSERT_FALSE(ports.ok()) << "a standby gave a node its control ports";
  EXPECT_EQ(ports.error().code(), errc::unavailable) << ports.error().to_string();
  EXPECT_NE(ports.error().message().find("trail-coordinator at " + at + " is standing by: " + holder), std::string::npos)
      << ports.error().to_string();
}

TEST_F(failover_test, AStoppedHolderIsFencedAndStandsByUntilItClaimsAfresh) {
  deploy("chain_spread.yaml");
  wait_until_held("chain", 3);
  wait_for_listed({{address_, true}, {standby_address_, false}});  // the standby is listed too
  if (HasFatalFailure()) return;
  expect_standing_by(standby_address_, address_);
  EXPECT_EQ(holds_shards(coordinator_), 1.0);
  EXPECT_EQ(holds_shards(standby_), 0.0) << "a standby serves its metrics too";
  auto before = said_now();
  coordinator_.proc.kill(SIGSTOP);
  wait_for(standby_, "holds the shards as", 30s);
  follow_the_standby(before);
  if (HasFatalFailure()) return;
  auto d = client_->deploy(cluster_apps + "chain_spread.yaml");  // the new holder writes
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->rfind("chain v2", 0), 0u) << *d;

  std::size_t said_before = coordinator_.said.size();
  coordinator_.proc.kill(SIGCONT);
  wait_for(coordinator_, "fenced: ", 30s, said_before);
  wait_for(coordinator_, "standing by: " + standby_address_, 30s, said_before);
  EXPECT_EQ(process_name(coordinator_), "trail-coordinat") << "started over under another name";
  expect_standing_by(address_, standby_address_);  // at the port it held the shards on
  EXPECT_EQ(holds_shards(standby_), 1.0) << "the same metrics server, the front's status now";
  EXPECT_EQ(holds_shards(coordinator_), 0.0) << "started over: stands by";
  auto r = client_->invoke("chain", {"still"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<STILL>");
  auto st = client_->status_json();
  ASSERT_TRUE(st.ok());
  EXPECT_NE(nlohmann::json::parse(*st)["coordinator"].value("holds_shards_as", "").find(standby_address_),
            std::string::npos)
      << *st;
  wait_for_listed({{address_, false}, {standby_address_, true}});  // the fenced one, listed again as a standby
}

// A holder that lost every node while a standby is listed (here every node
// is stopped; so it is when the holder alone is cut off from them) steps
// down after two lease periods, and holds off claiming again: the standby
// claims the shards, and the nodes, woken, join it.
TEST_F(failover_test, AHolderWithoutNodesStepsDownForTheStandby) {
  deploy("chain_spread.yaml");
  wait_until_held("chain", 3);
  wait_for_listed({{address_, true}, {standby_address_, false}});  // it knows the standby is there
  if (HasFatalFailure()) return;
  auto before = said_now();
  std::size_t said_before = coordinator_.said.size();
  for (auto& [name, m] : nodes_) m.proc.kill(SIGSTOP);
  wait_for(coordinator_, "stepping down: it has had no node for ", 30s, said_before);
  // (It started over holding off its claim: the standby's, even if it was slow to look.)
  wait_for(standby_, "holds the shards as", 30s);
  for (auto& [name, m] : nodes_) m.proc.kill(SIGCONT);
  follow_the_standby(before);
  if (HasFatalFailure()) return;
  auto r = client_->invoke("chain", {"again"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<AGAIN>");
  wait_for(coordinator_, "standing by: " + standby_address_, 30s, said_before);
  wait_for_listed({{address_, false}, {standby_address_, true}});
}

// The holder reaches etcd through a link the test cuts: a partition between
// it and etcd alone; its nodes and clients still reach it.
class cut_off_test : public failover_test {
 protected:
  std::vector<std::string> coordinator_extra() const override {
    auto extra = failover_test::coordinator_extra();
    if (coordinator_.name.empty()) extra[1] = link_.address();  // the first launched: the holder
    return extra;
  }
  mutable tcp_capture link_{etcd_.endpoint(0)};
};

TEST_F(cut_off_test, AHolderCutOffFromEtcdPausesAndItsNodesJoinTheNewHolder) {
  deploy("chain_spread.yaml");
  deploy("naps.yaml");
  deploy("holds.yaml");
  wait_until_held("chain", 3);
  wait_until_held("naps", 3);
  wait_until_held("holds", 3);
  wait_for_nodes_listed_by(address_);
  if (HasFatalFailure()) return;
  // Another runs a direct invoke on a node until released: that node lets it
  // end before it starts over to join the new holder.
  auto released = log_.string() + ".released";
  std::optional<result<invocation_result>> held;
  std::thread direct([&] {
    auto c = client::connect(coordinators());
    if (!c.ok()) return held.emplace(c.error()), void();
    held.emplace(c->invoke("holds", {released}, 60s));
  });
  auto release = [&] {  // (on every way out: the thread must end)
    std::ofstream{released};
    if (direct.joinable()) direct.join();
  };
  std::string runner;
  for (auto until = std::chrono::steady_clock::now() + 20s; runner.empty() && std::chrono::steady_clock::now() < until;) {
    for (auto& e : executions())
      if (e.function == "hold") runner = e.node;
    if (runner.empty()) ::poll(nullptr, 0, 20);  // (the execution log is a file)
  }
  if (runner.empty()) release();
  ASSERT_FALSE(runner.empty()) << "the held invoke never ran";
  // A client waits on the holder for a session that outlasts its pause: told
  // the holder is paused, it asks the new holder, which ran the session again.
  std::optional<result<invocation_result>> waited;
  std::thread waiter([&] {
    auto c = client::connect(coordinators());
    if (!c.ok()) return waited.emplace(c.error()), void();
    c->set_direct_invokes(false);  // it waits on the holder
    waited.emplace(c->invoke("naps", {"8000"}, 60s));
  });
  auto db = durable::etcd::open(etcd_.endpoint());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  EXPECT_EQ(count_keys_until(*db, "trail/sessions/", [](std::size_t n) { return n >= 1; }, 20s), 1u);
  auto before = said_now();
  std::size_t holder_said = coordinator_.said.size();
  link_.cut();
  auto cut_at = std::chrono::steady_clock::now();
  // Its lease runs out by its own clock before etcd's: it pauses first, then the standby claims.
  wait_for(coordinator_, "paused (its lease on the shards may have run out", 30s, holder_said);
  auto paused_status = client_->status_json();  // it still answers, and says why it does not act
  ASSERT_TRUE(paused_status.ok()) << paused_status.error().to_string();
  EXPECT_NE(nlohmann::json::parse(*paused_status)["coordinator"].value("paused", "").find("may have run out"),
            std::string::npos)
      << *paused_status;
  auto said = run_program(TRAIL_CLI_PATH, {"--connect", address_, "status"});  // as an operator sees it
  EXPECT_EQ(said.code, 0) << said.err;
  EXPECT_NE(said.out.find("\npaused: its lease on the shards may have run out"), std::string::npos) << said.out;
  wait_for(standby_, "holds the shards as", 30s);
  if (HasFatalFailure()) return release();
  wait_for(nodes_.at(runner), "starting over once the 1 invokes clients sent here end", 30s, before.at(runner));
  release();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(held && held->ok()) << (held ? held->error().to_string() : "no answer");
  EXPECT_EQ((*held)->output, "released");
  follow_the_standby(before);  // (a paused holder refuses joins: they join the standby)
  if (HasFatalFailure()) return;
  std::size_t holds = 0;
  for (auto& e : executions()) holds += e.function == "hold";
  EXPECT_EQ(holds, 1u) << "the held invoke ran more than once";
  for (auto& [name, m] : nodes_)
    EXPECT_NE(m.said.find("may no longer hold the shards", before.at(name)), std::string::npos) << name << ":\n" << m.said;
  wait_for_nodes_listed_by(standby_address_);
  if (HasFatalFailure()) return;
  RecordProperty("nodes_moved_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - cut_at).count()));
  auto r = client_->invoke("chain", {"across"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<ACROSS>");
  waiter.join();
  ASSERT_TRUE(waited && waited->ok()) << (waited ? waited->error().to_string() : "no answer");
  EXPECT_EQ((*waited)->output, "rested");
  // A deploy sent to the paused holder (the first of the list, which still
  // answers) is done by the new one.
  auto d = client::connect(coordinators());
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  auto deployed = d->deploy(cluster_apps + "chain_spread.yaml");
  ASSERT_TRUE(deployed.ok()) << deployed.error().to_string();
  EXPECT_EQ(deployed->rfind("chain v2", 0), 0u) << *deployed;

  link_.heal();  // it learns its lease is gone, and stands by behind the new holder
  wait_for(coordinator_, "fenced: ", 30s, holder_said);
  wait_for(coordinator_, "standing by: " + standby_address_, 30s, holder_said);
  r = client_->invoke("chain", {"healed"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<HEALED>");
  wait_for_nodes_listed_by(standby_address_);  // every node still with the new holder
}

}  // namespace
}  // namespace trail::testing
