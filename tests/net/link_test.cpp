// net::link: a loopback relay that carries bytes both ways, shows them to
// its observer, and can be cut (open connections break, new ones are
// closed) and healed.
#include "actors/net/link.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace trail::net {
namespace {

using namespace std::chrono_literals;

// Echoes every byte back, on every connection, until it ends.
class echo_server {
 public:
  echo_server() {
    auto l = listen_on("127.0.0.1", 0);
    EXPECT_TRUE(l.ok()) << l.error().to_string();
    listener_ = std::move(*l);
    acceptor_ = std::thread([this] {
      for (;;) {
        auto c = accept_from(listener_, stop_);
        if (!c) return;
        conns_.emplace_back([this, s = std::make_shared<socket>(std::move(*c))] {
          char buf[256];
          for (;;) {
            iovec part = io_part(buf, sizeof buf);
            auto n = s->read_at_least({&part, 1}, 1, {&stop_, 10s});
            if (!n) return;
            iovec back = io_part(buf, *n);
            if (!s->write({&back, 1}, {&stop_, 10s}).ok()) return;
          }
        });
      }
    });
  }
  ~echo_server() {
    stop_.raise();
    acceptor_.join();
    for (auto& t : conns_) t.join();
  }
  std::string address() const { return listener_.local_address(); }

 private:
  socket listener_;
  stop_signal stop_;
  std::thread acceptor_;
  std::vector<std::thread> conns_;
};

// Sends `text` and reads as many bytes back; the error if the link broke.
result<std::string> round_trip(socket& s, const std::string& text) {
  stop_signal never;
  iovec out = io_part(const_cast<char*>(text.data()), text.size());
  if (status w = s.write({&out, 1}, {&never, 5s}); !w.ok()) return w;
  std::string back(text.size(), '\0');
  iovec in = io_part(back.data(), back.size());
  if (status r = s.read({&in, 1}, {&never, 5s}); !r.ok()) return r;
  return back;
}

result<socket> dial(const link& l) {
  stop_signal never;
  return connect_to(l.address(), {&never, 5s});
}

TEST(link, RelaysBothWaysAndShowsWhatCrossed) {
  echo_server server;
  std::mutex mu;
  std::string seen;
  auto l = link::open(server.address(), [&](std::string_view part) {
    std::lock_guard lock(mu);
    seen.append(part);
  });
  ASSERT_TRUE(l.ok()) << l.error().to_string();
  auto s = dial(**l);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto back = round_trip(*s, "hello");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, "hello");
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, "hellohello");  // there and back
}

TEST(link, ACutBreaksOpenConnectionsAndDropsNewOnesUntilHealed) {
  echo_server server;
  auto l = link::open(server.address());
  ASSERT_TRUE(l.ok()) << l.error().to_string();
  auto before = dial(**l);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(round_trip(*before, "a").ok());

  (*l)->cut();
  EXPECT_FALSE(round_trip(*before, "b").ok()) << "a connection open at the cut still carries bytes";
  auto during = dial(**l);  // (the listener still accepts: then closes it)
  if (during.ok()) {
    EXPECT_FALSE(round_trip(*during, "c").ok()) << "a connection made while cut carries bytes";
  }

  (*l)->heal();
  auto after = dial(**l);
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  auto back = round_trip(*after, "d");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, "d");
}

}  // namespace
}  // namespace trail::net
