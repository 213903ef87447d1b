#include "actors/net/socket.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include <trail/check.hpp>

namespace trail::net {
namespace {

std::string error_text(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

// Waits until `fd` is ready for `events`, at most `timeout_ms` (-1: no limit).
// ok, or unavailable: stopped, timed out, or poll failed.
status wait_ready(int fd, short events, const stop_signal& stop, int timeout_ms) {
  pollfd p[2] = {{fd, events, 0}, {stop.fd(), POLLIN, 0}};
  for (;;) {
    int r = ::poll(p, 2, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return status::unavailable(error_text("poll", errno));
    if (p[1].revents != 0) return status::unavailable("stopped: the transfer service is shutting down");
    if (r == 0)
      return status::unavailable("peer silent for " + std::to_string(timeout_ms) + " ms");
    return {};  // ready, or an error the next syscall reports
  }
}

status wait_ready(int fd, short events, const io_limits& io) {
  TRAIL_REQUIRE(io.stop != nullptr, "io_limits without a stop signal");
  return wait_ready(fd, events, *io.stop, static_cast<int>(io.timeout.count()));
}

// The unfinished part of an iovec list.
class iov_cursor {
 public:
  explicit iov_cursor(std::span<const iovec> parts) {
    TRAIL_REQUIRE(parts.size() <= v_.size(), parts.size());
    for (const iovec& p : parts)
      if (p.iov_len > 0) v_[count_++] = p;
  }
  bool done() const { return first_ == count_; }
  msghdr message() {
    msghdr m{};
    m.msg_iov = v_.data() + first_;
    m.msg_iovlen = count_ - first_;
    return m;
  }
  void advance(std::size_t n) {
    while (n > 0) {
      iovec& p = v_[first_];
      std::size_t step = std::min(n, p.iov_len);
      p.iov_base = static_cast<char*>(p.iov_base) + step;
      p.iov_len -= step;
      n -= step;
      if (p.iov_len == 0) ++first_;
    }
  }

 private:
  std::array<iovec, 4> v_{};
  std::size_t first_ = 0;
  std::size_t count_ = 0;
};

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

struct addrinfo_deleter {
  void operator()(addrinfo* a) const { ::freeaddrinfo(a); }
};
using addrinfo_ptr = std::unique_ptr<addrinfo, addrinfo_deleter>;

result<addrinfo_ptr> resolve(const std::string& host, const std::string& port, int flags) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags | AI_NUMERICSERV;
  addrinfo* out = nullptr;
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &out);
  if (rc != 0)
    return status::unavailable("cannot resolve '" + host + "': " + ::gai_strerror(rc));
  return addrinfo_ptr(out);
}

// "host:port" or "[v6]:port" -> (host, port).
result<std::pair<std::string, std::string>> split_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size())
    return status::invalid("address '" + address + "' is not host:port");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::pair{host, address.substr(colon + 1)};
}

// Completes a non-blocking connect within `io.timeout`.
status finish_connect(int fd, const sockaddr* addr, socklen_t len, const io_limits& io) {
  if (::connect(fd, addr, len) == 0) return {};
  if (errno != EINPROGRESS) return status::unavailable(error_text("connect", errno));
  if (auto s = wait_ready(fd, POLLOUT, io); !s) return s;
  int err = 0;
  socklen_t n = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n);
  return err == 0 ? status{} : status::unavailable(error_text("connect", err));
}

// "host:port", or "[v6]:port".
std::string address_text(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
  ::inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(v4->sin_port));
}

}  // namespace

// -- stop_signal ----------------------------------------------------------------

stop_signal::stop_signal() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  TRAIL_ASSERT(fd_ >= 0, "eventfd", std::strerror(errno));
}

stop_signal::~stop_signal() { ::close(fd_); }

void stop_signal::raise() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);  // never read: stays readable
}

bool stop_signal::raised() const { return wait_for(std::chrono::milliseconds(0)); }

bool stop_signal::wait_for(std::chrono::milliseconds d) const {
  pollfd p{fd_, POLLIN, 0};
  int r;
  while ((r = ::poll(&p, 1, static_cast<int>(d.count()))) < 0 && errno == EINTR) {}
  return r > 0;
}

