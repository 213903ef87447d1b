// trail-bench local-hop, e2e, chain and fanout: whole workflows on a real
// standalone node (started as a child process), each beside its floor.
#include "bench.hpp"

#include <sstream>

#include "floors.hpp"
#include "node_process.hpp"
#include "stats.hpp"

namespace trail::bench {
namespace {

using namespace std::chrono_literals;

std::string app_yaml(const options& o, const std::string& app, const std::string& entry,
                     const std::vector<std::string>& functions, const std::string& buckets) {
  std::string y = "app: " + app + "\nlibrary: " + o.library_path + "\nentry: " + entry + "\nfunctions:\n";
  for (auto& f : functions) y += "  - { name: " + f + " }\n";
  return y + (buckets.empty() ? "" : "buckets:\n" + buckets);
}

std::string trigger(const std::string& bucket, const std::string& spec) {
  return "  - name: " + bucket + "\n    triggers:\n      - { " + spec + " }\n";
}

result<std::unique_ptr<node_process>> node(const options& o, const char* store = "256M") {
  return node_process::start(o.node_path, store, o.executors);
}

// Invokes `app` `runs` times (after a warm-up) and returns each output parsed
// as nanoseconds, in microseconds (with `all`, every number of each output).
result<std::vector<double>> reported_us(node_process& n, const std::string& app, std::vector<std::string> args,
                                        std::size_t runs, bool all = false) {
  std::vector<double> us;
  for (std::size_t i = 0; i < runs + runs / 10 + 1; ++i) {
    auto r = n.cli().invoke(app, args, 60s);
    if (!r) return r.error();
    if (i <= runs / 10) continue;
    std::istringstream in(r->output);
    for (double ns; in >> ns;) {
      us.push_back(ns / 1000.0);
      if (!all) break;
    }
  }
  return us;
}

}  // namespace

// Two cases. Target asleep: the source idles 1 ms before it sends (the node
// and the other executor fall asleep) and lingers 1 ms after (so the next
// function runs on the other, sleeping executor): a hop then costs a
// wake-up of the node and one of the target, as the blocking floor's round
// trip does. Back-to-back: hops in a row, each function sending as soon as
// it starts, beside the spinning floor.
int run_local_hop(const options& o) {
  auto n = node(o);
  if (!n) return fail(n.error());
  auto st = (*n)->deploy(app_yaml(o, "hop", "hop_src_idle", {"hop_src_idle", "hop_dst"},
                                  trigger("hop", "type: immediate, target: hop_dst")));
  if (st.ok())
    st = (*n)->deploy(app_yaml(o, "b2b", "b2b_start", {"b2b_start", "b2b_step"},
                               trigger("b2b", "type: immediate, target: b2b_step")));
  if (!st.ok()) return fail(st);
  auto sizes = parse_sizes(o.payloads.empty() ? "100B,1000B,100KiB,1MiB,10MiB" : o.payloads);
  if (!sizes) return fail(sizes.error());
  auto blocking = summarize(shm_rtt_us(1000, false, std::chrono::milliseconds(1)));
  auto spinning = summarize(shm_rtt_us(5000, true));
  for (std::uint64_t size : *sizes) {
    auto us = reported_us(**n, "hop", {std::to_string(size)}, o.runs);
    if (!us) return fail(us.error());
    emit({{"bench", "local-hop"}, {"case", "asleep"}, {"payload_bytes", size}, {"runs", o.runs}}, summarize(*us),
         "shm_rtt", "block_after_idle", blocking);
  }
  constexpr std::size_t hops = 50;  // per invocation; the object grows to 16 B + 8 B per hop
  auto us = reported_us(**n, "b2b", {std::to_string(hops)}, std::max<std::size_t>(1, o.runs / hops), true);
  if (!us) return fail(us.error());
  emit({{"bench", "local-hop"}, {"case", "back-to-back"}, {"payload_bytes_max", 16 + 8 * hops}, {"hops", us->size()}},
       summarize(*us), "shm_rtt", "spin", spinning);
  return 0;
}

result<std::vector<double>> back_to_back_hops_us(const options& o) {
  auto n = node(o);
  if (!n) return n.error();
  if (auto st = (*n)->deploy(app_yaml(o, "b2b", "b2b_start", {"b2b_start", "b2b_step"},
                                      trigger("b2b", "type: immediate, target: b2b_step")));
      !st.ok())
    return st;
  constexpr std::size_t hops = 50;  // per invocation
  return reported_us(**n, "b2b", {std::to_string(hops)}, std::max<std::size_t>(1, o.runs / hops), true);
}

int run_e2e(const options& o) {
  auto n = node(o);
  if (!n) return fail(n.error());
  auto a = (*n)->deploy(app_yaml(o, "e2e1", "noop_out", {"noop_out"}, ""));
  auto b = (*n)->deploy(app_yaml(o, "e2e2", "noop_put", {"noop_put", "noop_out"},
                                 trigger("next", "type: immediate, target: noop_out")));
  if (!a.ok() || !b.ok()) return fail(a.ok() ? b : a);
  auto floor = summarize(tcp_rtt_us(5000));
  for (auto [app, fns] : {std::pair{"e2e1", 1}, std::pair{"e2e2", 2}}) {
    std::vector<double> us;
    for (std::size_t i = 0; i < o.runs + o.runs / 10; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = (*n)->cli().invoke(app, {}, 60s);
      auto t1 = std::chrono::steady_clock::now();
      if (!r) return fail(r.error());
      if (i >= o.runs / 10) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    emit({{"bench", "e2e"}, {"functions", fns}, {"runs", o.runs}}, summarize(us), "tcp_rtt", "block", floor);
  }
  return 0;
}

// Runs a whole workflow `runs` times; its last function outputs the elapsed
// ns since its first started. Reports the total and the cost per invocation.
int run_workflow(const options& o, const char* name, const std::string& yaml, std::uint64_t invocations,
                 nlohmann::json line) {
  auto n = node(o);
  if (!n) return fail(n.error());
  if (auto st = (*n)->deploy(yaml); !st.ok()) return fail(st);
  auto floor = summarize(shm_rtt_us(5000, false));
  auto totals = reported_us(**n, name, {std::to_string(invocations)}, o.workflow_runs);
  if (!totals) return fail(totals.error());
  std::vector<double> per;
  for (double t : *totals) per.push_back(t / static_cast<double>(invocations));
  auto each = summarize(per);
  line["bench"] = name;
  line["runs"] = o.workflow_runs;
  line["total_ms_p50"] = summarize(*totals).p50_us / 1000;
  line["per_invocation_us_p50"] = each.p50_us;
  emit(line, each, "shm_rtt", "block", floor);
  return 0;
}

int run_chain(const options& o) {
  return run_workflow(o, "chain",
                      app_yaml(o, "chain", "chain_start", {"chain_start", "chain_step"},
                               trigger("c", "type: immediate, target: chain_step")),
                      o.length, {{"length", o.length}});
}

int run_fanout(const options& o) {
  std::string batch = "type: by_batch_size, count: " + std::to_string(o.width) + ", target: fan_collect";
  return run_workflow(o, "fanout",
                      app_yaml(o, "fanout", "fan_start", {"fan_start", "fan_work", "fan_collect"},
                               trigger("tasks", "type: immediate, target: fan_work") + trigger("results", batch)),
                      o.width, {{"width", o.width}});
}

}  // namespace trail::bench
