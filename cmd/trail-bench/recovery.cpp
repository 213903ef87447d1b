// trail-bench recovery: how long a failure holds a session up, from the
// failure to the session's output (or to the first invoke accepted again),
// for the three failures trail promises to ride through (README "Failures"):
//   executor-crash        a standalone node; the function's first attempt
//                         SIGKILLs its own executor; the node starts a new
//                         one and runs it again after the retry backoff.
//                         Beside: the same app without the crash, and the
//                         floor: starting trail-executor to its exit.
//   node-loss             a coordinator and two nodes; a session napping
//                         300 ms is started through the coordinator, and
//                         the node running it is SIGKILLed 100 ms in: from
//                         the kill to the output, less the re-run's own nap.
//   coordinator-failover  etcd, two coordinators (2 s leases) and two nodes:
//                         the holder is SIGKILLed; from the kill to the first
//                         async invoke the standby accepts (its lease must run
//                         out first: the result is printed beside it).
#include <chrono>
#include <thread>

#include "bench.hpp"
#include "cluster_process.hpp"
#include "floors.hpp"
#include "node_process.hpp"
#include "stats.hpp"

namespace trail::bench {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

double us_since(clock::time_point t0) { return std::chrono::duration<double, std::micro>(clock::now() - t0).count(); }

std::string one_function(const options& o, const std::string& app, const std::string& fn) {
  return "app: " + app + "\nlibrary: " + o.library_path + "\nentry: " + fn + "\nfunctions:\n  - { name: " + fn + " }\n";
}

int executor_crash(const options& o) {
  auto n = node_process::start(o.node_path, "64M", o.executors);
  if (!n) return fail(n.error());
  if (auto s = (*n)->deploy(one_function(o, "crash", "crash_once")); !s.ok()) return fail(s);
  if (auto s = (*n)->deploy(one_function(o, "calm", "noop_out")); !s.ok()) return fail(s);
  auto floor = summarize(spawn_us(50, o.executor_path.c_str(), "--help"));
  std::vector<double> crashed, calm;
  for (std::size_t i = 0; i < o.runs; ++i) {
    for (auto [app, into] : {std::pair{"crash", &crashed}, std::pair{"calm", &calm}}) {
      auto t0 = clock::now();
      auto r = (*n)->cli().invoke(app, {}, 60s);
      if (!r) return fail(r.error());
      if (r->output != "ok") return fail(status::internal(std::string(app) + " answered '" + r->output + "'"));
      into->push_back(us_since(t0));
    }
  }
  auto without = summarize(calm);
  emit({{"bench", "recovery"}, {"case", "executor-crash"}, {"runs", o.runs}, {"retry_backoff_ms", 10},
        {"without_crash_p50_us", without.p50_us}},
       summarize(crashed), "process_spawn", "block", floor);
  return 0;
}

// The node a running session is on, as the coordinator's `session ID` says.
result<std::string> node_running(cluster_process& c, std::uint64_t session) {
  auto j = c.cli().admin("session", {std::to_string(session)});
  if (!j) return j.error();
  auto s = nlohmann::json::parse(*j, nullptr, false);
  if (s.is_object() && s.contains("node") && s["node"].is_string() && !s["node"].get<std::string>().empty())
    return s["node"].get<std::string>();
  return status::not_found("no node named in: " + *j);
}

int node_loss(const options& o) {
  constexpr int nap_ms = 300;
  auto c = cluster_process::start(o, cluster_spec{2, "64M", 0, {"--node-timeout-ms", "1000"}, 1});
  if (!c) return fail(c.error());
  if (auto s = (*c)->deploy(one_function(o, "nap", "nap_ms")); !s.ok()) return fail(s);
  auto floor = summarize(tcp_rtt_us(5000));
  std::vector<double> us;
  for (std::size_t i = 0; i < o.runs; ++i) {
    auto started = (*c)->cli().invoke("nap", {std::to_string(nap_ms)}, 60s, true);
    if (!started) return fail(started.error());
    std::this_thread::sleep_for(100ms);  // (well into its nap)
    auto victim = node_running(**c, started->session);
    if (!victim) return fail(victim.error());
    auto t0 = clock::now();
    if (auto s = (*c)->kill(*victim); !s.ok()) return fail(s);
    auto r = (*c)->cli().result_of(started->session, 60s);
    if (!r) {
      std::fprintf(stderr, "%s", (*c)->said().c_str());
      return fail(r.error());
    }
    if (r->output != "rested") return fail(status::internal("the session answered '" + r->output + "'"));
    us.push_back(us_since(t0) - nap_ms * 1000.0);
    if (auto s = (*c)->start_again(*victim, "joined "); !s.ok()) return fail(s);
  }
  emit({{"bench", "recovery"}, {"case", "node-loss"}, {"runs", o.runs}, {"nap_ms", nap_ms}, {"node_timeout_ms", 1000}},
       summarize(us), "tcp_rtt", "block", floor);
  return 0;
}

int coordinator_failover(const options& o) {
  constexpr int lease_s = 2;
  auto c = cluster_process::start(o, cluster_spec{2, "64M", 2, {"--lease-seconds", std::to_string(lease_s)}, 1});
  if (!c) return fail(c.error());
  if (auto s = (*c)->deploy(one_function(o, "calm", "noop_out")); !s.ok()) return fail(s);
  auto floor = summarize(tcp_rtt_us(5000));
  std::vector<double> us;
  for (std::size_t i = 0; i < o.runs; ++i) {
    auto holder = (*c)->holder();
    if (!holder) return fail(holder.error());
    auto t0 = clock::now();
    if (auto s = (*c)->kill(*holder); !s.ok()) return fail(s);
    // The client looks for the new holder by itself (within its 5 s per try).
    result<invocation_result> r = status::unavailable("not tried");
    while (!r && clock::now() - t0 < 60s) r = (*c)->cli().invoke("calm", {}, 10s, true);
    if (!r) {
      std::fprintf(stderr, "%s", (*c)->said().c_str());
      return fail(r.error());
    }
    us.push_back(us_since(t0));
    if (auto s = (*c)->start_again(*holder, "standing by: "); !s.ok()) return fail(s);
    // The nodes are back with the new holder before the next kill.
    result<invocation_result> sync = status::unavailable("not tried");
    while (!sync && clock::now() - t0 < 120s) sync = (*c)->cli().invoke("calm", {}, 10s);
    if (!sync) return fail(sync.error());
  }
  emit({{"bench", "recovery"}, {"case", "coordinator-failover"}, {"runs", o.runs}, {"lease_ms", lease_s * 1000}},
       summarize(us), "tcp_rtt", "block", floor);
  return 0;
}

}  // namespace

int run_recovery(const options& o) {
  if (int rc = executor_crash(o); rc != 0) return rc;
  if (int rc = node_loss(o); rc != 0) return rc;
  return coordinator_failover(o);
}

}  // namespace trail::bench
