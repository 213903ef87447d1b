// trail-bench remote-hop, remote-object and throughput: a real cluster on
// loopback — a trail-coordinator and N trail-node processes started here —
// measured beside TCP loopback floors taken in the same run (one way and
// round trip).
#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include <trail/client.hpp>

#include "actors/core/address_list.hpp"
#include "actors/core/partitions.hpp"
#include "bench.hpp"
#include "cluster_process.hpp"
#include "floors.hpp"
#include "node_process.hpp"
#include "stats.hpp"

namespace trail::bench {
namespace {

using namespace std::chrono_literals;

std::string pinned_yaml(const options& o, const std::string& app) {
  return "app: " + app + "\nlibrary: " + o.library_path +
         "\nentry: hop_src\nfunctions:\n  - { name: hop_src, node: n1 }\n  - { name: hop_dst, node: n2 }\n"
         "buckets:\n  - name: hop\n    triggers:\n      - { type: immediate, target: hop_dst }\n";
}

}  // namespace

// A one-way hop between nodes: from the send of hop_src on n1 (the
// session's home: its entry is pinned there) to the entry of hop_dst on n2,
// beside a one-way TCP message between two threads (and the round trip).
int run_remote_hop(const options& o) {
  auto sizes = parse_sizes(o.payloads.empty() ? "100B,64KiB,1MiB" : o.payloads);
  if (!sizes) return fail(sizes.error());
  auto c = cluster_process::start(o, 2, "256M");
  if (!c) return fail(c.error());
  if (auto s = (*c)->deploy(pinned_yaml(o, "rhop")); !s.ok()) return fail(s);
  auto floor = summarize(tcp_oneway_us(5000));
  auto tcp = summarize(tcp_rtt_us(5000));
  for (std::uint64_t size : *sizes) {
    std::vector<double> us;
    for (std::size_t i = 0; i < o.runs + o.runs / 10 + 1; ++i) {
      auto r = (*c)->cli().invoke("rhop", {std::to_string(size)}, 60s);
      if (!r) {
        std::fprintf(stderr, "%s", (*c)->said().c_str());
        return fail(r.error());
      }
      if (i > o.runs / 10) us.push_back(std::stod(r->output) / 1000.0);
    }
    emit({{"bench", "remote-hop"}, {"payload_bytes", size}, {"runs", o.runs}, {"tcp_rtt_p50_us", tcp.p50_us}},
         summarize(us), "tcp_oneway", "block", floor);
  }
  return 0;
}

// One node: a standalone node (trail-node --standalone); more: a cluster
// behind its coordinator. Either way the clients talk to one address (a
// coordinator sends them on to nodes, unless --via-coordinator).
int run_throughput(const options& o) {
  std::unique_ptr<node_process> node;
  std::unique_ptr<cluster_process> cluster;
  std::string address;
  if (o.partitions > 1 && o.coordinators <= o.partitions)
    return fail(status::invalid("--partitions " + std::to_string(o.partitions) + " wants at least " +
                                std::to_string(o.partitions + 1) + " --coordinators"));
  // One app per partition (named so that it lands there: a cluster's
  // coordinators have two shards each); client i invokes app i % K.
  std::vector<std::string> apps;
  const core::partition_layout layout{static_cast<std::uint32_t>(o.partitions), 2};
  for (std::uint32_t p = 0; p < layout.partitions; ++p)
    for (int n = 0;; ++n) {
      std::string name = "tput" + std::to_string(n);
      if (layout.partition_of_app(name) != p || std::find(apps.begin(), apps.end(), name) != apps.end()) continue;
      apps.push_back(name);
      break;
    }
  auto yaml_of = [&](const std::string& app) {
    return "app: " + app + "\nlibrary: " + o.library_path + "\nentry: noop_out\nfunctions:\n  - { name: noop_out }\n";
  };
  std::string yaml = yaml_of(apps[0]);
  if (o.nodes == 1 && o.coordinators == 0) {
    auto n = node_process::start(o.node_path, "128M", o.executors);
    if (!n) return fail(n.error());
    node = std::move(*n);
    if (auto s = node->deploy(yaml); !s.ok()) return fail(s);
    address = node->address();
  } else {
    auto c = cluster_process::start(o, cluster_spec{o.nodes, "128M", o.coordinators, {}, o.partitions});
    if (!c) return fail(c.error());
    cluster = std::move(*c);
    for (auto& app : apps)
      if (auto s = cluster->deploy(yaml_of(app)); !s.ok()) return fail(s);
    address = cluster->address();
  }
  auto floor = summarize(tcp_rtt_us(5000));
  // Closed loop: `clients` threads, each with its own connection, invoke
  // synchronously, back to back; a round ends when all `burst` invocations did.
  const std::size_t burst = std::max<std::size_t>(o.runs, 100);
  const int clients = o.clients;
  std::vector<std::optional<client>> conns;
  for (int i = 0; i < clients; ++i) {
    auto cl = client::connect(address);
    if (!cl) return fail(cl.error());
    cl->set_direct_invokes(!o.via_coordinator);
    conns.emplace_back(std::move(*cl));
  }
  std::vector<double> per_invocation_us;
  for (std::size_t round = 0; round < o.workflow_runs + 1; ++round) {
    std::atomic<std::int64_t> left{static_cast<std::int64_t>(burst)};
    std::atomic<bool> failed{false};
    std::string error;
    std::mutex mu;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
      threads.emplace_back([&, i] {
        while (!failed && left.fetch_sub(1) > 0) {
          auto r = conns[i]->invoke(apps[static_cast<std::size_t>(i) % apps.size()], {}, 60s);
          if (!r) {
            std::lock_guard lock(mu);
            failed = true;
            error = r.error().to_string();
          }
        }
      });
    for (auto& t : threads) t.join();
    auto t1 = std::chrono::steady_clock::now();
    if (failed) return fail(status::unavailable(error));
    if (round > 0) per_invocation_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / burst);
  }
  auto s = summarize(per_invocation_us);
  emit({{"bench", "throughput"}, {"nodes", o.nodes}, {"coordinators", std::max(o.coordinators, node ? 0 : 1)},
        {"etcd", o.coordinators > 0}, {"partitions", node ? 1 : o.partitions}, {"mode", node ? "standalone" : "cluster"},
        {"via_coordinator", !node && o.via_coordinator},
        {"executors_per_node", o.executors}, {"clients", clients},
        {"burst", burst}, {"invocations_per_s", 1e6 / s.p50_us}},
       s, "tcp_rtt", "block", floor, false);
  return 0;
}

