// The scenario words (scenario.hpp): handlers that parse their words and call
// one shared scenario state, which owns the cluster (scenario_cluster), the
// loads (scenario_load), the faults injected and the `after` timer, and runs
// `check` (scenario_check).
#include "scenario.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <trail/client.hpp>

#include "actors/core/address_list.hpp"
#include "scenario_check.hpp"
#include "scenario_cluster.hpp"
#include "scenario_load.hpp"
#include "session.hpp"

namespace trail::cli {
namespace scenario {
namespace {

namespace fs = std::filesystem;
using ms = std::chrono::milliseconds;

// "3s", "1.5s", "500ms", "2m", "10m", "30" (seconds).
result<ms> parse_duration(const std::string& w) {
  double n = 0;
  auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), n);
  std::string_view unit(p, static_cast<std::size_t>(w.data() + w.size() - p));
  double scale = unit == "ms" ? 1 : unit == "s" || unit.empty() ? 1000 : unit == "m" ? 60000 : -1;
  if (ec != std::errc{} || p == w.data() || scale < 0 || n < 0)
    return status::invalid("'" + w + "' is not a duration (say e.g. 500ms, 3s or 2m)");
  return ms(static_cast<std::int64_t>(n * scale));
}

// "200/s" or "200".
result<double> parse_rate(const std::string& w) {
  double n = 0;
  auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), n);
  std::string_view unit(p, static_cast<std::size_t>(w.data() + w.size() - p));
  if (ec != std::errc{} || p == w.data() || n <= 0 || (unit != "" && unit != "/s"))
    return status::invalid("'" + w + "' is not a rate (say e.g. 200/s)");
  return n;
}

result<int> parse_count(const std::string& w, int lo = 1) {
  int n = 0;
  auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), n);
  if (ec != std::errc{} || p != w.data() + w.size() || n < lo)
    return status::invalid("'" + w + "' is not a number of at least " + std::to_string(lo));
  return n;
}

std::string join(const std::vector<std::string>& words, std::size_t from = 0) {
  std::string s;
  for (std::size_t i = from; i < words.size(); ++i) s += (s.empty() ? "" : " ") + words[i];
  return s;
}

// Words of a line, split like the shell (quotes group).
std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> w;
  std::string error;
  split_line(line, w, error);
  return w;
}

