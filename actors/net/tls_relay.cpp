#include "actors/net/tls_relay.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

namespace trail::net {

struct tls_relay::state {
  stream tls;    // the peer's side, TLS
  socket local;  // our end of the socketpair
  stop_signal stop;
  std::atomic<bool> ended{false};
  std::string to_peer;   // cipher bytes not sent yet
  std::string to_local;  // plaintext not written yet

  // Moves what the engine decrypted to to_local, and what it wants sent
  // (post-handshake messages) to to_peer. False: the TLS stream ended or broke.
  bool drain(tls_engine& e, std::vector<std::byte>& buf) {
    for (;;) {
      auto n = e.read(buf);
      if (!n) return false;
      if (*n == 0) break;
      to_local.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    e.take_output(to_peer);
    return true;
  }

  // Sends what `out` holds on `fd`, as far as the socket takes it. False: broken.
  static bool send_some(int fd, std::string& out) {
    while (!out.empty()) {
      ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      out.erase(0, static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads what arrived on `fd` into `buf`. 0: closed or broken.
  static ssize_t receive(int fd, std::vector<std::byte>& buf) {
    for (;;) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
    }
  }

  void run() {
    tls_engine& e = *tls.tls_;
    const int net = tls.sock_.fd(), loc = local.fd();
    std::vector<std::byte> buf(64u << 10);
    bool open = drain(e, buf);  // plaintext that came with the handshake's last flight
    while (open) {
      pollfd fds[3] = {{net, 0, 0}, {loc, 0, 0}, {stop.fd(), POLLIN, 0}};
      if (to_local.size() < max_buffered) fds[0].events |= POLLIN;
      if (!to_peer.empty()) fds[0].events |= POLLOUT;
      if (to_peer.size() < max_buffered) fds[1].events |= POLLIN;
      if (!to_local.empty()) fds[1].events |= POLLOUT;
      if (::poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[2].revents) break;
      constexpr short readable = POLLIN | POLLHUP | POLLERR;
      if (fds[0].revents & readable) {
        ssize_t n = receive(net, buf);
        if (n == 0) break;
        if (n > 0) {
          e.feed(std::span(buf.data(), static_cast<std::size_t>(n)));
          open = drain(e, buf);
        }
      }
      if (fds[1].revents & readable) {
        ssize_t n = receive(loc, buf);
        if (n == 0) break;
        if (n > 0) {
          open = open && e.write(std::span(buf.data(), static_cast<std::size_t>(n))).ok();
          e.take_output(to_peer);
        }
      }
      open = open && send_some(net, to_peer) && send_some(loc, to_local);
    }
    (void)send_some(net, to_peer);  // what the local side said last, if the socket takes it
    local.close();
    tls.close();
    ended = true;
  }
};

tls_relay::tls_relay(std::unique_ptr<state> s) : s_(std::move(s)) {
  state* raw = s_.get();
  thread_ = std::thread([raw] { raw->run(); });
}

tls_relay::~tls_relay() {
  s_->stop.raise();
  thread_.join();
}

bool tls_relay::ended() const { return s_->ended; }

result<std::pair<std::unique_ptr<tls_relay>, socket>> tls_relay::start(stream tls) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    return status::unavailable(std::string("cannot relay TLS: socketpair: ") + std::strerror(errno));
  auto s = std::make_unique<state>();
  s->tls = std::move(tls);
  s->local = socket(fds[0]);
  return std::pair{std::unique_ptr<tls_relay>(new tls_relay(std::move(s))), socket(fds[1])};
}

}  // namespace trail::net
