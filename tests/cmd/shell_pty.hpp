// A program run on a pseudo-terminal, as a person at a terminal would run it:
// what it prints is read until expected text shows up (with a timeout, never
// a sleep), and keys are written to it.
#pragma once

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace trail::testing {

class pty_process {
 public:
  // Starts `program args...` on a new 120x40 terminal with `env` added to the environment.
  pty_process(const std::string& program, const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env = {}) {
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    winsize size{40, 120, 0, 0};
    pid_ = ::forkpty(&fd_, nullptr, nullptr, &size);
    if (pid_ == 0) {
      for (auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
    EXPECT_GT(pid_, 0) << "forkpty failed";
  }
  pty_process(const pty_process&) = delete;
  pty_process& operator=(const pty_process&) = delete;

  ~pty_process() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  void write(const std::string& keys) {
    ASSERT_EQ(::write(fd_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }

  // Reads until `needle` appears in the output after `mark()`; false on timeout or EOF.
  bool read_until(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output_.find(needle, mark_) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return output_.find(needle, mark_) != std::string::npos;  // EIO: the program closed the terminal
      output_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  // Later read_until calls look only at output from here on.
  void mark() { mark_ = output_.size(); }
  std::string since_mark() const { return output_.substr(mark_); }
  const std::string& output() const { return output_; }

  // Reads everything up to EOF, then reaps the program: its exit code
  // (128 + signal if killed); -1 if it did not exit within the timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    read_until(std::string(1, '\0'), timeout);  // never printed: reads until EOF
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    pollfd exited{pidfd, POLLIN, 0};
    bool done = pidfd >= 0 && ::poll(&exited, 1, static_cast<int>(timeout.count())) > 0;
    if (pidfd >= 0) ::close(pidfd);
    int st = 0;
    if (!done || ::waitpid(pid_, &st, 0) != pid_) return -1;
    reaped_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  std::string output_;
  std::size_t mark_ = 0;
};

}  // namespace trail::testing