// Runs actions at given times on one thread that lives as long as the
// scenario (so that processes it restarts are not killed with it).
class timer {
 public:
  timer() : thread_([this] { run(); }) {}
  ~timer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void at(clock::time_point t, std::function<void()> f) {
    {
      std::lock_guard lock(mu_);
      due_.emplace(t, std::move(f));
    }
    cv_.notify_all();
  }
  // Forgets what is scheduled (what runs finishes).
  void cancel() {
    std::lock_guard lock(mu_);
    due_.clear();
  }
  // Until nothing is scheduled or running.
  void drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return (due_.empty() && !busy_) || stop_; });
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (due_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto next = due_.begin()->first;
      if (clock::now() < next) {
        cv_.wait_until(lock, next);
        continue;
      }
      auto f = std::move(due_.begin()->second);
      due_.erase(due_.begin());
      busy_ = true;
      lock.unlock();
      f();
      lock.lock();
      busy_ = false;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<clock::time_point, std::function<void()>> due_;
  bool busy_ = false, stop_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

// Everything a scenario holds. Its methods run on the script's thread, but
// inject() also on the timer's: faults_mu_ guards what both touch.
class state {
 public:
  state() : work_dir_(fs::temp_directory_path() / ("trail-scenario-" + std::to_string(::getpid()))) {}
  ~state() {
    loads_.clear();  // stops them early
    if (timer_) {
      timer_->cancel();
      timer_->drain();  // (its thread stays: processes it restarted die with it)
    }
    if (cluster_) report_teardown(cluster_->down());
    timer_.reset();
    std::error_code ec;
    fs::remove_all(work_dir_, ec);
  }

  int cluster(session& s, const call& c);
  int load(session& s, const call& c);
  int after(const call& c);
  int fault(const call& c, const std::string& verb);
  int wait(session& s, const call& c);
  int check(const call& c);
  int chaos(session& s, const call& c);

 private:
  status inject(const std::vector<std::string>& words);
  status inject_executor(const std::vector<std::string>& words);
  status validate(const std::vector<std::string>& words) const;
  status arm(const std::string& node, const std::vector<std::string>& spec);
  status arm_pair(const std::string& verb, const std::string& node, const std::string& amount);
  status partition(const std::vector<std::string>& words);
  status heal_all();
  void note(const std::string& words, const status& s, bool coordinator, bool restarts = false);
  double since_origin() const { return std::chrono::duration<double, std::milli>(clock::now() - origin_).count(); }
  void check_traces(verdict& v, std::size_t sample);
  void count_fault_points(verdict& v);
  void report_teardown(const teardown_report& r, verdict* v = nullptr);
  fs::path bin_dir() const { return fs::canonical("/proc/self/exe").parent_path(); }

  const fs::path work_dir_;
  const clock::time_point origin_ = clock::now();
  clock::time_point anchor_ = clock::now();  // `after` counts from here
  std::unique_ptr<local_cluster> cluster_;
  std::string target_;  // where loads and admin commands go ("" = the session's address)
  std::vector<std::unique_ptr<load_run>> loads_;
  std::uint64_t next_seq_ = 1;
  std::mutex faults_mu_;
  std::vector<injected_fault> injected_;
  std::unique_ptr<timer> timer_;  // made by `cluster up` (faults need a cluster); lives until the end
};

// -- cluster ----------------------------------------------------------------------

int state::cluster(session& s, const call& c) {
  std::string verb = c.args.empty() ? "" : c.args[0];
  if (verb == "down") {
    if (!cluster_) return fail("no cluster is up");
    timer_->drain();  // scheduled faults need the cluster (timer_ exists: cluster up made it)
    report_teardown(cluster_->down());
    cluster_.reset();
    return 0;
  }
  if (verb == "status") {
    if (!cluster_) return fail("no cluster is up");
    std::cout << "coordinator at " << cluster_->address() << "; nodes:";
    for (auto& n : cluster_->node_names()) std::cout << " " << n;
    std::cout << "\n";
    return 0;
  }
  if (verb != "up") return fail("cluster takes up, down or status");
  if (cluster_) return fail("a cluster is already up (cluster down first)");
  cluster_options o;
  for (std::size_t i = 1; i < c.args.size(); i += 2) {
    if (i + 1 >= c.args.size()) return fail(c.args[i] + " wants a value");
    const std::string &k = c.args[i], &v = c.args[i + 1];
    if (k == "--nodes" || k == "--executors" || k == "--coordinators" || k == "--partitions") {
      auto n = parse_count(v);
      if (!n) return fail(n.error());
      (k == "--nodes" ? o.nodes : k == "--executors" ? o.executors : k == "--partitions" ? o.partitions : o.coordinators) = *n;
    } else if (k == "--store-size") {
      o.store_size = v;
    } else {
      return fail("cluster up: unknown option '" + k + "'");
    }
  }
  if (o.partitions > 1 && (o.coordinators <= o.partitions || o.nodes < o.partitions))
    return fail("cluster up: --partitions " + std::to_string(o.partitions) + " wants at least " +
                std::to_string(o.partitions + 1) + " coordinators (one stands by) and " + std::to_string(o.partitions) +
                " nodes");
  if (!timer_) timer_ = std::make_unique<timer>();  // before any process: it may restart them
  o.bin_dir = bin_dir();
  o.work_dir = work_dir_ / ("cluster-" + std::to_string(next_seq_++));
  auto started = local_cluster::start(o);
  if (!started) return fail(started.error());
  cluster_ = std::move(*started);
  target_ = cluster_->address();
  s.set_address(target_);
  anchor_ = clock::now();
  std::cerr << "scenario: cluster up: " << (o.coordinators > 1 ? "coordinators (etcd) at " : "coordinator at ") << target_
            << ", " << o.nodes << " nodes x " << o.executors << " executors (logs in " << o.work_dir.string() << ")\n";
  return 0;
}

// -- load ---------------------------------------------------------------------------

int state::load(session& s, const call& c) {
  if (c.args.empty()) return fail("load wants an app name");
  load_spec spec;
  spec.app = c.args[0];
  for (std::size_t i = 1; i < c.args.size(); i += 2) {
    if (i + 1 >= c.args.size()) return fail(c.args[i] + " wants a value");
    const std::string &k = c.args[i], &v = c.args[i + 1];
    status bad;
    if (k == "--rate") {
      auto r = parse_rate(v);
      r ? void(spec.rate = *r) : void(bad = r.error());
    } else if (k == "--for" || k == "--timeout") {
      auto d = parse_duration(v);
      d ? void((k == "--for" ? spec.duration : spec.timeout) = *d) : void(bad = d.error());
    } else if (k == "--clients") {
      auto n = parse_count(v);
      n ? void(spec.clients = *n) : void(bad = n.error());
    } else if (k == "--args") {
      spec.args = split(v);
    } else if (k == "--expect") {
      spec.expect = v;
    } else if (k == "--expect-error") {
      spec.expect_error = v;
    } else {
      bad = status::invalid("load: unknown option '" + k + "'");
    }
    if (!bad.ok()) return fail(bad);
  }
  std::string address = target_.empty() ? s.address() : target_;
  auto run = std::make_unique<load_run>(static_cast<int>(loads_.size()) + 1, address, spec, origin_, next_seq_);
  next_seq_ += run->planned();
  anchor_ = clock::now();
  run->start();
  std::cerr << "scenario: load " << run->id() << ": " << run->planned() << " requests of " << spec.app << " at "
            << spec.rate << "/s for " << spec.duration.count() << " ms\n";
  loads_.push_back(std::move(run));
  return 0;
}

// -- faults -------------------------------------------------------------------------

int state::after(const call& c) {
  if (c.args.size() < 2) return fail("after wants a time and a fault, e.g. after 3s kill n2");
  if (!cluster_) return fail("after: faults need `cluster up` first");
  auto d = parse_duration(c.args[0]);
  if (!d) return fail(d.error());
  std::vector<std::string> words(c.args.begin() + 1, c.args.end());
  if (status s = validate(words); !s.ok()) return fail(s);
  timer_->at(anchor_ + *d, [this, words] { (void)inject(words); });  // noted either way
  return 0;
}

int state::fault(const call& c, const std::string& verb) {
  std::vector<std::string> words{verb};
  words.insert(words.end(), c.args.begin(), c.args.end());
  if (status s = validate(words); !s.ok()) return fail(s);
  status s = inject(words);
  return s.ok() ? 0 : fail(s);
}

namespace {

// kill/stop/restart executor NODE ...: a fault on one of NODE's executors.
bool executor_fault(const std::vector<std::string>& w) {
  return w.size() > 2 && w[1] == "executor" && (w[0] == "kill" || w[0] == "stop" || w[0] == "restart");
}

}  // namespace

status state::validate(const std::vector<std::string>& w) const {
  static const std::set<std::string> verbs{"kill", "stop", "restart", "partition", "heal", "delay", "drop"};
  if (w.empty() || !verbs.contains(w[0])) return status::invalid("'" + join(w) + "' is no fault (" + "kill, stop, restart, partition, heal, delay, drop)");
  const bool executor = executor_fault(w);
  const std::size_t at = executor ? 2 : 1;  // where the process's name is
  if (w[0] == "kill" && w.size() != at + 1)
    return status::invalid("kill NODE | kill coordinator | kill executor NODE");
  if (w[0] == "stop" && (w.size() != at + 3 || w[at + 1] != "for" || !parse_duration(w[at + 2])))
    return status::invalid("stop NODE for DURATION | stop executor NODE for DURATION");
  if (w[0] == "restart" && w.size() != at + 1) return status::invalid("restart NODE | restart executor NODE");
  if ((w[0] == "delay" || w[0] == "drop") && w.size() != 3)
    return status::invalid(w[0] + " NODE " + (w[0] == "delay" ? "30ms" : "20%"));
  if (w[0] == "partition" && w.size() < 2) return status::invalid("partition A.. | B..");
  // The processes it names: a misspelt one would make the fault a no-op and
  // the scenario pass without it.
  if (cluster_) {
    std::vector<std::string> named;
    if (executor) named = {w[2]};
    else if (w[0] == "partition") named.assign(w.begin() + 1, w.end());
    else if (w[0] != "heal") named = {w[1]};
    const bool node_only = executor || w[0] == "delay" || w[0] == "drop";
    for (auto& n : named) {
      if (n == "|" || (node_only ? cluster_->is_node(n) : cluster_->is_member(n))) continue;
      return status::not_found("'" + join(w) + "': no " + (node_only ? "node" : "process") + " named '" + n +
                               "' in this cluster (" + join(node_only ? cluster_->node_names() : cluster_->member_names()) + ")");
    }
  }
  return {};
}

// Carries one fault out now (any thread) and notes it.
status state::inject(const std::vector<std::string>& w) {
  if (!cluster_) {
    status s = status::unavailable("'" + join(w) + "' needs `cluster up` first");
    note(join(w), s, false);
    return s;
  }
  const std::string& verb = w[0];
  status s;
  // Only losing the coordinator's memory or voice excuses an outcome never
  // learned; a partition leaves it alive, bound to end its sessions. With
  // several coordinators nothing does: etcd keeps what one accepted for the
  // next.
  bool coord = (verb == "kill" || verb == "stop" || verb == "restart") && w[1] == "coordinator" && !cluster_->durable();
  if (executor_fault(w)) return inject_executor(w);
  if (verb == "kill") s = cluster_->signal(w[1], SIGKILL);
  else if (verb == "stop") {
    s = cluster_->signal(w[1], SIGSTOP);
    if (s.ok()) {
      auto d = *parse_duration(w[3]);
      std::string node = w[1];
      timer_->at(clock::now() + d, [this, node] {
        if (cluster_) note("cont " + node, cluster_->signal(node, SIGCONT), false);
      });
    }
  } else if (verb == "restart") s = cluster_->restart(w[1]);
  else if (verb == "partition") s = partition(w);
  else if (verb == "heal") s = heal_all();
  else s = arm_pair(verb, w[1], w[2]);
  note(join(w), s, coord, coord && verb != "stop");
  return s;
}

// kill (SIGKILL), stop (SIGSTOP, SIGCONT after T) or restart (SIGTERM: the
// node starts another) one executor of a node. The node runs the attempt it
// held again elsewhere, or waits for it while it is stopped (up to the
// function's timeout_ms, then kills it and runs it again).
status state::inject_executor(const std::vector<std::string>& w) {
  const std::string& verb = w[0];
  const int sig = verb == "kill" ? SIGKILL : verb == "stop" ? SIGSTOP : SIGTERM;
  auto pid = cluster_->signal_executor(w[2], sig);
  status s = pid ? status{} : pid.error();
  note(join(w) + (pid ? " (pid " + std::to_string(*pid) + ")" : ""), s, false);
  if (pid && verb == "stop") {
    pid_t stopped = *pid;
    std::string words = "cont executor " + w[2] + " (pid " + std::to_string(stopped) + ")";
    timer_->at(clock::now() + *parse_duration(w[4]), [this, stopped, words] {
      // (It may have been killed meanwhile, by the node at its timeout.)
      note(words, ::kill(stopped, SIGCONT) == 0 || errno == ESRCH ? status{} : status::internal(std::strerror(errno)), false);
    });
  }
  return s;
}

void state::note(const std::string& words, const status& s, bool coordinator, bool restarts) {
  double at = since_origin();
  {
    std::lock_guard lock(faults_mu_);
    injected_.push_back({at, words, coordinator, restarts, s.ok() ? "" : s.to_string()});
  }
  char t[32];
  std::snprintf(t, sizeof t, "%7.2fs", at / 1000.0);
  std::cerr << "scenario: [" << t << "] " << words << (s.ok() ? "" : ": FAILED: " + s.to_string()) << "\n";
}

// `fault NODE SPEC...` through the coordinator (the node's fault points,
// actors/net/faults.hpp): of several, the one NODE joined (one that does not
// know it says not_found; a paused one may still answer).
status state::arm(const std::string& node, const std::vector<std::string>& spec) {
  std::vector<std::string> args{node};
  args.insert(args.end(), spec.begin(), spec.end());
  status last = status::unavailable("no coordinator answers");
  for (auto& address : trail::core::split_list(cluster_->address())) {
    auto c = trail::client::connect(address);
    if (!c) {
      last = c.error();
      continue;
    }
    auto r = c->admin("fault", args);
    if (r) return {};
    last = r.error().prefixed("fault " + join(args));
    if (r.error().code() != errc::not_found) return last;
  }
  return last;
}

// delay/drop NODE X: NODE's frames to everyone, and everyone's to NODE.
status state::arm_pair(const std::string& verb, const std::string& node, const std::string& amount) {
  if (!cluster_->is_node(node)) return status::not_found("no node named '" + node + "'");
  if (status s = arm(node, {verb, "*", amount}); !s.ok()) return s;
  for (auto& other : cluster_->node_names())
    if (other != node)
      if (status s = arm(other, {verb, node, amount}); !s.ok()) return s;
  return {};
}

// partition A.. | B..: each side loses everything to and from the other
// (without `|`: the named nodes against every other node).
status state::partition(const std::vector<std::string>& w) {
  std::vector<std::string> a, b;
  bool right = false;
  for (std::size_t i = 1; i < w.size(); ++i) {
    if (w[i] == "|") right = true;
    else (right ? b : a).push_back(w[i]);
  }
  if (!right)
    for (auto& n : cluster_->node_names())
      if (std::find(a.begin(), a.end(), n) == a.end()) b.push_back(n);
  if (a.empty() || b.empty()) return status::invalid("partition needs nodes on both sides");
  // Coordinators cut from etcd (their links to it), the other side alone.
  auto etcd_side = std::find(a.begin(), a.end(), "etcd") != a.end() ? &a : std::find(b.begin(), b.end(), "etcd") != b.end() ? &b : nullptr;
  if (etcd_side) {
    if (etcd_side->size() != 1) return status::invalid("partition COORDINATOR.. | etcd: etcd alone on its side");
    for (auto& c : *(etcd_side == &a ? &b : &a))
      if (status s = cluster_->cut_from_etcd(c); !s.ok()) return s;
    return {};
  }
  for (auto& [side, other] : {std::pair{&a, &b}, std::pair{&b, &a}})
    for (auto& n : *side) {
      if (!cluster_->is_node(n)) continue;  // a coordinator has no fault points; its peers cut it
      std::vector<std::string> spec{"partition"};
      spec.insert(spec.end(), other->begin(), other->end());
      if (status s = arm(n, spec); !s.ok()) return s;
    }
  return {};
}

status state::heal_all() {
  cluster_->heal_etcd_links();
  for (auto& n : cluster_->node_names())
    if (status s = arm(n, {"heal"}); !s.ok()) return s;
  return {};
}

// -- wait and check -------------------------------------------------------------------

int state::wait(session& s, const call& c) {
  if (!c.args.empty() && c.args[0] != "load") return fail("wait takes: wait load");
  for (auto& l : loads_) l->wait();
  if (timer_) timer_->drain();
  if (cluster_) s.set_address(cluster_->address());  // a fresh connection: the old one may have died with a fault
  return 0;
}

int state::check(const call& c) {
  check_options o;
  std::size_t sample = 200;
  for (std::size_t i = 0; i < c.args.size(); i += 2) {
    if (i + 1 >= c.args.size()) return fail(c.args[i] + " wants a value");
    if (c.args[i] == "--min-ok") {
      double p = std::atof(c.args[i + 1].c_str());
      if (p < 0 || p > 100) return fail("--min-ok wants a percentage");
      o.min_ok = p / 100;
    } else if (c.args[i] == "--trace-sample") {
      auto n = parse_count(c.args[i + 1], 0);
      if (!n) return fail(n.error());
      sample = static_cast<std::size_t>(*n);
    } else {
      return fail("check: unknown option '" + c.args[i] + "'");
    }
  }
  for (auto& l : loads_) l->wait();
  if (timer_) timer_->drain();
  std::vector<load_history> loads;
  for (auto& l : loads_) loads.push_back({l->spec(), l->history()});
  verdict v;
  std::vector<injected_fault> injected;
  {
    std::lock_guard lock(faults_mu_);
    injected = injected_;
  }
  judge_history(loads, injected, o, v);
  if (cluster_) check_traces(v, sample);
  if (cluster_) count_fault_points(v);
  if (cluster_) {
    report_teardown(cluster_->down(), &v);
    cluster_.reset();
  }
  std::cout << "injected (" << injected.size() << "):\n";
  for (auto& f : injected) {
    char t[32];
    std::snprintf(t, sizeof t, "%7.2fs", f.at_ms / 1000.0);
    std::cout << "  " << t << "  " << f.what << (f.failed.empty() ? "" : "  (FAILED: " + f.failed + ")") << "\n";
  }
  std::cout << "verified:\n";
  for (auto& line : v.verified) std::cout << "  ok  " << line << "\n";
  if (v.ok()) {
    std::cout << "check: PASSED\n";
    return 0;
  }
  std::cout << "violations:\n";
  for (auto& line : v.violations) std::cout << "  BAD " << line << "\n";
  std::cout << "check: FAILED (" << v.violations.size() << " kinds of violation)\n";
  return 1;
}

// Rule 5 on the sessions that ended ok (up to `sample` of them, spread over the history).
void state::check_traces(verdict& v, std::size_t sample) {
  std::vector<std::uint64_t> ids;
  for (auto& l : loads_)
    for (auto& r : l->history())
      if (r.how == outcome::ok && r.session) ids.push_back(r.session);
  if (ids.empty() || sample == 0) return;
  std::size_t step = std::max<std::size_t>(1, ids.size() / sample);
  auto c = trail::client::connect(cluster_->address());
  std::size_t traced = 0;
  std::vector<std::string> dups;
  for (std::size_t i = 0; i < ids.size() && c; i += step) {
    auto t = c->admin("trace", {std::to_string(ids[i])});
    if (!t) {
      if (t.error().code() == errc::not_found) continue;  // forgotten already: bounded history
      v.verified.push_back("no trigger fired twice: NOT VERIFIED (trace: " + t.error().to_string() + ")");
      return;
    }
    auto j = nlohmann::json::parse(*t, nullptr, false);
    if (j.is_discarded()) continue;
    ++traced;
    auto d = duplicate_fires(j);
    dups.insert(dups.end(), d.begin(), d.end());
  }
  if (!c) {
    v.verified.push_back("no trigger fired twice: NOT VERIFIED (cannot reach the coordinator: " + c.error().to_string() + ")");
    return;
  }
  if (dups.empty())
    v.verified.push_back("no trigger fired twice in the traces of " + std::to_string(traced) + " sessions that ended ok");
  else {
    std::string line = std::to_string(dups.size()) + " triggers fired twice (two attempts ended ok with the same function and inputs)";
    for (std::size_t i = 0; i < dups.size() && i < 5; ++i) line += "\n      e.g. " + dups[i];
    v.violations.push_back(line);
  }
}

// What each node's fault points did (their counters), as evidence that an
// armed fault bit; said only when the scenario armed any.
void state::count_fault_points(verdict& v) {
  bool armed = false;
  for (auto& f : injected_)
    for (auto* verb : {"partition", "delay", "drop"}) armed = armed || f.what.starts_with(verb);
  if (!armed) return;
  auto c = trail::client::connect(cluster_->address());
  if (!c) return;
  std::string line = "fault points injected:";
  for (auto& n : cluster_->node_names()) {
    auto r = c->admin("fault", {n, "list"});
    auto j = r ? nlohmann::json::parse(*r, nullptr, false) : nlohmann::json();
    if (!r || j.is_discarded() || !j.contains("injected")) {
      line += " " + n + " (no answer),";
      continue;
    }
    auto& i = j["injected"];
    line += " " + n + " " + std::to_string(i.value("dropped", 0)) + " frames lost, " +
            std::to_string(i.value("delayed", 0)) + " delayed, " + std::to_string(i.value("refused_pulls", 0)) +
            " pulls refused (seed " + std::to_string(j.value("seed", 0ull)) + ");";
  }
  line.pop_back();
  v.verified.push_back(line);
}

void state::report_teardown(const teardown_report& r, verdict* v) {
  for (auto& n : r.notes) std::cerr << "scenario: cleaned up " << n << "\n";
  if (v) {
    if (r.problems.empty())
      v->verified.push_back("cluster down: every process stopped cleanly or was killed on purpose; no executor, "
                            "segment or state dir left behind (" + std::to_string(r.notes.size()) +
                            " leftovers of killed processes removed)");
    for (auto& p : r.problems) v->violations.push_back("left behind: " + p);
  } else {
    for (auto& p : r.problems) std::cerr << "scenario: left behind: " << p << "\n";
  }
}

// -- chaos --------------------------------------------------------------------------

namespace {

struct chaos_options {
  std::uint64_t seed = 0;
  ms length{60000};
  int nodes = 3;
  int coordinators = 1;  // more: sharing an etcd, and they and etcd are fault targets too
  std::string manifest;  // default: the build's examples/wordcount/wordcount.yaml
  std::string app = "wordcount", args = "the cat the hat", expect = "cat=1,hat=1,the=2";
};

// One random fault at `t` (and what undoes it), from `rng`. With several
// coordinators, a coordinator or etcd may be hit too (a single one is not:
// its loss is a planned outage, not a fault the cluster rides out).
void chaos_fault(std::mt19937_64& rng, const chaos_options& o, ms t, std::vector<std::string>& lines) {
  auto pick = [&](int n) { return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng)); };
  std::string n = "n" + std::to_string(pick(o.nodes) + 1);
  auto at = [](ms when) { return "after " + std::to_string(when.count()) + "ms "; };
  auto heal = [&] { lines.push_back(at(t + ms(1000 + pick(1500))) + "heal"); };  // network faults last 1-2.5 s
  auto coordinator = [&] {
    int i = pick(o.coordinators);
    return i == 0 ? std::string("coordinator") : "coordinator" + std::to_string(i + 1);
  };
  switch (pick(o.coordinators > 1 ? 11 : 7)) {
    case 0: lines.push_back(at(t) + "kill executor " + n); break;
    case 1: lines.push_back(at(t) + "stop " + n + " for " + std::to_string(500 + pick(1500)) + "ms"); break;
    case 2: lines.push_back(at(t) + "restart " + n); break;
    case 3: lines.push_back(at(t) + "delay " + n + " " + std::to_string(10 + pick(40)) + "ms"), heal(); break;
    case 4: lines.push_back(at(t) + "drop " + n + " " + std::to_string(5 + pick(25)) + "%"), heal(); break;
    case 5: lines.push_back(at(t) + "partition " + n), heal(); break;
    case 6: lines.push_back(at(t) + "kill " + n), lines.push_back(at(t + ms(1000)) + "restart " + n); break;
    case 7: {
      auto c = coordinator();
      lines.push_back(at(t) + "kill " + c), lines.push_back(at(t + ms(1000)) + "restart " + c);
      break;
    }
    case 8: lines.push_back(at(t) + "stop " + coordinator() + " for " + std::to_string(500 + pick(3000)) + "ms"); break;
    case 9:  // long enough, at times, for its lease (2 s) to run out
      lines.push_back(at(t) + "partition " + coordinator() + " | etcd");
      lines.push_back(at(t + ms(1000 + pick(4000))) + "heal");
      break;
    default: lines.push_back(at(t) + "kill etcd"), lines.push_back(at(t + ms(500 + pick(2000))) + "restart etcd");
  }
}

