#include "scenario_cluster.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "actors/core/address_list.hpp"
#include "actors/durable/local_etcd.hpp"
#include "shm/segment.hpp"

namespace trail::cli::scenario {
namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

// One launched process and what it printed.
struct local_cluster::proc {
  std::string name;
  shm::child_process child;
  pid_t pid = -1;
  std::ofstream log;
  std::string partial;             // the last line, until its newline
  std::deque<std::string> recent;  // its last lines
  std::vector<std::string> ready;  // lines saying it is up ("listening on", "joined")
  bool eof = false;                // its output ended
  bool killed = false;             // SIGKILLed on purpose: its leftovers are expected
  std::string exit;                // how it ended, once reaped
};

namespace {

constexpr std::size_t recent_lines = 200;

// Field `index` (1-based, after the command name) of /proc/PID/stat, or "".
std::string stat_field(pid_t pid, int index) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  auto close = s.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream rest(s.substr(close + 2));
  std::string f;
  for (int i = 3; i <= index && rest >> f; ++i) {}
  return f;
}

std::string comm_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string c;
  std::getline(in, c);
  return c;
}

// Live (not zombie) processes whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/proc", ec)) {
    std::string n = e.path().filename().string();
    if (n.empty() || !std::all_of(n.begin(), n.end(), ::isdigit)) continue;
    pid_t pid = std::stoi(n);
    if (stat_field(pid, 4) == std::to_string(parent) && stat_field(pid, 3) != "Z") out.push_back(pid);
  }
  return out;
}

// Waits up to `d` for `pid` (not our child: no pidfd kept) to die or become a zombie.
bool wait_gone(pid_t pid, std::chrono::milliseconds d) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return true;  // already gone
  pollfd p{fd, POLLIN, 0};
  int n = ::poll(&p, 1, static_cast<int>(d.count()));
  ::close(fd);
  return n > 0;
}

}  // namespace

// Reaps `p` if it ended (keeping how); true while it runs.
bool local_cluster::alive(proc& p) {
  if (!p.child.running()) return false;
  if (std::string how = p.child.try_reap(); !how.empty()) p.exit = how;
  return p.child.running();
}

void become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }

std::vector<std::pair<pid_t, std::string>> stray_children(const std::vector<pid_t>& known) {
  std::vector<std::pair<pid_t, std::string>> out;
  for (pid_t pid : children_of(::getpid()))
    if (std::find(known.begin(), known.end(), pid) == known.end()) out.emplace_back(pid, comm_of(pid));
  return out;
}

// -- starting ---------------------------------------------------------------------

local_cluster::local_cluster(cluster_options opts) : opts_(std::move(opts)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pump_ = std::thread([this] { pump(); });
}

result<std::unique_ptr<local_cluster>> local_cluster::start(cluster_options opts) {
  become_subreaper();
  std::error_code ec;
  fs::create_directories(opts.work_dir, ec);
  if (ec) return status::unavailable("cannot create " + opts.work_dir.string() + ": " + ec.message());
  std::unique_ptr<local_cluster> c(new local_cluster(std::move(opts)));
  std::unique_lock lock(c->mu_);
  if (status s = c->start_coordinators(lock); !s.ok()) return s;
  for (int i = 1; i <= c->opts_.nodes; ++i) {
    std::string name = "n" + std::to_string(i);
    c->names_.push_back(name);
    if (status s = c->launch(name, c->node_args(name)); !s.ok()) return s;
  }
  for (auto& name : c->names_)
    if (status s = c->wait_ready(name, "joined ", lock); !s.ok()) return s;
  return c;
}

