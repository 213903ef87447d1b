#include "shm/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace trail::shm {

std::string describe_wait_status(int st) {
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st))
    return "killed by signal " + std::to_string(WTERMSIG(st)) + " (" + ::strsignal(WTERMSIG(st)) + ")";
  return "stopped";
}

result<child_process> child_process::launch(const launch_spec& spec) {
  // Everything the child needs is prepared before fork(): after it, only
  // async-signal-safe calls (the parent may be multi-threaded).
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(spec.program.c_str()));
  for (auto& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return status::internal(std::string("pipe2: ") + std::strerror(errno));
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipe_fds[0]), ::close(pipe_fds[1]);
    return status::overloaded(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // A node blocks SIGINT/SIGTERM to sigwait() for them; its children must
    // not inherit that (the mask survives exec).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    // Another user first: a change of credentials clears the death signal.
    if (spec.as && (::setgroups(0, nullptr) != 0 || ::setgid(spec.as->gid) != 0 || ::setuid(spec.as->uid) != 0)) {
      const char msg[] = "trail: cannot switch the executor to its --executor-user\n";
      [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      ::_exit(126);
    }
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    for (int fd : spec.keep_fds) ::fcntl(fd, F_SETFD, 0);  // clear FD_CLOEXEC
    ::execv(spec.program.c_str(), argv.data());
    const char msg[] = "trail: cannot exec executor binary\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  child_process c;
  c.pid_ = pid;
  c.out_fd_ = pipe_fds[0];
  c.pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (c.pidfd_ < 0) return status::internal(std::string("pidfd_open: ") + std::strerror(errno));
  ::fcntl(c.pidfd_, F_SETFD, FD_CLOEXEC);
  return c;
}

child_process::child_process(child_process&& o) noexcept { *this = std::move(o); }

child_process& child_process::operator=(child_process&& o) noexcept {
  if (this != &o) {
    reset();
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::exchange(o.pidfd_, -1);
    out_fd_ = std::exchange(o.out_fd_, -1);
    reaped_ = std::exchange(o.reaped_, false);
  }
  return *this;
}

child_process::~child_process() { reset(); }

void child_process::reset() {
  if (pid_ > 0 && !reaped_) kill_and_reap();
  if (pidfd_ >= 0) ::close(pidfd_);
  if (out_fd_ >= 0) ::close(out_fd_);
  pid_ = pidfd_ = out_fd_ = -1;
  reaped_ = false;
}

void child_process::kill(int sig) const {
  if (running()) ::syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0);
}

std::string child_process::try_reap() {
  if (pid_ <= 0 || reaped_) return {};
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r != pid_) return {};
  reaped_ = true;
  return describe_wait_status(st);
}

std::string child_process::kill_and_reap() {
  if (pid_ <= 0 || reaped_) return {};
  kill(SIGKILL);
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return describe_wait_status(st);
}

}  // namespace trail::shm