// The scenario a seed stands for: a cluster, one app under load, a random
// fault every 2-5 s, then check. Pure: the same options give the same lines.
std::vector<std::string> chaos_plan(const chaos_options& o) {
  std::mt19937_64 rng(o.seed);
  std::vector<std::string> lines{
      "cluster up --nodes " + std::to_string(o.nodes) + " --executors 2" +
          (o.coordinators > 1 ? " --coordinators " + std::to_string(o.coordinators) : ""),
      "deploy " + o.manifest,
      "load " + o.app + " --rate 20/s --for " + std::to_string(o.length.count()) + "ms --args \"" + o.args +
          "\" --expect \"" + o.expect + "\" --timeout 20s"};
  for (ms t{2000}; t + ms(3000) < o.length; t += ms(2000 + std::uniform_int_distribution<int>(0, 2999)(rng)))
    chaos_fault(rng, o, t, lines);
  lines.push_back("wait load");
  lines.push_back("check --min-ok 50%");
  return lines;
}

}  // namespace

int state::chaos(session& s, const call& c) {
  chaos_options o;
  o.seed = std::random_device{}();
  o.manifest = (bin_dir().parent_path() / "examples/wordcount/wordcount.yaml").string();
  for (std::size_t i = 0; i < c.args.size(); i += 2) {
    if (i + 1 >= c.args.size()) return fail(c.args[i] + " wants a value");
    const std::string &k = c.args[i], &v = c.args[i + 1];
    if (k == "--seed") o.seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--coordinators") {
      auto n = parse_count(v);
      if (!n) return fail(n.error());
      o.coordinators = *n;
    } else if (k == "--for" || k == "--nodes") {
      auto d = k == "--for" ? parse_duration(v) : result<ms>(ms(0));
      auto n = k == "--nodes" ? parse_count(v, 2) : result<int>(3);
      if (!d || !n) return fail(d ? n.error() : d.error());
      (k == "--for" ? void(o.length = *d) : void(o.nodes = *n));
    } else if (k == "--deploy") o.manifest = v;
    else if (k == "--app") o.app = v;
    else if (k == "--args") o.args = v;
    else if (k == "--expect") o.expect = v;
    else return fail("chaos: unknown option '" + k + "'");
  }
  auto lines = chaos_plan(o);
  std::string replay = "trail chaos --seed " + std::to_string(o.seed) + " --for " + std::to_string(o.length.count()) +
                       "ms --nodes " + std::to_string(o.nodes) +
                       (o.coordinators > 1 ? " --coordinators " + std::to_string(o.coordinators) : "");
  std::cerr << "chaos: seed " << o.seed << "; the scenario it runs:\n";
  for (auto& l : lines) std::cerr << "  " << l << "\n";
  for (auto& l : lines)
    if (int code = s.run_line(l); code != 0) {
      std::cerr << "chaos: FAILED at '" << l << "' with seed " << o.seed << "; replay with: " << replay
                << " (and the same --deploy/--app/--args/--expect)\n";
      return code;
    }
  std::cerr << "chaos: seed " << o.seed << " passed\n";
  return 0;
}

}  // namespace scenario