// One coordinator on a port of its choosing; or etcd, then coordinators on
// fixed ports sharing it: the first holds the shards, the others stand by.
status local_cluster::start_coordinators(std::unique_lock<std::mutex>& lock) {
  if (opts_.coordinators <= 1) {
    coordinator_at_["coordinator"] = "127.0.0.1:0";  // (launch() knows it as a coordinator by this)
    if (status s = launch("coordinator", {"--listen", "127.0.0.1:0", "--shards", "2"}); !s.ok()) return s;
    if (status s = wait_ready("coordinator", "listening on ", lock); !s.ok()) return s;
    const std::string& line = current_.at("coordinator")->ready.front();
    address_ = line.substr(line.find("listening on ") + 13);
    coordinator_at_["coordinator"] = address_;
    return {};
  }
  // A port plan_local_etcd found free may be taken before etcd binds it
  // (scenarios run beside other tests): an etcd that exits before it answers
  // is started again on other ports, twice.
  status answered;
  for (int tries = 1;; ++tries) {
    std::error_code ec;
    std::filesystem::remove_all(opts_.work_dir / "etcd", ec);
    auto plan = durable::plan_local_etcd("scenario", opts_.work_dir / "etcd");
    etcd_ = plan.endpoint;
    etcd_args_ = plan.args;
    if (status s = launch("etcd", etcd_args_); !s.ok()) return s;
    proc& p = *current_.at("etcd");
    auto deadline = std::chrono::steady_clock::now() + opts_.ready_timeout;
    answered = status::unavailable("etcd exited before it answered; it said:\n");
    while (!p.eof && std::chrono::steady_clock::now() < deadline) {
      lock.unlock();
      answered = durable::await_etcd(etcd_, std::chrono::milliseconds(250));
      lock.lock();
      if (answered.ok()) break;
    }
    if (answered.ok() || !p.eof || tries == 3) {
      if (!answered.ok() && p.eof)
        for (auto& l : p.recent) answered = status::unavailable(answered.message() + "  " + l + "\n");
      break;
    }
    p.killed = true;  // (it exited for that race, not for a fault: no leftover of it is a problem)
  }
  if (!answered.ok()) return answered;
  // All ports at once: each coordinator is given its own.
  auto ports = durable::free_loopback_ports(static_cast<std::size_t>(opts_.coordinators));
  for (int i = 1; i <= opts_.coordinators; ++i) {
    std::string name = i == 1 ? "coordinator" : "coordinator" + std::to_string(i);
    auto link = net::link::open(etcd_);
    if (!link) return link.error();
    etcd_links_[name] = std::move(*link);
    coordinator_at_[name] = "127.0.0.1:" + std::to_string(ports[static_cast<std::size_t>(i - 1)]);
    address_ += (i == 1 ? "" : ",") + coordinator_at_[name];
    if (status s = launch(name, coordinator_args(name)); !s.ok()) return s;
    // (In order: the first ones claim the partitions, the rest stand by.)
    if (status s = wait_ready(name, i <= opts_.partitions ? "listening on " : "standing by: ", lock); !s.ok()) return s;
  }
  return {};
}

std::vector<std::string> local_cluster::coordinator_args(const std::string& name) const {
  std::vector<std::string> args{"--listen", coordinator_at_.at(name), "--shards", "2"};
  if (!etcd_.empty()) args.insert(args.end(), {"--etcd", etcd_links_.at(name)->address(), "--lease-seconds", "2"});
  if (opts_.partitions > 1) args.insert(args.end(), {"--partitions", std::to_string(opts_.partitions)});
  return args;
}

status local_cluster::cut_from_etcd(const std::string& coordinator) {
  std::lock_guard lock(mu_);
  if (etcd_.empty()) return status::invalid("no etcd in this cluster (cluster up --coordinators N, N > 1)");
  auto it = etcd_links_.find(coordinator);
  if (it == etcd_links_.end()) return status::not_found("no coordinator named '" + coordinator + "'");
  it->second->cut();
  return {};
}

void local_cluster::heal_etcd_links() {
  std::lock_guard lock(mu_);
  for (auto& [name, link] : etcd_links_) link->heal();
}

std::vector<std::string> local_cluster::node_args(const std::string& name) const {
  // With partitions, node ni tries the holder of partition (i-1) % K first: they start spread.
  std::string coordinators = address_;
  if (opts_.partitions > 1)
    coordinators = core::rotated_list(address_, static_cast<std::size_t>(std::max(std::atoi(name.c_str() + 1), 1) - 1) %
                                                    static_cast<std::size_t>(opts_.partitions));
  return {"--coordinator", coordinators, "--listen", "127.0.0.1:0", "--name", name,
          "--executors", std::to_string(opts_.executors), "--store-size", opts_.store_size};
}

status local_cluster::launch(const std::string& name, std::vector<std::string> args) {
  std::string bin = name == "etcd"                  ? std::string(durable::etcd_binary)
                    : coordinator_at_.contains(name) ? (opts_.bin_dir / "trail-coordinator").string()
                                                     : (opts_.bin_dir / "trail-node").string();
  // env(1) execs the binary in place (same pid) with the scenario's TMPDIR:
  // every state dir the process makes lands in work_dir.
  args.insert(args.begin(), {"TMPDIR=" + opts_.work_dir.string(), bin});
  auto child = shm::child_process::launch({"/usr/bin/env", args, {}});
  if (!child) return status::unavailable("cannot start " + name + ": " + child.error().message());
  proc& p = procs_.emplace_back();
  p.name = name;
  p.pid = child->pid();
  p.child = std::move(*child);
  p.log.open(opts_.work_dir / (name + ".log"), std::ios::app);
  current_[name] = &p;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  return {};
}

