// A trail cluster of real processes on loopback for failure scenarios: one
// trail-coordinator and N trail-nodes (n1..nN) as children of this process
// — or, with several coordinators, a one-member etcd ("etcd") and
// coordinators "coordinator" (which holds the shards first), "coordinator2"
// ... (standing by) sharing it, under 2 s leases, each through a link the
// scenario can cut —
// their output in log files, and the faults a scenario injects into them —
// signals, executor kills, restarts — plus the clean-up check after them:
// no executor, shared-memory segment or node state dir left behind.
//
// Threads: the methods are called from the thread running the script and
// from the scenario's timer thread; one mutex guards the members. Children
// are launched with PR_SET_PDEATHSIG of the launching thread (shm/process),
// so only call start()/restart() from threads that outlive the cluster.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <trail/status.hpp>

#include "actors/net/link.hpp"
#include "shm/process.hpp"

namespace trail::cli::scenario {

struct cluster_options {
  int nodes = 3;                              // n1..nN
  int coordinators = 1;                       // more: they share a one-member etcd started here
  int partitions = 1;                         // more (< coordinators): the first ones hold them
  int executors = 2;                          // per node
  std::string store_size = "64M";             // per node
  std::filesystem::path bin_dir;              // holds trail-node and trail-coordinator
  std::filesystem::path work_dir;             // logs; TMPDIR of every process (their state dirs)
  std::chrono::milliseconds ready_timeout{20000};  // for every process to come up (and join)
  std::chrono::milliseconds stop_timeout{10000};   // SIGTERM to SIGKILL
};

// What tearing the cluster down found.
struct teardown_report {
  std::vector<std::string> notes;     // expected clean-up (what killed processes left)
  std::vector<std::string> problems;  // leftovers of clean exits, unclean exits, stray executors
};

class local_cluster {
 public:
  // Starts the coordinator and the nodes and waits until every node joined.
  // Errors: unavailable (a process did not come up: its log tail says why).
  static result<std::unique_ptr<local_cluster>> start(cluster_options opts);

  // Tears down (see down()) if not done yet.
  ~local_cluster();
  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;

  // The coordinators' client addresses ("A,B,...": clients and nodes try them in turn).
  std::string address() const;
  std::vector<std::string> node_names() const;
  // Every member's name: nodes, coordinators, etcd.
  std::vector<std::string> member_names() const;
  bool is_member(const std::string& name) const;
  bool is_node(const std::string& name) const;
  // Several coordinators share an etcd: losing one loses nothing accepted.
  bool durable() const { return opts_.coordinators > 1; }

  // Sends `sig` to member `name` ("coordinator" or a node). SIGKILL marks
  // it as killed on purpose: what it leaves behind is cleaned, not a fault.
  status signal(const std::string& name, int sig);
  // Sends `sig` to one live executor of node `name`; returns its pid.
  result<pid_t> signal_executor(const std::string& name, int sig);
  // Stops member `name` (SIGTERM, or nothing if it is dead), starts it again
  // with the same name (a coordinator on the same address) and waits until
  // it is up (a coordinator of several: holding the shards or standing by;
  // etcd: answering). REQUIRES: called from a thread that outlives the cluster.
  status restart(const std::string& name);
  // With several coordinators, each reaches etcd through a link of its own
  // (net::link): cut it (`partition coordinator | etcd`), or heal every cut
  // one. Errors: invalid (no etcd here), not_found (no such coordinator).
  status cut_from_etcd(const std::string& coordinator);
  void heal_etcd_links();
  // The pids of node `name`'s executors now (children named trail-executor).
  std::vector<pid_t> executors_of(const std::string& name) const;

  // SIGTERM to every node, then the coordinators, then etcd (SIGKILL after
  // stop_timeout); then checks and removes what is left: stray executors,
  // /dev/shm segments and state dirs of these processes. Idempotent.
  teardown_report down();

  // The last `lines` lines member `name` printed (for error messages).
  std::string log_tail(const std::string& name, std::size_t lines = 20) const;

 private:
  struct proc;
  explicit local_cluster(cluster_options opts);
  status launch(const std::string& name, std::vector<std::string> args);  // REQUIRES: mu_ held
  status start_coordinators(std::unique_lock<std::mutex>& lock);
  std::vector<std::string> coordinator_args(const std::string& name) const;
  status wait_ready(const std::string& name, const std::string& needle, std::unique_lock<std::mutex>& lock);
  std::vector<std::string> node_args(const std::string& name) const;
  bool alive(proc& p);  // REQUIRES: mu_ held
  void pump();  // the output thread
  bool read_output(proc& p);  // REQUIRES: mu_ held; false at EOF
  void stop_members(const std::vector<proc*>& ps, std::unique_lock<std::mutex>& lock, teardown_report& r);
  void check_leftovers(teardown_report& r);  // REQUIRES: every member reaped

  const cluster_options opts_;
  mutable std::mutex mu_;
  std::condition_variable said_;      // a member printed a line, or exited
  std::list<proc> procs_;             // every process ever launched (stable addresses), retired ones too
  std::map<std::string, proc*> current_;  // name -> its latest process
  std::string address_;               // the coordinators' ("A,B,...")
  std::map<std::string, std::string> coordinator_at_;  // name -> its client address
  std::vector<std::string> etcd_args_;  // with several coordinators
  std::string etcd_;                    // ... its endpoint
  std::map<std::string, std::unique_ptr<net::link>> etcd_links_;  // coordinator -> its way to etcd
  std::vector<std::string> names_;    // n1..nN
  bool down_ = false;
  int wake_fd_ = -1;                  // eventfd: the pump polls a new set of outputs, or stops
  bool stopping_ = false;
  std::thread pump_;
};

// This process becomes a child subreaper, so that executors whose node died
// are reparented here and can be found and reaped. Idempotent.
void become_subreaper();

// Live children of this process not in `known`, with their command names.
std::vector<std::pair<pid_t, std::string>> stray_children(const std::vector<pid_t>& known);

}  // namespace trail::cli::scenario