// -- registration ------------------------------------------------------------------------

void add_scenario_commands(command_table& table) {
  auto st = std::make_shared<scenario::state>();
  auto add = [&](std::string name, std::string synopsis, std::string summary, std::string details, handler h) {
    table.add({std::move(name), std::move(synopsis), std::move(summary), std::move(details), "scenario",
               completes::nothing, std::move(h)});
  };
  add("cluster", "cluster up --nodes N [--coordinators N] [--executors N] [--store-size S] | cluster down | cluster status",
      "start or stop a local cluster of real processes for a scenario",
      "`cluster up` starts a trail-coordinator and N trail-nodes (n1..nN) on 127.0.0.1 as children of\n"
      "this process and waits until every node joined; later commands go to the coordinator.\n"
      "--coordinators N (N > 1) starts a one-member etcd (member `etcd`) and coordinators `coordinator`\n"
      "(holding the shards) and `coordinator2`..`coordinatorN` (standing by), under 2 s leases; nodes and\n"
      "clients are given them all. Kill, stop or restart any of them, etcd too: accepted sessions must\n"
      "still end with their output.\n"
      "`cluster down` (and the end of the scenario) stops them all and removes their state dirs and\n"
      "shared memory, reporting anything a cleanly stopped process left behind.",
      [st](session& s, const call& c) { return st->cluster(s, c); });
  add("load", "load APP --rate R/s --for T [--args \"...\"] [--expect OUT | --expect-error TEXT] [--clients N] [--timeout T]",
      "open-loop load in the background, recording every request for `check`",
      "Starts R requests per second of APP for T (open loop: a slow answer does not slow the rate\n"
      "down, up to --clients connections, default 8). Each request is `invoke --async`, then `result`\n"
      "of its session until it ends or --timeout (default 30s) passes. --expect: the output every\n"
      "session must end with; --expect-error: every session must fail saying TEXT.",
      [st](session& s, const call& c) { return st->load(s, c); });
  add("after", "after T FAULT...", "inject FAULT at T after the latest load (or cluster up) began",
      "e.g. `after 3s kill n2`, `after 8s stop n3 for 2s`, `after 12s partition n1 | n2 n3`.",
      [st](session&, const call& c) { return st->after(c); });
  for (auto [verb, synopsis, summary] :
       {std::tuple{"kill", "kill NODE | kill coordinator | kill executor NODE", "SIGKILL a node, the coordinator or one executor"},
        std::tuple{"stop", "stop NODE for T | stop executor NODE for T",
                   "SIGSTOP a node (or the coordinator, or one executor), SIGCONT after T"},
        std::tuple{"restart", "restart NODE | restart executor NODE",
                   "stop a node (or the coordinator) and start it again; SIGTERM one executor (its node starts another)"},
        std::tuple{"partition", "partition A.. [| B..] | partition COORDINATOR.. | etcd",
                   "cut the node wire and data path between two groups, or coordinators from etcd"},
        std::tuple{"heal", "heal", "disarm every fault point on every node; mend every link to etcd"},
        std::tuple{"delay", "delay NODE 30ms", "delay every frame to and from NODE (fault points)"},
        std::tuple{"drop", "drop NODE 20%", "lose that share of frames to and from NODE (fault points)"}}) {
    std::string v = verb;
    add(v, synopsis, summary,
        "A fault on the cluster of `cluster up`, now (or later with `after`). partition, heal, delay and\n"
        "drop arm the fault points inside trail's network layer through the admin command `fault`.\n"
        "With several coordinators each reaches etcd through a link of this process: `partition\n"
        "coordinator | etcd` cuts it (that coordinator alone loses etcd), `heal` mends it.",
        [st, v](session&, const call& c) { return st->fault(c, v); });
  }
  add("wait", "wait load", "wait until every load ended and every scheduled fault ran",
      "Blocks until every request of every `load` has its outcome and the `after` timer is idle.",
      [st](session& s, const call& c) { return st->wait(s, c); });
  add("check", "check [--min-ok P%] [--trace-sample N]", "judge the history; then stop the cluster and check for leftovers",
      "Waits for the loads, then verifies: each accepted request ended once, with its expected output\n"
      "or a clear error (a failure only after a fault; an unknown outcome only after a fault on the\n"
      "coordinator); at least --min-ok of each load's requests (default: one) got the expected\n"
      "outcome; no trigger fired twice (the traces of up to --trace-sample sessions, default 200);\n"
      "after `cluster down`, no executor, segment or state dir left. Prints what was injected and what\n"
      "was verified; exits 1 on a violation.",
      [st](session&, const call& c) { return st->check(c); });
  add("chaos", "chaos [--seed S] [--for T] [--nodes N] [--coordinators N] [--deploy M --app A --args \"...\" --expect OUT]",
      "random faults under load; prints the seed of a failure",
      "Runs a scenario made from the seed: a cluster, an app under load (default: the build's\n"
      "examples/wordcount), a random fault every 2-5 s (kills, stops, restarts, partitions, delay,\n"
      "loss), then check. With --coordinators N (N > 1) they share an etcd, and any of them, or etcd,\n"
      "may be killed or stopped too, or a coordinator cut from etcd. The scenario is printed first; a\n"
      "failure prints the command that replays it.",
      [st](session& s, const call& c) { return st->chaos(s, c); });
}

}  // namespace trail::cli
