// scheduler actor: the node's local scheduler and session tracker.
//
// Follows every session (core::session_table), queues the invocations that
// entry calls and trigger fires ask for, runs them on the executor service as
// executors free up (re-running failures with backoff, core::retry), routes
// sealed objects and announcements to bucket actors, and answers clients when
// their session ends.
//
// Protocol:
//   invoke_atom, app_ref, [args], u32 timeout_ms, bool async -> u64 session, string output
//   result_atom, u64 session                     -> u64 session, string output (waits)
//   status_atom                                  -> string (JSON)
//   app_ref                                      a version was deployed (for app-scoped fires)
//   exec_event                                   from the executor service's I/O thread
//   bucket_result                                from bucket actors
#pragma once

#include <atomic>
#include <memory>

#include <caf/all.hpp>

#include "actors/core/session_table.hpp"
#include "actors/net/transfer.hpp"
#include "actors/types.hpp"
#include "shm/async_log.hpp"
#include "shm/executor_service.hpp"

namespace trail::actors {

struct scheduler_options {
  core::session_limits limits;                  // sessions in flight, default deadline
  std::size_t max_queue = 100000;               // queued invocations before "overloaded"
  std::size_t max_args_bytes = 64 << 10;        // invocation arguments, all together
  std::size_t result_cache = 10000;             // ended sessions kept for `trail result`
  std::size_t result_cache_bytes = 256u << 20;  // ... and their outputs' bytes at most
  std::size_t max_output_bytes = 64u << 20;     // a larger output fails its session
  // A node of a cluster (not standalone): it forwards work it cannot run and
  // runs work of other nodes; see scheduler_cluster.cpp.
  bool cluster = false;
  std::string node_name;                        // --name
  net::transfer_service* xfer = nullptr;        // the data path; outlives the actor
  std::chrono::milliseconds forward_wait{0};    // wait for a local executor before forwarding
  std::shared_ptr<std::atomic<std::uint32_t>> queued;  // published queue length (heartbeats)
};

// REQUIRES: `svc` outlives the actor.
caf::actor spawn_scheduler(caf::actor_system& sys, shm::executor_service* svc, scheduler_options opts);

// Forwards the executor service's events to the scheduler (on the I/O thread;
// never blocks). Events before attach() are dropped: only on_ready can come
// before any dispatch.
class event_forwarder : public shm::pool_events {
 public:
  void attach(caf::actor scheduler);
  void on_ready(int slot) override;
  void on_sealed(const shm::invocation& inv, const shm::sealed& s) override;
  void on_output(const shm::invocation& inv, const shm::sealed& s) override;
  void on_announce(const shm::invocation& inv, std::string_view bucket, std::uint64_t n) override;
  void on_done(const shm::invocation& inv, std::string_view bucket) override;
  void on_finished(const shm::invocation& inv, const status& st) override;
  void on_lost(const shm::invocation& inv, const std::string& why) override;
  void on_executor_died(int slot, const std::string& why) override;
  // Executor output, "[session N function] line", written off the I/O thread.
  void on_log(int slot, const shm::invocation* inv, std::string_view line) override;

  // Where objects' metadata comes from; set before attach().
  shm::store* store = nullptr;

 private:
  void forward(exec_event e);
  shm::async_log log_{stderr};
  std::mutex mu_;
  caf::actor target_;
};

}  // namespace trail::actors
