// A real cluster on loopback: a `trail-coordinator` and three `trail-node
// --coordinator` processes (n1, n2, n3) on free ports, and a client connected
// to the coordinator. Every function of tests/apps/cluster notes its
// executions in one log file (see cluster.cpp); executions() reads it.
#pragma once

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <trail/client.hpp>

#include "../support/tls_files.hpp"
#include "actors/net/auth.hpp"
#include "shm/process.hpp"
#include "shm/segment.hpp"

namespace trail::testing {

using namespace std::chrono_literals;

inline const std::string cluster_apps = std::string(TRAIL_TEST_APPS_DIR) + "/cluster/";

// One execution noted by a test function.
struct execution {
  std::string node, function;
  std::uint64_t session = 0;
  std::uint32_t attempt = 0;
  std::string extra;
};

struct member {
  std::string name;
  shm::child_process proc;
  std::string said;  // everything it printed so far
  bool expect_clean_exit = true;
};

class cluster_test : public ::testing::Test {
 protected:
  // Stores big enough for the big-object test on demand.
  virtual std::string store_size() const { return "64M"; }
  // Nodes started before the test body (n1, n2, ...).
  virtual int initial_nodes() const { return 3; }
  // More arguments for the coordinator (e.g. --metrics), and for every node.
  virtual std::vector<std::string> coordinator_extra() const { return {}; }
  virtual std::vector<std::string> node_extra() const { return {}; }

  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(test.begin(), test.end(), '/', '_');  // parameterized names
    log_ = std::filesystem::temp_directory_path() / ("trail-cluster-test-" + std::to_string(::getpid()) + "-" + test);
    std::filesystem::remove(log_);
    ::setenv("TRAIL_TEST_LOG", log_.c_str(), 1);
    // TRAIL_TEST_WITH_SECRET=1 (ctest's cluster.with_secret): the same test
    // with a cluster secret, which the coordinator, the nodes and the
    // client all take from TRAIL_SECRET_FILE.
    if (std::getenv("TRAIL_TEST_WITH_SECRET") && !std::getenv("TRAIL_SECRET_FILE")) {
      own_secret_ = log_.string() + ".secret";
      std::filesystem::remove(own_secret_);
      auto k = net::create_key(own_secret_);
      ASSERT_TRUE(k.ok()) << k.error().to_string();
      ::setenv("TRAIL_SECRET_FILE", own_secret_.c_str(), 1);
    }
    // TRAIL_TEST_WITH_TLS=1 (ctest's cluster.with_tls): the same test with
    // TLS on every wire (clients', and between members: the node wire, the
    // data path, the control port), from the environment.
    if (std::getenv("TRAIL_TEST_WITH_TLS") && !std::getenv("TRAIL_TLS_CA")) {
      tls_.emplace();
      ::setenv("TRAIL_TLS_CERT", tls_->cert().c_str(), 1);
      ::setenv("TRAIL_TLS_KEY", tls_->key().c_str(), 1);
      ::setenv("TRAIL_TLS_CA", tls_->ca().c_str(), 1);
    }
    start_coordinator();
    for (int i = 1; i <= initial_nodes(); ++i) start_node("n" + std::to_string(i));
    for (auto& [name, m] : nodes_) wait_for(m, "joined ", 20s);
    auto c = client::connect(address_);
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    client_.emplace(std::move(*c));
  }

  void TearDown() override {
    client_.reset();
    for (auto& [name, m] : nodes_) stop(m);
    stop(coordinator_);
    if (HasFailure() || std::getenv("TRAIL_TEST_VERBOSE")) {  // what every process said, to see why
      std::fprintf(stderr, "--- coordinator:\n%s", coordinator_.said.c_str());
      for (auto& [name, m] : nodes_) std::fprintf(stderr, "--- %s:\n%s", name.c_str(), m.said.c_str());
    }
    if (std::getenv("TRAIL_TEST_VERBOSE")) {
      std::ifstream in(log_);
      std::fprintf(stderr, "--- executions:\n%s", std::string(std::istreambuf_iterator<char>(in), {}).c_str());
    }
    std::error_code ec;
    std::filesystem::remove(log_, ec);
    if (!own_secret_.empty()) {
      ::unsetenv("TRAIL_SECRET_FILE");
      std::filesystem::remove(own_secret_, ec);
    }
    if (tls_) {
      for (const char* v : {"TRAIL_TLS_CERT", "TRAIL_TLS_KEY", "TRAIL_TLS_CA"}) ::unsetenv(v);
      tls_.reset();
    }
  }

