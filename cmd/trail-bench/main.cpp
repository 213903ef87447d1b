// trail-bench: whole-system benchmarks, each beside a floor measured in the
// same run. One JSON object per result line on stdout.
#include <unistd.h>

#include <filesystem>

#include <CLI/CLI.hpp>

#include "bench.hpp"
#include "sort.hpp"
#include "stats.hpp"
#include "streaming.hpp"

namespace {

std::filesystem::path self_dir() { return std::filesystem::read_symlink("/proc/self/exe").parent_path(); }

}  // namespace

int main(int argc, char** argv) {
  trail::bench::options o;
  o.executor_path = (self_dir() / "trail-executor").string();
  o.library_path = (self_dir().parent_path() / "lib" / "libtrail_bench_functions.so").string();
  o.node_path = (self_dir() / "trail-node").string();

  CLI::App app{"trail-bench: trail's benchmarks, each printed beside a floor measured in the same run"};
  app.require_subcommand(1);
  app.add_option("--executor", o.executor_path, "trail-executor binary")->capture_default_str();
  app.add_option("--functions", o.library_path, "benchmark function library")->capture_default_str();
  auto* channel = app.add_subcommand("channel", "node <-> executor round trip vs raw shared-memory round trip");
  channel->add_flag("--json", o.json, "print JSON lines (the default and only format)");
  channel->add_option("--trips", o.trips, "measured round trips (>= 10000 for a stable p99)")->capture_default_str();
  auto* hop = app.add_subcommand("local-hop", "function -> immediate trigger -> function on one node, per payload size");
  auto* e2e = app.add_subcommand("e2e", "synchronous invokes of 1- and 2-function no-op apps through the client library");
  auto* chain = app.add_subcommand("chain", "a chain of functions linked by immediate triggers");
  chain->add_option("--length", o.length, "functions in the chain")->capture_default_str();
  auto* fanout = app.add_subcommand("fanout", "a fan-out joined by a by_batch_size trigger");
  fanout->add_option("--width", o.width, "parallel invocations")->capture_default_str();
  auto* rhop = app.add_subcommand("remote-hop", "function on node 1 -> immediate trigger -> function on node 2, per payload size");
  rhop->add_flag("--json", o.json, "print JSON lines (the default and only format)");
  rhop->add_option("--runs", o.runs, "invocations per result line")->capture_default_str()->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  rhop->add_option("--executors", o.executors, "executors per node")->capture_default_str();
  auto* tput = app.add_subcommand("throughput", "no-op invocations per second, cluster-wide, from concurrent clients");
  tput->add_flag("--json", o.json, "print JSON lines (the default and only format)");
  tput->add_option("--nodes", o.nodes, "nodes in the cluster")->check(CLI::Range(1, 16))->capture_default_str();
  tput->add_option("--executors", o.executors, "executors per node")->capture_default_str();
  tput->add_option("--runs", o.runs, "invocations per measured round")->capture_default_str()->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  tput->add_option("--clients", o.clients, "concurrent client connections, each invoking back to back")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  tput->add_option("--rounds", o.workflow_runs, "measured rounds")->capture_default_str();
  tput->add_option("--coordinators", o.coordinators,
                   "coordinators sharing an etcd started here (one holds the shards, the others stand by); "
                   "0: one coordinator without etcd")
      ->check(CLI::Range(0, 5))
      ->capture_default_str();
  tput->add_option("--partitions", o.partitions,
                   "with --coordinators: split the shards into this many partitions, each held by one coordinator "
                   "(one app per partition; the clients spread over them)")
      ->check(CLI::Range(1, 4))
      ->capture_default_str();
  tput->add_flag("--via-coordinator", o.via_coordinator,
                 "every invoke through the coordinator (with etcd: kept there), not sent on to the node it names");
  auto* recovery = app.add_subcommand("recovery", "from a failure to the session's output: an executor crash, a node "
                                                  "SIGKILLed, the coordinator SIGKILLed (its standby takes over)");
  recovery->add_flag("--json", o.json, "print JSON lines (the default and only format)");
  recovery->add_option("--runs", o.runs, "failures per case (default 10)")->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  recovery->add_option("--executors", o.executors, "executors per node")->capture_default_str();
  auto* redis = app.add_subcommand("redis", "the plain alternative: worker processes chained through Redis lists "
                                            "(BLPOP/RPUSH), as local-hop (target asleep) and e2e");
  auto* robj = app.add_subcommand("remote-object", "one object made on node 1 and consumed on node 2 of a cluster, per size");
  robj->add_flag("--json", o.json, "print JSON lines (the default and only format)");
  robj->add_option("--sizes", o.sizes, "object sizes, comma-separated")->default_str("64MiB,256MiB,1GiB");
  robj->add_option("--runs", o.data_runs, "hops per size (0: scaled to the size)")->capture_default_str();
  auto* data = app.add_subcommand("remote-data", "pull objects between two nodes' stores over the data path, per size");
  data->add_flag("--json", o.json, "print JSON lines (the default and only format)");
  data->add_option("--sizes", o.sizes, "object sizes, comma-separated (8B, 4KiB, 1MiB, 1GiB, ...)")->capture_default_str();
  data->add_option("--runs", o.data_runs, "pulls per size; 0 = about 2 GiB per size, 3..1000")->capture_default_str();
  for (auto* sub : {hop, rhop, redis})
    sub->add_option("--payloads", o.payloads, "payload sizes, comma-separated (100B, 64KiB, 1MiB, ...)");
  auto* paper = app.add_subcommand("paper", "the evaluation's sweeps: results as JSON and one SVG figure each (gnuplot)");
  paper->add_option("--out", o.out_dir, "directory for results.json, the figures' data and SVGs")->required();
  paper->add_flag("--quick", o.quick, "two points per sweep and few runs: checks that everything runs, measures nothing");
  auto* metrics = app.add_subcommand("metrics", "the cost of recording a hop's Prometheus metrics beside a local hop");
  auto* all = app.add_subcommand("all", "every benchmark, then a markdown table: each result, its floor, the ratio, its aim");
  all->add_flag("--json", o.json, "also print every benchmark's JSON lines");
  all->add_flag("--quick", o.quick, "small sizes and few runs: checks that everything runs, measures nothing");
  all->add_option("--runs", o.runs, "invocations per latency result (default 1000)")->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  for (auto* sub : {hop, e2e, chain, fanout, metrics}) {
    sub->add_flag("--json", o.json, "print JSON lines (the default and only format)");
    sub->add_option("--executors", o.executors, "executors of the node under test")->capture_default_str();
  }
  for (auto* sub : {hop, e2e, metrics, redis})
    sub->add_option("--runs", o.runs, "invocations per result line")->capture_default_str()->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  redis->add_flag("--json", o.json, "print JSON lines (the default and only format)");
  for (auto* sub : {chain, fanout})
    sub->add_option("--runs", o.workflow_runs, "whole workflows per result")->capture_default_str()->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  trail::bench::sort_options sort_opts;
  auto* sort = trail::bench::add_sort_command(app, o, sort_opts);
  trail::bench::streaming_options so;
  auto* stream = trail::bench::add_streaming(app, so);
  stream->add_option("--executors", o.executors, "executors of the node under test")->capture_default_str();
  app.add_option("--node", o.node_path, "trail-node binary")->capture_default_str();
  bool with_secret = false;
  app.add_flag("--secret", with_secret,
               "measure with authentication on: a cluster secret made for the run, which every trail process "
               "started and every client proves (README \"Security\"); result lines say \"auth\": true");
  std::string tls_dir;
  app.add_option("--tls", tls_dir,
                 "measure with TLS on every wire: DIR holds ca.pem, trail.pem and trail.key (scripts/tls-certs DIR); "
                 "every trail process started, and the data path of remote-data, speaks TLS; result lines say \"tls\"");
  CLI11_PARSE(app, argc, argv);
  if (!tls_dir.empty()) {  // children and clients find them in the environment
    for (auto [var, file] : {std::pair{"TRAIL_TLS_CERT", "trail.pem"}, {"TRAIL_TLS_KEY", "trail.key"},
                             {"TRAIL_TLS_CA", "ca.pem"}}) {
      auto path = std::filesystem::path(tls_dir) / file;
      if (!std::filesystem::exists(path))
        return trail::bench::fail(trail::status::not_found("--tls: no " + path.string() + " (scripts/tls-certs " +
                                                           tls_dir + " makes it)"));
      ::setenv(var, path.c_str(), 1);
    }
    trail::bench::tls_run = true;
  }
  std::filesystem::path secret_file;
  if (with_secret) {  // children and clients find it in TRAIL_SECRET_FILE
    secret_file = std::filesystem::temp_directory_path() / ("trail-bench-secret-" + std::to_string(::getpid()));
    auto k = trail::net::create_key(secret_file);
    if (!k) return trail::bench::fail(k.error());
    o.secret = *k;
    ::setenv("TRAIL_SECRET_FILE", secret_file.c_str(), 1);
    trail::bench::authenticated_run = true;
  }
  struct remove_secret {
    std::filesystem::path f;
    ~remove_secret() {
      std::error_code ec;
      if (!f.empty()) std::filesystem::remove(f, ec);
    }
  } secret_guard{secret_file};

  if (*channel) return trail::bench::run_channel(o);
  if (*hop) return trail::bench::run_local_hop(o);
  if (*e2e) return trail::bench::run_e2e(o);
  if (*chain) return trail::bench::run_chain(o);
  if (*fanout) return trail::bench::run_fanout(o);
  if (*data) return trail::bench::run_remote_data(o);
  if (*rhop) return trail::bench::run_remote_hop(o);
  if (*robj) {
    if (robj->count("--sizes") == 0) o.sizes = "64MiB,256MiB,1GiB";
    return trail::bench::run_remote_object(o);
  }
  if (*tput) return trail::bench::run_throughput(o);
  if (*redis) return trail::bench::run_redis(o);
  if (*recovery) {
    if (recovery->count("--runs") == 0) o.runs = 10;
    return trail::bench::run_recovery(o);
  }
  if (*metrics) return trail::bench::run_metrics(o);
  if (*paper) return trail::bench::run_paper(o);
  if (*sort) return trail::bench::run_sort(o, sort_opts);
  if (*stream) return trail::bench::run_streaming(o, so);
  if (*all) {
    if (all->count("--runs") == 0) o.runs = o.quick ? 20 : 1000;
    if (o.quick) o.trips = 2000, o.length = 50, o.width = 100, o.workflow_runs = 1;
    return trail::bench::run_all(o);
  }
  return 1;
}