status local_cluster::wait_ready(const std::string& name, const std::string& needle,
                                 std::unique_lock<std::mutex>& lock) {
  proc& p = *current_.at(name);
  auto up = [&] {
    return std::any_of(p.ready.begin(), p.ready.end(), [&](auto& l) { return l.find(needle) != std::string::npos; });
  };
  if (said_.wait_for(lock, opts_.ready_timeout, [&] { return up() || p.eof; }) && up()) return {};
  std::string tail;
  for (auto& l : p.recent) tail += "  " + l + "\n";
  return status::unavailable(name + (p.eof ? " exited" : " did not come up in time") + " before saying '" +
                             needle + "'; it said:\n" + tail);
}

// -- output -----------------------------------------------------------------------

void local_cluster::pump() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    std::vector<pollfd> fds{{wake_fd_, POLLIN, 0}};
    std::vector<proc*> who{nullptr};
    for (auto& p : procs_)
      if (!p.eof) fds.push_back({p.child.output_fd(), POLLIN, 0}), who.push_back(&p);
    lock.unlock();
    ::poll(fds.data(), fds.size(), 1000);
    lock.lock();
    std::uint64_t drained;
    [[maybe_unused]] auto n = ::read(wake_fd_, &drained, sizeof drained);
    bool news = false;
    for (std::size_t i = 1; i < fds.size(); ++i)
      if (fds[i].revents) news = true, who[i]->eof = !read_output(*who[i]);
    if (news) said_.notify_all();
  }
}

bool local_cluster::read_output(proc& p) {
  char buf[8192];
  ssize_t n;
  while ((n = ::read(p.child.output_fd(), buf, sizeof buf)) > 0) {
    p.log.write(buf, n);
    p.partial.append(buf, static_cast<std::size_t>(n));
    std::size_t at;
    while ((at = p.partial.find('\n')) != std::string::npos) {
      std::string line = p.partial.substr(0, at);
      p.partial.erase(0, at + 1);
      if (line.find(": listening on ") != std::string::npos || line.find("trail-node: joined ") == 0 ||
          line.find("trail-coordinator: standing by: ") == 0)
        p.ready.push_back(line);
      p.recent.push_back(std::move(line));
      if (p.recent.size() > recent_lines) p.recent.pop_front();
    }
  }
  p.log.flush();
  return n != 0 && !(n < 0 && errno != EAGAIN && errno != EINTR);
}

// -- faults -------------------------------------------------------------------------

std::string local_cluster::address() const {
  std::lock_guard lock(mu_);
  return address_;
}

std::vector<std::string> local_cluster::node_names() const {
  std::lock_guard lock(mu_);
  return names_;
}

std::vector<std::string> local_cluster::member_names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (auto& [name, p] : current_) out.push_back(name);
  return out;
}

bool local_cluster::is_member(const std::string& name) const {
  std::lock_guard lock(mu_);
  return current_.contains(name);
}