  // Starts a trail-coordinator as member `m` on `listen`, with coordinator_extra().
  void launch_coordinator(member& m, const std::string& name, const std::string& listen,
                          const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"--listen", listen, "--shards", "2"};
    for (auto& a : coordinator_extra()) args.push_back(a);
    for (auto& a : extra) args.push_back(a);
    auto p = shm::child_process::launch({TRAIL_COORDINATOR_PATH, args, {}});
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    m.name = name;
    m.proc = std::move(*p);
    m.said.clear();
    m.expect_clean_exit = true;
  }

  // What nodes are given as --coordinator (node `name`: coordinators_for).
  virtual std::string coordinators() const { return address_; }
  virtual std::string coordinators_for(const std::string& /*name*/) const { return coordinators(); }

  // `listen`: the address again after a restart; empty: any free port.
  void start_coordinator(std::string listen = "127.0.0.1:0") {
    launch_coordinator(coordinator_, "coordinator", listen);
    if (HasFatalFailure()) return;
    wait_for(coordinator_, "listening on ", 20s);
    auto at = coordinator_.said.find("listening on ") + 13;
    address_ = coordinator_.said.substr(at, coordinator_.said.find('\n', at) - at);
  }

  // The client-wire address node `name` printed ("listening on HOST:PORT");
  // a node may say it after "joined ", so this waits for the line itself.
  std::string node_address(const std::string& name) {
    auto& m = nodes_.at(name);
    wait_for(m, "listening on ", 10s);
    auto at = m.said.find("listening on ");
    if (at == std::string::npos) return {};
    at += 13;
    return m.said.substr(at, m.said.find('\n', at) - at);
  }

  // After the coordinator died: starts it again on its address, waits until
  // every node rejoined it (they retry on their own), and reconnects the client.
  void start_coordinator_again() {
    std::map<std::string, std::size_t> said_before;
    for (auto& [name, m] : nodes_) said_before[name] = m.said.size();
    start_coordinator(address_);
    for (auto& [name, m] : nodes_) wait_for(m, "joined ", 30s, said_before[name]);
    auto c = client::connect(address_);
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    client_.emplace(std::move(*c));
  }

  void start_node(const std::string& name, std::vector<std::string> extra = {},
                  const std::string& listen = "127.0.0.1:0") {
    ::setenv("TRAIL_TEST_NODE", name.c_str(), 1);
    std::vector<std::string> args{"--coordinator", coordinators_for(name), "--listen", listen, "--name", name,
                                  "--executors", "2", "--store-size", store_size()};
    for (auto& a : node_extra()) args.push_back(a);
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = shm::child_process::launch({TRAIL_NODE_PATH, args, {}});
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    auto& m = nodes_[name];
    m.name = name;
    m.proc = std::move(*p);
    m.said.clear();
    m.expect_clean_exit = true;
  }

  // Reads what `m` prints until `needle` shows up in a complete line.
  void wait_for(member& m, const std::string& needle, std::chrono::milliseconds timeout, std::size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto at = m.said.find(needle, from);
      if (at != std::string::npos && m.said.find('\n', at) != std::string::npos) return;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      ASSERT_GT(left.count(), 0) << m.name << " never said '" << needle << "'; it said:\n" << m.said;
      pollfd pfd{m.proc.output_fd(), POLLIN, 0};
      ::poll(&pfd, 1, static_cast<int>(left.count()));
      ASSERT_TRUE(drain(m) || m.proc.running()) << m.name << " exited; it said:\n" << m.said;
    }
  }

  // Reads whatever `m` printed; false at end of output.
  bool drain(member& m) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(m.proc.output_fd(), buf, sizeof buf)) > 0) m.said.append(buf, static_cast<std::size_t>(n));
    return n != 0;
  }
  void drain_all() {
    drain(coordinator_);
    for (auto& [name, m] : nodes_) drain(m);
  }

  // SIGTERM; a member that was not killed on purpose must exit 0 and leave no segments.
  void stop(member& m) {
    if (m.proc.pid() <= 0) return;
    int pid = m.proc.pid();
    if (m.proc.running()) m.proc.kill(SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + 20s;
    std::string how;
    while ((how = m.proc.try_reap()).empty() && std::chrono::steady_clock::now() < deadline) {
      pollfd fds[2] = {{m.proc.pidfd(), POLLIN, 0}, {m.proc.output_fd(), POLLIN, 0}};
      ::poll(fds, 2, 1000);
      drain(m);
    }
    drain(m);
    if (!m.expect_clean_exit) return;
    EXPECT_EQ(how, "exited with status 0") << m.name << " said:\n" << m.said;
    for (auto& e : std::filesystem::directory_iterator("/dev/shm")) {
      shm::process_identity owner;
      if (shm::parse_owner(e.path().filename().string(), owner)) {
        EXPECT_NE(owner.pid, pid) << "left behind: " << e.path();
      }
    }
  }

  // Waits until `holders` nodes hold `app` (deployments reach nodes
  // asynchronously when they join).
  void wait_until_held(const std::string& app, std::size_t holders) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto st = client_->status_json();
      ASSERT_TRUE(st.ok()) << st.error().to_string();
      auto j = nlohmann::json::parse(*st);
      for (auto& sh : j["shards"])
        if (sh["apps"].contains(app) && sh["apps"][app]["holders"].size() >= holders) return;
      drain_all();
      ::poll(nullptr, 0, 20);
    }
    FAIL() << app << " never reached " << holders << " nodes";
  }

  // Kills node `name` with `sig` (it is not expected to exit cleanly).
  void signal_node(const std::string& name, int sig) {
    auto& m = nodes_.at(name);
    if (sig == SIGKILL) m.expect_clean_exit = false;
    m.proc.kill(sig);
  }

  void deploy(const std::string& manifest) {
    auto r = client_->deploy(cluster_apps + manifest);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }

  std::vector<execution> executions() const {
    std::vector<execution> out;
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      execution e;
      words >> e.node >> e.function >> e.session >> e.attempt;
      std::getline(words, e.extra);
      out.push_back(std::move(e));
    }
    return out;
  }

  std::filesystem::path log_;
  std::filesystem::path own_secret_;  // the cluster secret this test made (TRAIL_TEST_WITH_SECRET)
  std::optional<tls_files> tls_;      // its TLS files (TRAIL_TEST_WITH_TLS)
  member coordinator_;
  std::map<std::string, member> nodes_;
  std::string address_;
  std::optional<client> client_;
};

}  // namespace trail::testing
