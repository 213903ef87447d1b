// A real one-member etcd on loopback for tests: its own data dir under
// TMPDIR and free ports, started with the Debian etcd binary; killed and
// its data removed at the end. restart() starts it again on the same ports
// and data (what survives an etcd restart).
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

#include "actors/durable/etcd.hpp"
#include "shm/process.hpp"
#include "temp_dir.hpp"

namespace trail::testing {

// A loopback port nobody listens on right now.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class etcd_member {
 public:
  etcd_member() : client_port_(free_port()), peer_port_(free_port()) { start(); }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }

  void kill() {
    proc_.kill(SIGKILL);
    proc_ = {};
  }
  void restart() {
    kill();
    start();
  }

 private:
  void start() {
    std::string client = "http://" + endpoint(), peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    auto p = shm::child_process::launch(
        {"/usr/bin/etcd",
         {"--name", "default", "--data-dir", (dir_.path() / "data").string(), "--listen-client-urls", client,
          "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
          "--initial-cluster", "default=" + peer, "--log-level", "error"},
         {}});
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    proc_ = std::move(*p);
    // Ready when it answers (each try is a request with its own timeout).
    auto db = durable::etcd::open(endpoint(), std::chrono::milliseconds(500));
    ASSERT_TRUE(db.ok());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    status last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = db->get("trail/ready");
      if (r.ok()) return;
      last = r.error();
      ASSERT_TRUE(proc_.try_reap().empty()) << "etcd exited: " << last.to_string();
      ::poll(nullptr, 0, 20);  // between tries; the deadline bounds the wait
    }
    FAIL() << "etcd never answered: " << last.to_string();
  }

  temp_dir dir_;
  int client_port_, peer_port_;
  shm::child_process proc_;
};

}  // namespace trail::testing
