// Real etcd members on loopback for tests: their own data dirs under TMPDIR
// and free ports, started with the Debian etcd binary; killed and their
// data removed at the end.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "actors/durable/etcd.hpp"
#include "actors/durable/local_etcd.hpp"
#include "shm/process.hpp"
#include "temp_dir.hpp"

namespace trail::testing {

// A loopback port nobody listens on right now.
inline int free_port() { return durable::free_loopback_port(); }

// A real etcd on loopback, one member or several (3: what a deployment that
// survives the loss of a machine runs). Each member has its own data dir
// and ports; kill(i) SIGKILLs one, restart(i) starts it again on its ports
// and data; without `i`, every member. Elections are quick (50 ms
// heartbeats, 500 ms election timeout) so a lost leader is replaced soon.
class etcd_cluster {
 public:
  explicit etcd_cluster(int members = 1) : members_(static_cast<std::size_t>(members)) {
    // A port free_port() found may be taken by another process before etcd
    // binds it; that member then exits. Start again on new ports, twice.
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto ports = durable::free_loopback_ports(2 * members_.size());
      for (std::size_t i = 0; i < members_.size(); ++i) members_[i].client_port = ports[2 * i], members_[i].peer_port = ports[2 * i + 1];
      for (std::size_t i = 0; i < members_.size(); ++i) launch(i);
      if (all_running() && answers(endpoint()) && all_running()) return;
      kill();
      std::error_code ec;
      for (std::size_t i = 0; i < members_.size(); ++i) std::filesystem::remove_all(dir_.path() / ("m" + std::to_string(i)), ec);
    }
    ADD_FAILURE() << "etcd did not start on free ports in 3 tries";
  }

  // Every member's client address, comma-separated (what --etcd takes).
  std::string endpoint() const {
    std::string all;
    for (std::size_t i = 0; i < members_.size(); ++i) all += (i ? "," : "") + endpoint(i);
    return all;
  }
  std::string endpoint(std::size_t i) const { return "127.0.0.1:" + std::to_string(members_[i].client_port); }

  void kill(std::size_t i) {
    members_[i].proc.kill(SIGKILL);
    members_[i].proc = {};
  }
  void kill() {
    for (std::size_t i = 0; i < members_.size(); ++i) kill(i);
  }
  void restart(std::size_t i) {
    kill(i);
    launch(i);
    wait_ready(endpoint(i));
  }
  void restart() {
    kill();
    for (std::size_t i = 0; i < members_.size(); ++i) launch(i);
    wait_ready(endpoint());
  }

 private:
  struct member {
    int client_port = 0, peer_port = 0;
    shm::child_process proc;
  };

  std::string peer_url(std::size_t i) const { return "http://127.0.0.1:" + std::to_string(members_[i].peer_port); }

  void launch(std::size_t i) {
    std::string name = "m" + std::to_string(i), client = "http://" + endpoint(i), cluster;
    for (std::size_t j = 0; j < members_.size(); ++j) cluster += (j ? "," : "") + ("m" + std::to_string(j)) + "=" + peer_url(j);
    auto p = shm::child_process::launch(
        {"/usr/bin/etcd",
         {"--name", name, "--data-dir", (dir_.path() / name).string(), "--listen-client-urls", client,
          "--advertise-client-urls", client, "--listen-peer-urls", peer_url(i), "--initial-advertise-peer-urls",
          peer_url(i), "--initial-cluster", cluster, "--heartbeat-interval", "50", "--election-timeout", "500",
          "--log-level", "error"},
         {}});
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    members_[i].proc = std::move(*p);
  }

  bool all_running() {
    for (auto& m : members_) {
      (void)m.proc.try_reap();
      if (!m.proc.running()) return false;
    }
    return true;
  }
  static bool answers(const std::string& endpoints) {
    auto db = durable::etcd::open(endpoints, std::chrono::seconds(20));
    return db.ok() && db->get("trail/ready").ok();
  }

  // Ready when a read through `endpoints` is answered (the client tries
  // again, within its timeout, until there is a leader).
  void wait_ready(const std::string& endpoints) {
    auto db = durable::etcd::open(endpoints, std::chrono::seconds(20));
    ASSERT_TRUE(db.ok());
    auto r = db->get("trail/ready");
    ASSERT_TRUE(r.ok()) << "etcd never answered at " << endpoints << ": " << r.error().to_string();
    for (auto& m : members_)
      if (m.proc.pid() > 0) {
        ASSERT_TRUE(m.proc.try_reap().empty()) << "an etcd member exited";
      }
  }

  temp_dir dir_;
  std::vector<member> members_;
};

using etcd_member = etcd_cluster;  // one member

// The number of keys under `prefix` once `done(count)` holds, or when
// `within` is up (what a test then asserts on). Asks etcd again and again:
// the keys change as the cluster works, not at a moment the test knows.
template <class Done>
std::size_t count_keys_until(durable::etcd& db, const std::string& prefix, Done done,
                             std::chrono::milliseconds within) {
  std::size_t n = 0;
  for (auto until = std::chrono::steady_clock::now() + within; std::chrono::steady_clock::now() < until;) {
    auto kept = db.range(prefix);
    EXPECT_TRUE(kept.ok()) << kept.error().to_string();
    if (!kept.ok()) return n;
    if (done(n = kept->size())) break;
    ::poll(nullptr, 0, 10);  // (a poll interval: etcd has no cheap watch through its gateway here)
  }
  return n;
}

}  // namespace trail::testing
