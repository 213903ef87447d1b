#include "terminal.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace trail::cli {

interrupt_watch::interrupt_watch(bool read_keys) {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask_);
  signal_fd_ = ::signalfd(-1, &block, SFD_CLOEXEC | SFD_NONBLOCK);
  if (read_keys && ::isatty(0) && ::tcgetattr(0, &old_term_) == 0) {
    termios raw = old_term_;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    raw_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
}

interrupt_watch::~interrupt_watch() {
  if (raw_) ::tcsetattr(0, TCSANOW, &old_term_);
  if (signal_fd_ >= 0) {
    signalfd_siginfo info;  // a Ctrl-C that came late must not kill us once unblocked
    while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
    }
    ::close(signal_fd_);
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

interrupt_watch::event interrupt_watch::wait(std::chrono::milliseconds t, char& k) {
  auto deadline = std::chrono::steady_clock::now() + t;
  for (;;) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {raw_ ? 0 : -1, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int n = ::poll(fds, 2, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return event::timeout;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      [[maybe_unused]] auto r = ::read(signal_fd_, &info, sizeof info);
      return event::interrupted;
    }
    if (fds[1].revents & POLLIN) {
      if (::read(0, &k, 1) != 1) return event::interrupted;  // the terminal went away
      return k == 3 ? event::interrupted : event::key;
    }
  }
}

}  // namespace trail::cli
