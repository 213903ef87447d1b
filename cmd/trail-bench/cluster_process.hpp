// A real cluster on loopback for the benchmarks: a coordinator (or several
// sharing a one-member etcd started here: the first holds the shards, the
// others stand by) and nodes n1, n2, ... as child processes. Nodes and
// clients are given every coordinator. Members can be killed and started
// again by name (trail-bench recovery).
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <trail/client.hpp>

#include "bench.hpp"
#include "shm/process.hpp"

namespace trail::bench {

struct cluster_spec {
  int nodes = 2;
  std::string store = "128M";            // each node's --store-size
  int coordinators = 0;                  // 0: one without etcd; N: N sharing an etcd
  std::vector<std::string> coordinator_args;  // more arguments for every coordinator
  int partitions = 1;                    // with N: --partitions (the first ones hold them, in order)
};

class cluster_process {
 public:
  static result<std::unique_ptr<cluster_process>> start(const options& o, int nodes, const std::string& store,
                                                       int coordinators = 0);
  static result<std::unique_ptr<cluster_process>> start(const options& o, const cluster_spec& spec);
  ~cluster_process();  // SIGTERM to every member (nodes first), then etcd

  client& cli() { return *client_; }
  // Every coordinator's address, comma-separated: what nodes and clients are given.
  const std::string& address() const { return address_; }
  // What the members said (the last 64 KiB), for a failed run.
  std::string said();
  status deploy(const std::string& yaml);

  // Members by name: "n1", "n2", ... and "c1", "c2", ... (coordinators, in
  // the order of address()).
  // SIGKILLs it and waits until it is gone.
  status kill(const std::string& name);
  // Starts it again with the arguments it had (a coordinator on its port)
  // and waits until it says `ready` ("joined ", "standing by: ", ...).
  status start_again(const std::string& name, const std::string& ready);
  // The coordinator that holds the shards now ("c1", ...), from the status
  // the client's coordinator gives.
  result<std::string> holder();

 private:
  struct member {
    std::string name;
    std::vector<std::string> args;  // what it was started with (binary first)
    shm::child_process proc;
    std::string seen;  // what this run of it said (the drainer's; the last 64 KiB)
  };
  cluster_process() = default;
  status start_coordinators(const options& o, const cluster_spec& spec);
  status launch(member& m);
  member* find(const std::string& name);
  void drain();  // keeps reading every member's output (no one blocks on a full pipe)

  shm::child_process etcd_;  // with coordinators sharing an etcd
  std::vector<member> members_;  // coordinators first, then nodes
  std::optional<client> client_;
  std::string address_;
  std::filesystem::path dir_;
  int apps_ = 0;
  std::thread drainer_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;  // said_, and the members' processes and output while the drainer reads them
  std::condition_variable heard_;  // the drainer read more
  std::string said_;
};

}  // namespace trail::bench
