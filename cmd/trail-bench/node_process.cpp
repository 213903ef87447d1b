#include "node_process.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

namespace trail::bench {

result<std::unique_ptr<node_process>> node_process::start(const std::string& node_path, const std::string& store_size,
                                                          int executors) {
  auto n = std::unique_ptr<node_process>(new node_process());
  auto p = shm::child_process::launch({node_path,
                                       {"--standalone", "--listen", "127.0.0.1:0", "--store-size", store_size,
                                        "--executors", std::to_string(executors)},
                                       {}});
  if (!p) return p.error();
  n->proc_ = std::move(*p);
  std::string seen;
  pollfd pfd{n->proc_.output_fd(), POLLIN, 0};
  while (seen.find('\n', seen.find("listening on")) == std::string::npos) {
    char buf[512];
    if (::poll(&pfd, 1, 20000) <= 0) return status::unavailable("trail-node did not start: " + seen);
    ssize_t r = ::read(n->proc_.output_fd(), buf, sizeof buf);
    if (r <= 0) return status::unavailable("trail-node exited: " + seen);
    seen.append(buf, static_cast<std::size_t>(r));
  }
  auto at = seen.find("listening on ") + 13;
  n->address_ = seen.substr(at, seen.find('\n', at) - at);
  auto c = client::connect(n->address_);
  if (!c) return c.error();
  n->client_.emplace(std::move(*c));
  n->dir_ = std::filesystem::temp_directory_path() / ("trail-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(n->dir_);
  return n;
}

node_process::~node_process() {
  client_.reset();
  proc_.kill(SIGTERM);
  pollfd pfd{proc_.pidfd(), POLLIN, 0};
  ::poll(&pfd, 1, 20000);
  proc_.try_reap();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

status node_process::deploy(const std::string& yaml) {
  static int n = 0;
  auto path = dir_ / ("app" + std::to_string(n++) + ".yaml");
  std::ofstream(path) << yaml;
  auto r = client_->deploy(path);
  return r ? status{} : r.error();
}

}  // namespace trail::bench