// One object made on n1 and consumed on n2 of a real two-node cluster: the
// whole hop (report, pull into the consumer's store, dispatch) per size.
int run_remote_object(const options& o) {
  auto sizes = parse_sizes(o.sizes);
  if (!sizes) return fail(sizes.error());
  std::uint64_t largest = *std::max_element(sizes->begin(), sizes->end());
  std::string store = std::to_string((largest + (largest >> 3) + (128ull << 20)) >> 20) + "M";
  auto c = cluster_process::start(o, 2, store);
  if (!c) return fail(c.error());
  std::string yaml = "app: robj\nlibrary: " + o.library_path +
                     "\nentry: big_src\nfunctions:\n  - { name: big_src, node: n1, timeout_ms: 600000 }\n"
                     "  - { name: big_dst, node: n2, timeout_ms: 600000 }\n"
                     "buckets:\n  - name: big\n    triggers:\n      - { type: immediate, target: big_dst }\n";
  if (auto s = (*c)->deploy(yaml); !s.ok()) return fail(s);
  auto floor = summarize(tcp_rtt_us(5000));
  for (auto size : *sizes) {
    std::size_t runs = o.data_runs ? o.data_runs : std::clamp<std::size_t>((2ull << 30) / std::max<std::uint64_t>(size, 1), 3, 200);
    std::vector<double> us;
    for (std::size_t i = 0; i < runs + 1; ++i) {
      auto r = (*c)->cli().invoke("robj", {std::to_string(size)}, 600s);
      if (!r) return fail(r.error());
      auto space = r->output.find(' ');
      if (r->output.substr(space + 1) != "0") return fail(status::internal("object arrived damaged: " + r->output));
      if (i > 0) us.push_back(std::stod(r->output.substr(0, space)) / 1000.0);
    }
    auto s = summarize(us);
    emit({{"bench", "remote-object"}, {"size", size}, {"runs", runs},
          {"mib_per_s", s.p50_us > 0 ? (size / double(1 << 20)) / (s.p50_us / 1e6) : 0.0}},
         s, "tcp_rtt", "block", floor);
  }
  return 0;
}

}  // namespace trail::bench
