#include "actors/net/link.hpp"

#include <sys/socket.h>

#include <chrono>

namespace trail::net {

result<std::unique_ptr<link>> link::open(std::string target, observer seen) {
  auto l = listen_on("127.0.0.1", 0);
  if (!l) return l.error();
  return std::unique_ptr<link>(new link(std::move(target), std::move(*l), std::move(seen)));
}

link::link(std::string target, socket listener, observer seen)
    : target_(std::move(target)), listener_(std::move(listener)), seen_(std::move(seen)) {
  acceptor_ = std::thread([this] { accept_all(); });
}

link::~link() {
  stop_.raise();
  cut();  // (copies blocked in a read end now)
  acceptor_.join();
  for (auto& t : relays_) t.join();
}

void link::cut() {
  std::lock_guard lock(mu_);
  cut_ = true;
  for (auto& w : open_)
    if (auto s = w.lock()) ::shutdown(s->fd(), SHUT_RDWR);
  open_.clear();
}

void link::heal() {
  std::lock_guard lock(mu_);
  cut_ = false;
}

bool link::is_cut() const {
  std::lock_guard lock(mu_);
  return cut_;
}

void link::accept_all() {
  for (;;) {
    auto from = accept_from(listener_, stop_);
    if (!from) return;  // stopped
    if (is_cut()) continue;  // (closed as it goes)
    auto to = connect_to(target_, {&stop_, std::chrono::seconds(5)});
    if (!to) continue;
    auto a = std::make_shared<socket>(std::move(*from));
    auto b = std::make_shared<socket>(std::move(*to));
    {
      std::lock_guard lock(mu_);
      if (cut_) continue;  // cut while connecting
      std::erase_if(open_, [](auto& w) { return w.expired(); });
      open_.push_back(a);
      open_.push_back(b);
    }
    relays_.emplace_back([this, a, b] { relay(*a, *b); });
    relays_.emplace_back([this, a, b] { relay(*b, *a); });
  }
}

// Copies `in` to `out` until `in` ends, then ends `out`'s writing side.
void link::relay(socket& in, socket& out) {
  char buf[16 << 10];
  for (;;) {
    iovec part = io_part(buf, sizeof buf);
    auto n = in.read_at_least({&part, 1}, 1, {&stop_, std::chrono::hours(1)});
    if (!n) break;
    if (seen_) seen_(std::string_view(buf, *n));
    iovec back = io_part(buf, *n);
    if (!out.write({&back, 1}, {&stop_, std::chrono::seconds(10)}).ok()) break;
  }
  ::shutdown(out.fd(), SHUT_WR);
}

}  // namespace trail::net