bool local_cluster::is_node(const std::string& name) const {
  std::lock_guard lock(mu_);
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

status local_cluster::signal(const std::string& name, int sig) {
  std::lock_guard lock(mu_);
  auto it = current_.find(name);
  if (it == current_.end()) return status::not_found("no process named '" + name + "' in this cluster");
  proc& p = *it->second;
  if (!alive(p)) return status::unavailable(name + " is not running (" + p.exit + ")");
  if (sig == SIGKILL) p.killed = true;
  p.child.kill(sig);
  return {};
}

std::vector<pid_t> local_cluster::executors_of(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = current_.find(name);
  if (it == current_.end()) return {};
  std::vector<pid_t> out;
  for (pid_t pid : children_of(it->second->pid))
    if (comm_of(pid) == "trail-executor") out.push_back(pid);
  return out;
}

result<pid_t> local_cluster::signal_executor(const std::string& name, int sig) {
  if (!is_node(name)) return status::not_found("no node named '" + name + "'");
  auto pids = executors_of(name);
  if (pids.empty()) return status::unavailable(name + " has no live executor");
  ::kill(pids.front(), sig);
  return pids.front();
}

status local_cluster::restart(const std::string& name) {
  std::unique_lock lock(mu_);
  auto it = current_.find(name);
  if (it == current_.end()) return status::not_found("no process named '" + name + "' in this cluster");
  teardown_report ignored;
  stop_members({it->second}, lock, ignored);
  if (name == "etcd") {
    if (status s = launch(name, etcd_args_); !s.ok()) return s;
    lock.unlock();
    return durable::await_etcd(etcd_, opts_.ready_timeout);
  }
  bool coordinator = coordinator_at_.contains(name);
  if (status s = launch(name, coordinator ? coordinator_args(name) : node_args(name)); !s.ok()) return s;
  // (One of several comes back as a standby, or holding the shards if none does.)
  return wait_ready(name, !coordinator ? "joined " : etcd_.empty() ? "listening on " : "trail-coordinator: ", lock);
}

// -- stopping -----------------------------------------------------------------------

// SIGTERM to each (after SIGCONT: it may be stopped), then SIGKILL to those
// still there after stop_timeout; every one reaped.
void local_cluster::stop_members(const std::vector<proc*>& ps, std::unique_lock<std::mutex>& lock,
                                 teardown_report& r) {
  for (proc* p : ps) {
    if (!alive(*p)) continue;
    p->child.kill(SIGCONT);
    p->child.kill(SIGTERM);
  }
  auto deadline = clock::now() + opts_.stop_timeout;
  for (proc* p : ps) {
    while (alive(*p) && clock::now() < deadline) {
      pollfd f{p->child.pidfd(), POLLIN, 0};
      lock.unlock();
      ::poll(&f, 1, 200);
      lock.lock();
    }
    if (alive(*p)) {
      r.problems.push_back(p->name + " (pid " + std::to_string(p->pid) + ") ignored SIGTERM for " +
                           std::to_string(opts_.stop_timeout.count()) + " ms; killed");
      p->killed = true;
      p->exit = p->child.kill_and_reap();
    }
  }
}

teardown_report local_cluster::down() {
  teardown_report r;
  {
    std::unique_lock lock(mu_);
    if (down_) return r;
    down_ = true;
    std::vector<proc*> nodes, coordinators, etcd;
    for (auto& p : procs_) (p.name == "etcd" ? etcd : coordinator_at_.contains(p.name) ? coordinators : nodes).push_back(&p);
    stop_members(nodes, lock, r);
    stop_members(coordinators, lock, r);
    for (proc* e : etcd) e->killed = true;  // (etcd ends by dying of the SIGTERM it was sent: not unclean)
    stop_members(etcd, lock, r);  // last: the coordinators revoke their leases in it on the way out
    for (auto& p : procs_)
      if (!p.killed && p.exit != "exited with status 0")
        r.problems.push_back(p.name + " (pid " + std::to_string(p.pid) + ") stopped uncleanly: " + p.exit);
  }
  check_leftovers(r);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  if (pump_.joinable()) pump_.join();
  return r;
}

void local_cluster::check_leftovers(teardown_report& r) {
  std::map<int, const proc*> by_pid;
  for (auto& p : procs_) by_pid[p.pid] = &p;
  // Executors outlive a node only by a moment (PR_SET_PDEATHSIG); then they are ours to reap.
  for (auto& [pid, comm] : stray_children({})) {
    if (!wait_gone(pid, std::chrono::milliseconds(2000))) {
      r.problems.push_back("a " + comm + " (pid " + std::to_string(pid) + ") outlived its node; killed");
      ::kill(pid, SIGKILL);
    }
  }
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {}
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/dev/shm", ec)) {
    shm::process_identity owner;
    if (!shm::parse_owner(e.path().filename().string(), owner) || !by_pid.contains(owner.pid)) continue;
    const proc& p = *by_pid.at(owner.pid);
    (p.killed ? r.notes : r.problems)
        .push_back("segment " + e.path().string() + " of " + p.name + " (pid " + std::to_string(p.pid) + ")" +
                   (p.killed ? ", killed on purpose: removed" : " outlived its clean exit: removed"));
    fs::remove(e.path(), ec);
  }
  for (auto& e : fs::directory_iterator(opts_.work_dir, ec)) {
    std::string n = e.path().filename().string();
    if (!n.starts_with("trail-node-")) continue;
    int pid = std::atoi(n.c_str() + 11);
    bool killed = by_pid.contains(pid) && by_pid.at(pid)->killed;
    (killed ? r.notes : r.problems)
        .push_back("state dir " + e.path().string() + (killed ? " of a node killed on purpose: removed" : " left behind: removed"));
    fs::remove_all(e.path(), ec);
  }
}

local_cluster::~local_cluster() {
  down();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::string local_cluster::log_tail(const std::string& name, std::size_t lines) const {
  std::lock_guard lock(mu_);
  auto it = current_.find(name);
  if (it == current_.end()) return "";
  auto& rec = it->second->recent;
  std::string out;
  for (std::size_t i = rec.size() > lines ? rec.size() - lines : 0; i < rec.size(); ++i) out += rec[i] + "\n";
  return out;
}

}  // namespace trail::cli::scenario
