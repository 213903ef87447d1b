// trail-bench subcommands share these options and helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <trail/status.hpp>

#include "actors/net/auth.hpp"

namespace trail::bench {

struct options {
  bool json = false;             // results as JSON lines (the only format for now)
  std::size_t trips = 20000;     // measured round trips (after a 10 % warm-up)
  std::string executor_path;     // trail-executor binary (default: beside trail-bench)
  std::string library_path;      // benchmark functions (default: ../lib/libtrail_bench_functions.so)
  std::string node_path;         // trail-node binary (default: beside trail-bench)
  std::size_t runs = 300;        // invocations per result line (local-hop, e2e)
  std::size_t workflow_runs = 5; // whole workflows per result (chain, fanout)
  std::uint64_t length = 1000;   // chain length
  std::uint64_t width = 4000;    // fan-out width
  int executors = 2;             // executors of the benchmark's node (each node's, in a cluster)
  int nodes = 3;                 // cluster size (throughput)
  int coordinators = 0;          // throughput: 0, one coordinator alone; N, N sharing an etcd (one holds
                                 // the shards, the others stand by)
  int partitions = 1;            // throughput: --partitions of the coordinators (< coordinators)
  int clients = 8;               // concurrent client connections (throughput)
  bool via_coordinator = false;  // throughput: every invoke through the coordinator (no direct invokes)
  std::string sizes = "8B,4KiB,1MiB,64MiB,1GiB";  // object sizes (remote-data)
  std::size_t data_runs = 0;     // pulls per size (remote-data); 0 = scaled to the size
  std::string payloads;          // hop payload sizes (local-hop, remote-hop); empty: each one's default
  std::string out_dir;           // paper: where results and figures go
  bool quick = false;            // all: small sizes and few runs (a smoke test, not a measurement)
  std::optional<net::key> secret;  // --secret: every process and client proves this cluster secret
};

inline int fail(const status& s) {
  std::fprintf(stderr, "trail-bench: %s\n", s.to_string().c_str());
  return 1;
}

int run_channel(const options& o);
int run_local_hop(const options& o);
int run_e2e(const options& o);
int run_chain(const options& o);
int run_fanout(const options& o);
int run_remote_data(const options& o);
int run_remote_object(const options& o);
// "8B,4KiB,1MiB" -> bytes; errors quote the item.
result<std::vector<std::uint64_t>> parse_sizes(const std::string& text);
int run_remote_hop(const options& o);
int run_throughput(const options& o);
// trail-bench recovery: from a failure (an executor, a node, the coordinator) to the session's output.
int run_recovery(const options& o);
int run_all(const options& o);
// trail-bench redis: worker processes chained through Redis lists, as local-hop and e2e.
int run_redis(const options& o);
// trail-bench paper: the evaluation's sweeps, as JSON and one SVG per figure.
int run_paper(const options& o);
// trail-bench metrics: the cost of recording a hop's metrics beside a local hop.
int run_metrics(const options& o);
// Back-to-back local hops on a node of their own (local-hop's second case),
// about o.runs of them: each hop in µs.
result<std::vector<double>> back_to_back_hops_us(const options& o);

}  // namespace trail::bench
