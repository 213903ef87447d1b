// Non-blocking socket pieces shared by the servers the node loop hosts (the
// gateway, the node wire, the metrics endpoint): an outbox that sends what a
// socket takes and waits for EPOLLOUT for the rest, an accept loop, and the
// table of accepted connections.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "actors/loop.hpp"
#include "actors/net/socket.hpp"

namespace trail::actors {

// The bytes queued for one non-blocking socket that the loop watches with
// `events`. flush() sends what the socket takes now; for the rest it arms
// EPOLLOUT (events | EPOLLOUT), and disarms it once everything went.
class outbox {
 public:
  std::string& bytes() { return out_; }  // append what to send, then flush()
  bool writing() const { return writing_; }  // EPOLLOUT is armed: readiness means flush again
  // The caller watches the socket with EPOLLOUT already (e.g. while it connects).
  void armed() { writing_ = true; }

  enum class state { sent, waiting, broken };
  // sent: all went (the buffer is empty again); waiting: the rest goes when
  // the socket is writable; broken: the peer is gone (error() says why).
  state flush(node_loop& loop, int fd, std::uint32_t events);
  int error() const { return error_; }

 private:
  std::string out_;
  std::size_t sent_ = 0;
  bool writing_ = false;
  int error_ = 0;
};

// Accepts every connection waiting on the non-blocking `listener` (each
// non-blocking and close-on-exec) and hands its descriptor to `take`.
// Returns 0, or the errno of an accept that failed for another reason than
// none waiting (out of descriptors, say): the edge is spent, so the caller
// looks again a little later.
template <class Take>
int accept_waiting(int listener, Take&& take) {
  for (;;) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      take(fd);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
  }
}

// What a loop-hosted server holds: its listener and the connections it
// accepted, by id (a Connection has a `net::socket sock`). Lives in the
// state of the actor that serves, and ends with it on the loop thread: the
// loop forgets the sockets before they close.
template <class Connection>
class served {
 public:
  served() = default;
  served(const served&) = delete;
  served& operator=(const served&) = delete;
  ~served() {
    if (!loop_) return;
    for (auto& [id, c] : conns_) loop_->unwatch(c->sock.fd());
    if (listener_.valid()) loop_->unwatch(listener_.fd());
  }

  // Serves the non-blocking `listener_fd` on `loop`: `acceptable` runs (on
  // the loop) each time connections wait to be accepted.
  void listen(node_loop& loop, int listener_fd, std::function<void(std::uint32_t)> acceptable) {
    loop_ = &loop;
    listener_ = net::socket(listener_fd);
    loop.watch(listener_fd, EPOLLIN | EPOLLET, std::move(acceptable));
  }
  node_loop& loop() { return *loop_; }
  int listener() const { return listener_.fd(); }

  std::size_t size() const { return conns_.size(); }
  Connection* find(std::uint64_t id) {
    auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second.get();
  }
  // Keeps `c` and watches its socket for `events`: `ready(id, events)` runs
  // when it is ready. Returns its id.
  template <class Ready>
  std::uint64_t add(std::unique_ptr<Connection> c, std::uint32_t events, Ready ready) {
    std::uint64_t id = next_++;
    int fd = c->sock.fd();
    conns_.emplace(id, std::move(c));
    loop_->watch(fd, events, [ready, id](std::uint32_t ev) { ready(id, ev); });
    return id;
  }
  // Forgets and closes connection `id` (none: nothing).
  void close(std::uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    loop_->unwatch(it->second->sock.fd());
    conns_.erase(it);
  }

 private:
  node_loop* loop_ = nullptr;
  net::socket listener_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> conns_;
  std::uint64_t next_ = 1;
};

}  // namespace trail::actors