// -- socket ---------------------------------------------------------------------

void socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

result<std::size_t> socket::read_at_least(std::span<const iovec> parts, std::size_t at_least,
                                          const io_limits& io) {
  iov_cursor c(parts);
  std::size_t got = 0;
  while (got < at_least && !c.done()) {
    msghdr m = c.message();
    ssize_t n = ::recvmsg(fd_, &m, 0);
    if (n > 0) {
      c.advance(static_cast<std::size_t>(n));
      got += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) return status::unavailable("connection closed by the peer");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return status::unavailable(error_text("recv", errno));
    if (auto s = wait_ready(fd_, POLLIN, io); !s) return s;
  }
  return got;
}

status socket::read(std::span<const iovec> parts, const io_limits& io) {
  std::size_t total = 0;
  for (const iovec& p : parts) total += p.iov_len;
  auto got = read_at_least(parts, total, io);
  return got ? status{} : got.error();
}

status socket::read(std::span<std::byte> into, const io_limits& io) {
  iovec part = io_part(into.data(), into.size());
  return read({&part, 1}, io);
}

status socket::write(std::span<const iovec> parts, const io_limits& io) {
  iov_cursor c(parts);
  while (!c.done()) {
    msghdr m = c.message();
    ssize_t n = ::sendmsg(fd_, &m, MSG_NOSIGNAL);
    if (n >= 0) {
      c.advance(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return status::unavailable(error_text("send", errno));
    if (auto s = wait_ready(fd_, POLLOUT, io); !s) return s;
  }
  return {};
}

bool socket::readable() const {
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

std::string socket::local_address() const {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) return "";
  return address_text(a);
}

std::string socket::peer_address() const {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) return "";
  return address_text(a);
}

// -- listen, accept, connect --------------------------------------------------------

result<socket> listen_on(const std::string& host, std::uint16_t port) {
  std::string where = host + ":" + std::to_string(port);
  auto ai = resolve(host, std::to_string(port), AI_PASSIVE);
  if (!ai) return status::unavailable("cannot listen on " + where + ": " + ai.error().message());
  int err = 0;
  for (addrinfo* a = ai->get(); a; a = a->ai_next) {
    socket s(::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.valid()) { err = errno; continue; }
    int one = 1;
    ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.fd(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(s.fd(), 128) == 0) return s;
    err = errno;
  }
  return status::unavailable("cannot listen on " + where + ": " + std::strerror(err));
}

result<socket> accept_from(const socket& listener, const stop_signal& stop) {
  for (;;) {
    int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      set_nodelay(fd);
      return socket(fd);
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return status::unavailable(error_text("accept", errno));
    if (auto s = wait_ready(listener.fd(), POLLIN, stop, -1); !s) return s;
  }
}

result<socket> connect_to(const std::string& address, const io_limits& io) {
  auto parts = split_address(address);
  if (!parts) return parts.error();
  auto ai = resolve(parts->first, parts->second, 0);
  if (!ai) return ai.error();
  status last = status::unavailable("no address for " + address);
  for (addrinfo* a = ai->get(); a; a = a->ai_next) {
    socket s(::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.valid()) return status::unavailable(error_text("socket", errno));
    last = finish_connect(s.fd(), a->ai_addr, a->ai_addrlen, io);
    if (!last) continue;
    set_nodelay(s.fd());
    return s;
  }
  return status::unavailable("cannot connect to " + address + ": " + last.message());
}

result<socket> start_connect(const std::string& address) {
  auto parts = split_address(address);
  if (!parts) return parts.error();
  auto ai = resolve(parts->first, parts->second, 0);
  if (!ai) return ai.error();
  addrinfo* a = ai->get();
  if (!a) return status::unavailable("no address for " + address);
  socket s(::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.valid()) return status::unavailable(error_text("socket", errno));
  if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS)
    return status::unavailable("cannot connect to " + address + ": " + error_text("connect", errno));
  set_nodelay(s.fd());
  return s;
}

status connect_outcome(const socket& s) {
  int err = 0;
  socklen_t n = sizeof err;
  if (::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &n) != 0) err = errno;
  return err == 0 ? status{} : status::unavailable(error_text("connect", err));
}

}  // namespace trail::net
