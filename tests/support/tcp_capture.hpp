// A relay on loopback that keeps every byte it forwards, both ways: what a
// tap on the network between a client and a server would see. Tests put it
// in front of a server and look for plaintext in what crossed. It is also a
// link a test can cut (a partition between the client and the server
// alone: its connections break, new ones are dropped) and heal (net::link).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>

#include "actors/net/link.hpp"

namespace trail::testing {

class tcp_capture {
 public:
  explicit tcp_capture(std::string target) {
    auto l = net::link::open(std::move(target), [this](std::string_view part) {
      std::lock_guard lock(mu_);
      seen_.append(part);
    });
    EXPECT_TRUE(l.ok()) << l.error().to_string();
    if (l.ok()) link_ = std::move(*l);
  }

  std::string address() const { return link_ ? link_->address() : std::string("127.0.0.1:1"); }
  std::string bytes() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  void cut() { link_->cut(); }
  void heal() { link_->heal(); }

 private:
  mutable std::mutex mu_;
  std::string seen_;
  std::unique_ptr<net::link> link_;  // (last: its threads end before what they append to)
};

}  // namespace trail::testing
