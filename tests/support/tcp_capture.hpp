// A relay on loopback that keeps every byte it forwards, both ways: what a
// tap on the network between a client and a server would see. Tests put it
// in front of a server and look for plaintext in what crossed. It is also a
// link a test can cut (a partition between the client and the server
// alone: its connections break, new ones are dropped) and heal.
#pragma once

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/net/socket.hpp"

namespace trail::testing {

class tcp_capture {
 public:
  explicit tcp_capture(std::string target) : target_(std::move(target)) {
    auto l = net::listen_on("127.0.0.1", 0);
    EXPECT_TRUE(l.ok()) << l.error().to_string();
    if (l.ok()) listener_ = std::move(*l);
    acceptor_ = std::thread([this] { accept_all(); });
  }
  ~tcp_capture() {
    stop_.raise();
    acceptor_.join();
    for (auto& t : relays_) t.join();
  }

  std::string address() const { return listener_.local_address(); }
  void cut() {
    std::lock_guard lock(mu_);
    cut_ = true;
    for (auto& s : open_) ::shutdown(s->fd(), SHUT_RDWR);
    open_.clear();
  }
  void heal() {
    std::lock_guard lock(mu_);
    cut_ = false;
  }
  std::string bytes() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void accept_all() {
    for (;;) {
      auto from = net::accept_from(listener_, stop_);
      if (!from) return;  // stopped
      {
        std::lock_guard lock(mu_);
        if (cut_) continue;  // (closed as it goes)
      }
      auto to = net::connect_to(target_, {&stop_, std::chrono::seconds(5)});
      if (!to) continue;
      auto a = std::make_shared<net::socket>(std::move(*from));
      auto b = std::make_shared<net::socket>(std::move(*to));
      {
        std::lock_guard lock(mu_);
        open_.push_back(a);
        open_.push_back(b);
      }
      relays_.emplace_back([this, a, b] { relay(*a, *b); });
      relays_.emplace_back([this, a, b] { relay(*b, *a); });
    }
  }

  // Copies `in` to `out` until `in` ends, keeping what passed.
  void relay(net::socket& in, net::socket& out) {
    char buf[16 << 10];
    for (;;) {
      iovec part = net::io_part(buf, sizeof buf);
      auto n = in.read_at_least({&part, 1}, 1, {&stop_, std::chrono::hours(1)});
      if (!n) break;
      {
        std::lock_guard lock(mu_);
        seen_.append(buf, *n);
      }
      iovec back = net::io_part(buf, *n);
      if (!out.write({&back, 1}, {&stop_, std::chrono::seconds(10)}).ok()) break;
    }
    ::shutdown(out.fd(), SHUT_WR);
  }

  std::string target_;
  net::socket listener_;
  net::stop_signal stop_;
  mutable std::mutex mu_;
  std::string seen_;
  bool cut_ = false;
  std::vector<std::shared_ptr<net::socket>> open_;  // shut down by cut()
  std::thread acceptor_;
  std::list<std::thread> relays_;  // (only the acceptor adds; joined at the end)
};

}  // namespace trail::testing
