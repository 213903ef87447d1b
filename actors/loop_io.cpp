#include "actors/loop_io.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

namespace trail::actors {

outbox::state outbox::flush(node_loop& loop, int fd, std::uint32_t events) {
  while (sent_ < out_.size()) {
    ssize_t n = ::send(fd, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!writing_) loop.rewatch(fd, events | EPOLLOUT);
      writing_ = true;
      return state::waiting;
    }
    error_ = n < 0 ? errno : EPIPE;
    return state::broken;
  }
  out_.clear();
  sent_ = 0;
  if (writing_) loop.rewatch(fd, events);
  writing_ = false;
  return state::sent;
}

}  // namespace trail::actors
