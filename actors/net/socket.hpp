// TCP sockets for the data path: blocking-style calls on non-blocking file
// descriptors, each bounded by a timeout and abandoned at once when the
// owning service raises its stop_signal.
//
// Every wait is a poll() on the socket *and* the stop signal's eventfd, so a
// destructor wakes every thread of the service — readers, writers, the accept
// loop and connects in progress (which shutdown() cannot wake) — by raising
// one signal. Writes use MSG_NOSIGNAL: a closed peer is an error, never SIGPIPE.
//
// Errors are trail::status: unavailable for everything the network does
// (refused, reset, closed, silent past the timeout, stopped), invalid_argument
// for an address that does not parse.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include <trail/status.hpp>

namespace trail::net {

// A level-triggered "stop now" shared by every socket of one service. Once
// raised it stays raised. Thread-safe.
class stop_signal {
 public:
  stop_signal();
  ~stop_signal();
  stop_signal(const stop_signal&) = delete;
  stop_signal& operator=(const stop_signal&) = delete;

  void raise();
  bool raised() const;
  // Waits up to `d` for the signal; true if it is raised.
  bool wait_for(std::chrono::milliseconds d) const;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// How long one call may wait for progress, and what cuts it short.
struct io_limits {
  const stop_signal* stop = nullptr;  // REQUIRES: non-null, outlives the call
  std::chrono::milliseconds timeout{2000};
};

// An owned, non-blocking TCP socket (or listener). Move-only; closes on
// destruction. One thread uses a socket at a time.
class socket {
 public:
  socket() = default;
  explicit socket(int fd) : fd_(fd) {}
  ~socket() { close(); }
  socket(socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  socket& operator=(socket&& o) noexcept {
    if (this != &o) close(), fd_ = std::exchange(o.fd_, -1);
    return *this;
  }

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close();
  // Gives up ownership: the caller closes the descriptor.
  int release() { return std::exchange(fd_, -1); }

  // Reads exactly the bytes `parts` describe, in order (at most 4 parts).
  // Each wait for more bytes is bounded by `io.timeout`.
  status read(std::span<const iovec> parts, const io_limits& io);
  status read(std::span<std::byte> into, const io_limits& io);
  // Reads at least `at_least` bytes into `parts` (at most 4), and whatever
  // else has already arrived, up to their size. Returns the bytes read.
  result<std::size_t> read_at_least(std::span<const iovec> parts, std::size_t at_least, const io_limits& io);
  // Writes every byte of `parts` (at most 4 parts), as one sendmsg when the
  // socket buffer has room.
  status write(std::span<const iovec> parts, const io_limits& io);
  // Bytes (or end of stream) are waiting: the next read would not block.
  bool readable() const;

  // "host:port" of this end and of the peer ("" if unknown).
  std::string local_address() const;
  std::string peer_address() const;

 private:
  int fd_ = -1;
};

// A listener on host:port (port 0 = any free port).
result<socket> listen_on(const std::string& host, std::uint16_t port);
// Waits for the next connection. unavailable once `io.stop` is raised.
// No timeout: a listener waits for peers as long as it lives.
result<socket> accept_from(const socket& listener, const stop_signal& stop);
// Connects to "host:port" ("[v6addr]:port" for IPv6 literals) within `io.timeout`.
// The connection has TCP_NODELAY set.
result<socket> connect_to(const std::string& address, const io_limits& io);

// Starts connecting to "host:port" without waiting: the socket becomes
// writable when the connect is over; then connect_outcome() tells how it
// went. (Resolving a host name may block; numeric addresses do not.)
result<socket> start_connect(const std::string& address);
status connect_outcome(const socket& s);

inline iovec io_part(const void* p, std::size_t n) { return {const_cast<void*>(p), n}; }

}  // namespace trail::net
