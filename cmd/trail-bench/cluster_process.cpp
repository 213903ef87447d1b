#include "cluster_process.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include <nlohmann/json.hpp>

#include "actors/core/address_list.hpp"
#include "actors/durable/local_etcd.hpp"

namespace trail::bench {
namespace {

std::string beside(const std::string& binary, const char* name) {
  return (std::filesystem::path(binary).parent_path() / name).string();
}

// Whether `seen` holds a complete line containing `needle`.
bool said_line(const std::string& seen, const std::string& needle) {
  auto at = seen.find(needle);
  return at != std::string::npos && seen.find('\n', at) != std::string::npos;
}

// Reads a child's output until a line containing `needle` is complete.
status await_line(shm::child_process& p, const std::string& needle, std::string& seen) {
  pollfd pfd{p.output_fd(), POLLIN, 0};
  while (true) {
    if (said_line(seen, needle)) return {};
    if (::poll(&pfd, 1, 20000) <= 0) return status::unavailable("no '" + needle + "' within 20 s: " + seen);
    char buf[512];
    ssize_t n = ::read(p.output_fd(), buf, sizeof buf);
    if (n == 0) return status::unavailable("process exited: " + seen);
    if (n > 0) seen.append(buf, static_cast<std::size_t>(n));
  }
}

// "n1", "c2", ...: a member's name. (Built by appending: GCC 12 warns
// falsely (-Wrestrict) of "n" + std::to_string(i).)
std::string member_name(char kind, int i) {
  std::string name(1, kind);
  name += std::to_string(i);
  return name;
}

}  // namespace

result<std::unique_ptr<cluster_process>> cluster_process::start(const options& o, int nodes, const std::string& store,
                                                               int coordinators) {
  return start(o, cluster_spec{nodes, store, coordinators, {}, 1});
}

result<std::unique_ptr<cluster_process>> cluster_process::start(const options& o, const cluster_spec& spec) {
  auto c = std::unique_ptr<cluster_process>(new cluster_process());
  c->dir_ = std::filesystem::temp_directory_path() / ("trail-bench-cluster-" + std::to_string(::getpid()));
  std::filesystem::create_directories(c->dir_);
  if (status s = c->start_coordinators(o, spec); !s.ok()) return s;
  for (int i = 1; i <= spec.nodes; ++i) {
    // With partitions, node i tries the holder of partition (i-1) % K first: they start spread.
    std::string coordinators = c->address_;
    if (spec.partitions > 1) coordinators = core::rotated_list(c->address_, static_cast<std::size_t>((i - 1) % spec.partitions));
    member m{member_name('n', i),
             {o.node_path, "--coordinator", coordinators, "--listen", "127.0.0.1:0", "--name", member_name('n', i),
              "--executors", std::to_string(o.executors), "--store-size", spec.store},
             {},
             {}};
    if (status s = c->launch(m); !s.ok()) return s;
    c->members_.push_back(std::move(m));
  }
  for (auto& m : c->members_) {
    if (m.name[0] != 'n') continue;
    std::string said;
    if (auto s = await_line(m.proc, "joined ", said); !s.ok()) return s;
  }
  auto cl = client::connect(c->address_);
  if (!cl) return cl.error();
  c->client_.emplace(std::move(*cl));
  c->drainer_ = std::thread([p = c.get()] { p->drain(); });
  return c;
}

cluster_process::~cluster_process() {
  client_.reset();
  stop_ = true;
  if (drainer_.joinable()) drainer_.join();
  for (auto it = members_.rbegin(); it != members_.rend(); ++it) it->proc.kill(SIGTERM);  // nodes first
  for (auto& m : members_) {
    pollfd pfd{m.proc.pidfd(), POLLIN, 0};
    ::poll(&pfd, 1, 20000);
    m.proc.try_reap();
  }
  etcd_.kill_and_reap();  // last: the coordinators revoke their leases in it on the way out
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string cluster_process::said() {
  std::lock_guard lock(mu_);
  return said_;
}

status cluster_process::deploy(const std::string& yaml) {
  auto path = dir_ / ("app" + std::to_string(apps_++) + ".yaml");
  std::ofstream(path) << yaml;
  auto r = client_->deploy(path);
  return r ? status{} : r.error();
}

status cluster_process::launch(member& m) {
  auto p = shm::child_process::launch({m.args[0], {m.args.begin() + 1, m.args.end()}, {}});
  if (!p) return p.error();
  std::lock_guard lock(mu_);
  m.proc = std::move(*p);
  m.seen.clear();
  return {};
}

cluster_process::member* cluster_process::find(const std::string& name) {
  for (auto& m : members_)
    if (m.name == name) return &m;
  return nullptr;
}

// A one-member etcd under dir_ and coordinators on fixed ports sharing it
// (the first holds the shards, the others stand by); or one coordinator
// without etcd.
status cluster_process::start_coordinators(const options& o, const cluster_spec& spec) {
  const std::string binary = beside(o.node_path, "trail-coordinator");
  if (spec.coordinators == 0) {
    member m{"c1", {binary, "--listen", "127.0.0.1:0"}, {}, {}};
    m.args.insert(m.args.end(), spec.coordinator_args.begin(), spec.coordinator_args.end());
    if (status s = launch(m); !s.ok()) return s;
    std::string seen;
    if (auto s = await_line(m.proc, "listening on ", seen); !s.ok()) return s;
    auto at = seen.find("listening on ") + 13;
    address_ = seen.substr(at, seen.find('\n', at) - at);
    m.args[2] = address_;  // (started again on the port it picked)
    members_.push_back(std::move(m));
    return {};
  }
  std::string etcd_at;
  for (int tries = 1; etcd_at.empty(); ++tries) {
    std::error_code ec;
    std::filesystem::remove_all(dir_ / "etcd", ec);
    auto plan = durable::plan_local_etcd("bench", dir_ / "etcd");
    auto e = shm::child_process::launch({durable::etcd_binary, plan.args, {}});
    if (!e) return e.error().prefixed("cannot start etcd (Debian's etcd-server)");
    etcd_ = std::move(*e);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    status up = status::unavailable("etcd exited before it answered");
    while (!up.ok() && etcd_.try_reap().empty() && std::chrono::steady_clock::now() < deadline)
      up = durable::await_etcd(plan.endpoint, std::chrono::milliseconds(250));
    if (up.ok()) etcd_at = plan.endpoint;
    // Exited: another process took a port between the plan and etcd's
    // bind (benchmarks and tests run side by side). Again, on others.
    else if ((!etcd_.running() || !etcd_.try_reap().empty()) && tries < 3) continue;
    else return up;
  }
  // All ports at once: each coordinator is given its own.
  auto ports = durable::free_loopback_ports(static_cast<std::size_t>(spec.coordinators));
  for (int i = 0; i < spec.coordinators; ++i) {
    std::string at = "127.0.0.1:" + std::to_string(ports[static_cast<std::size_t>(i)]);
    member m{member_name('c', i + 1), {binary, "--listen", at, "--etcd", etcd_at}, {}, {}};
    if (spec.partitions > 1) m.args.insert(m.args.end(), {"--partitions", std::to_string(spec.partitions)});
    m.args.insert(m.args.end(), spec.coordinator_args.begin(), spec.coordinator_args.end());
    if (status s = launch(m); !s.ok()) return s;
    std::string seen;
    // (In order: the first K claim the K partitions, the rest stand by.)
    const char* line = i == 0 ? "listening on " : i < spec.partitions ? "holds partition " : "standing by: ";
    if (status s = await_line(m.proc, line, seen); !s.ok()) return s;
    members_.push_back(std::move(m));
    address_ += (i ? "," : "") + at;
  }
  return {};
}

status cluster_process::kill(const std::string& name) {
  member* m = find(name);
  if (!m) return status::not_found("no member " + name);
  int pidfd;
  {
    std::lock_guard lock(mu_);  // (the drainer reads its output meanwhile)
    m->proc.kill(SIGKILL);
    pidfd = m->proc.pidfd();
  }
  pollfd pfd{pidfd, POLLIN, 0};
  ::poll(&pfd, 1, 10000);
  std::lock_guard lock(mu_);
  m->proc.try_reap();
  return {};
}

status cluster_process::start_again(const std::string& name, const std::string& ready) {
  member* m = find(name);
  if (!m) return status::not_found("no member " + name);
  if (status s = launch(*m); !s.ok()) return s;
  // The drainer reads its output into m->seen, and says so.
  std::unique_lock lock(mu_);
  if (!heard_.wait_for(lock, std::chrono::seconds(30), [&] { return said_line(m->seen, ready); }))
    return status::unavailable(name + " did not say '" + ready + "' within 30 s: " + m->seen);
  return {};
}

result<std::string> cluster_process::holder() {
  auto j = client_->status_json();
  if (!j) return j.error();
  auto said = nlohmann::json::parse(*j, nullptr, false);
  std::string claim = said.is_object() && said.contains("coordinator") ? said["coordinator"].value("holds_shards_as", "") : "";
  if (claim.empty()) return status::not_found("no coordinator holds the shards: " + *j);
  auto who = claim.substr(0, claim.find(' '));  // "<address> pid N lease L"
  for (auto& m : members_)
    if (m.name[0] == 'c' && m.args.size() > 2 && m.args[2] == who) return m.name;
  return status::not_found("the holder " + who + " is none of this cluster's coordinators");
}

// Reads every member's output into said_, a line at a time with its name in
// front, keeping the last 64 KiB.
void cluster_process::drain() {
  std::vector<std::string> partial(members_.size());
  while (!stop_) {
    std::vector<pollfd> fds;
    {
      std::lock_guard lock(mu_);
      for (auto& m : members_) fds.push_back({m.proc.output_fd(), POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
    char buf[4096];
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN) || members_[i].proc.output_fd() != fds[i].fd) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) continue;
      partial[i].append(buf, static_cast<std::size_t>(n));
      auto& seen = members_[i].seen;
      seen.append(buf, static_cast<std::size_t>(n));
      if (seen.size() > (64u << 10)) seen.erase(0, seen.size() - (64u << 10));
      for (auto nl = partial[i].find('\n'); nl != std::string::npos; nl = partial[i].find('\n')) {
        said_ += members_[i].name + ": " + partial[i].substr(0, nl + 1);
        partial[i].erase(0, nl + 1);
      }
      if (said_.size() > (64u << 10)) said_.erase(0, said_.size() - (64u << 10));
    }
    heard_.notify_all();
  }
}

}  // namespace trail::bench
