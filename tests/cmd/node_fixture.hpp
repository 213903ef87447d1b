// A real `trail-node --standalone` process on a free loopback port, a client
// connected to it, and a way to run the real `trail` binary against it.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <trail/client.hpp>

#include "shm/process.hpp"
#include "shm/segment.hpp"

namespace trail::testing {

using namespace std::chrono_literals;

inline const std::string examples_dir = TRAIL_EXAMPLES_DIR;
inline std::string example(const std::string& name) { return examples_dir + "/" + name + "/" + name + ".yaml"; }

struct cli_result {
  int code = -1;
  std::string out, err;
};

// Runs `program args...` to completion, capturing stdout and stderr apart.
inline cli_result run_program(const std::string& program, const std::vector<std::string>& args,
                              const std::string& stdin_text = "") {
  int out[2], err[2], in[2];
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
  std::vector<char*> argv{const_cast<char*>(program.c_str())};
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0), ::dup2(out[1], 1), ::dup2(err[1], 2);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]), ::close(err[1]), ::close(in[0]);
  [[maybe_unused]] auto w = ::write(in[1], stdin_text.data(), stdin_text.size());
  ::close(in[1]);
  cli_result r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0 && ::poll(fds, 2, 60000) > 0) {
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// Reads `fd` (non-blocking: a child's output) until a whole line containing
// `needle` has come, the writer closed it, or `limit` passed. Returns all it read.
inline std::string read_through_line(int fd, const std::string& needle, std::chrono::milliseconds limit) {
  std::string seen;
  pollfd pfd{fd, POLLIN, 0};
  auto until = std::chrono::steady_clock::now() + limit;
  while (seen.find('\n', seen.find(needle)) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, static_cast<std::size_t>(n));
  }
  return seen;
}

// SIGTERM (if still running), then waits up to `limit` for `p` to exit,
// reading its output all along into `said` (so it never blocks on a full
// pipe). Returns how it ended (shm::child_process::try_reap), "" if it did not.
inline std::string terminate_and_reap(shm::child_process& p, std::string& said,
                                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto drain = [&] {
    char buf[4096];
    for (ssize_t n; (n = ::read(p.output_fd(), buf, sizeof buf)) > 0;) said.append(buf, static_cast<std::size_t>(n));
  };
  if (p.running()) p.kill(SIGTERM);
  auto until = std::chrono::steady_clock::now() + limit;
  std::string how;
  while ((how = p.try_reap()).empty() && std::chrono::steady_clock::now() < until) {
    pollfd fds[2] = {{p.pidfd(), POLLIN, 0}, {p.output_fd(), POLLIN, 0}};
    ::poll(fds, 2, 1000);
    drain();
  }
  drain();
  return how;
}

class node_test : public ::testing::Test {
 protected:
  void SetUp() override { start_node(); }

  void start_node(std::vector<std::string> extra = {}, int executors = 2, const std::string& listen = "127.0.0.1:0") {
    std::vector<std::string> args{"--standalone", "--listen", listen, "--executors", std::to_string(executors),
                                  "--store-size", store_size_};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = shm::child_process::launch({TRAIL_NODE_PATH, args, {}});
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    node_ = std::move(*p);
    // The node prints "trail-node: listening on HOST:PORT" once clients can connect.
    std::string seen = read_through_line(node_.output_fd(), "listening on", 20s);
    ASSERT_NE(seen.find('\n', seen.find("listening on")), std::string::npos)
        << "node did not start (or exited); it said: " << seen;
    auto at = seen.find("listening on ") + 13;
    address_ = seen.substr(at, seen.find('\n', at) - at);
    startup_ = seen;
    auto c = client::connect(address_);
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    client_.emplace(std::move(*c));
  }

  // SIGTERM, then the node must exit 0 and leave no segments behind. Its
  // output is read all along, so that it can never block on a full pipe.
  void TearDown() override {
    if (node_.pid() <= 0) return;  // never started
    client_.reset();
    int pid = node_.pid();
    std::string said;
    std::string how = terminate_and_reap(node_, said);
    EXPECT_EQ(how, "exited with status 0") << "the node said:\n" << said;
    for (auto& e : std::filesystem::directory_iterator("/dev/shm")) {
      shm::process_identity owner;
      if (shm::parse_owner(e.path().filename().string(), owner)) {
        EXPECT_NE(owner.pid, pid) << "segment left behind: " << e.path();
      }
    }
  }

  // Whatever the node printed that was not read yet.
  std::string drain_output() {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(node_.output_fd(), buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

  void deploy(const std::string& name) {
    auto r = client_->deploy(example(name));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }

  cli_result cli(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"--connect", address_});
    return run_program(TRAIL_CLI_PATH, args, stdin_text);
  }

  std::string store_size_ = "32M";  // --store-size of the node start_node() starts
  shm::child_process node_;
  std::string address_;
  std::string startup_;  // what the node printed up to its "listening on" line
  std::optional<client> client_;
};

}  // namespace trail::testing
