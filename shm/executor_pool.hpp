// The node's side of its executor processes: launching them, dispatching
// invocations over their channels, serving their store requests, and noticing
// their deaths at once (one epoll over every executor's doorbell eventfd,
// pidfd and output pipe).
//
// The pool holds every reference an invocation needs (its inputs, its arena,
// objects it created but has not sealed, objects it read with get) and drops
// them when the invocation finishes or its executor dies, so nothing an
// executor does — or fails to do before it is killed — leaks store memory.
//
// Thread-safety: none. Everything, including the events, happens on one
// thread, which must also be the one that started the pool (PR_SET_PDEATHSIG
// is tied to the launching thread). Either that thread waits in poll(), or an
// event loop drives the pool without blocking (the node loop does): it polls
// rings_pending() and the readiness of wait_fd(), calls service() when either
// fires and at next_deadline(), and arms prepare_sleep() before it blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <trail/status.hpp>

#include "schema/channel.hpp"
#include "shm/executor_job.hpp"
#include "shm/process.hpp"
#include "shm/ring.hpp"
#include "shm/store.hpp"

namespace trail::shm {

struct pool_options {
  std::string executor_path;               // the trail-executor binary
  int executors = 2;                       // pool size
  std::uint64_t arena_bytes = 64 << 10;    // scratch per dispatch for small creates
  std::chrono::milliseconds alloc_wait{2000};   // bounded wait for space in a full store
  std::chrono::milliseconds send_timeout{1000}; // a channel full this long means a hung peer
  bool respawn = true;                     // replace dead executors
  std::size_t max_queued = 4;              // invocations waiting in a busy executor's ring, at most
  std::optional<identity> run_as;          // --executor-user: executors run as this user, their
                                           // channels handed to it; none: as the node
};

// What the pool reports. Called from poll(), in the order things happened; an
// invocation's seals, announcements, `done`s and output come in program order,
// before its on_finished.
class pool_events {
 public:
  virtual ~pool_events() = default;
  virtual void on_ready(int /*slot*/) {}
  // An object the invocation sealed (fresh == false: an earlier seal of the
  // same name won and this one was dropped).
  virtual void on_sealed(const invocation&, const sealed&) {}
  // ctx.output(): a sealed object (bucket "", key "output") in the session.
  virtual void on_output(const invocation&, const sealed&) {}
  virtual void on_announce(const invocation&, std::string_view /*bucket*/, std::uint64_t /*n*/) {}
  virtual void on_done(const invocation&, std::string_view /*bucket*/) {}
  // The invocation ran to its end: ok, or failed with the error (user
  // exception, library load error). The executor is idle again.
  virtual void on_finished(const invocation&, const status&) {}
  // The executor died or overran the timeout while running the invocation;
  // it was killed and is being replaced.
  virtual void on_lost(const invocation&, const std::string& /*reason*/) {}
  // The executor died before it started the invocation (which was waiting
  // in its ring): nothing of it ran; it can run elsewhere as it is.
  virtual void on_returned(const invocation&, const std::string& /*reason*/) {}
  // An executor died while idle or starting.
  virtual void on_executor_died(int /*slot*/, const std::string& /*reason*/) {}
  // A line the executor printed; `inv` is what it was running, if anything.
  virtual void on_log(int slot, const invocation* inv, std::string_view line);
};

enum class executor_state : std::uint8_t { starting, idle, busy, dead };

struct executor_info {
  executor_state state = executor_state::dead;
  int pid = 0;
  std::uint64_t invocation = 0;  // when busy: the one it runs
  std::uint32_t queued = 0;      // when busy: invocations waiting behind it in its ring
  bool dying = false;            // killed (timeout, protocol error): takes nothing more
  std::chrono::steady_clock::time_point since{};  // in this state since (idle: last completion)
  std::vector<std::string> libraries;  // loaded (dispatched) libraries
};

class executor_pool {
 public:
  // `store` and `events` must outlive the pool.
  executor_pool(store& st, pool_options opts, pool_events& events);
  ~executor_pool();  // kills and reaps every executor
  executor_pool(const executor_pool&) = delete;
  executor_pool& operator=(const executor_pool&) = delete;

  // Launches the executors (they report on_ready when up).
  status start();
  int size() const;
  // Executors running or starting (dead slots that will not come back excluded).
  int live_executors() const;
  const executor_info& info(int slot) const;
  // An idle executor, preferring one that already loaded `library`.
  std::optional<int> idle_executor(std::string_view library = {}) const;

  // Starts `inv` on executor `slot` if it is idle; if it is busy, queues it
  // in its ring behind what it runs (up to max_queued, and only while the
  // ring keeps room for the replies its running invocation may need), so
  // that it goes on without waiting for the node. Never waits. Errors:
  // invalid_argument (message too large), unavailable (starting, dead,
  // dying, its queue or ring is full: try another, or later).
  status dispatch(int slot, invocation inv);
  // Waits up to `timeout` for work, handles all of it, returns how many
  // events were handled. Spins briefly before blocking when cores allow.
  int poll(std::chrono::milliseconds timeout);

  // -- driven by an event loop (no waiting) -------------------------------------------
  // Handles everything that is there: messages in the rings, deaths, output,
  // timeouts, waiting allocations. With `fds` false, the rings only (no syscall).
  int service(bool fds = true);
  // Whether a ring holds a message. Cheap: two loads per executor.
  bool rings_pending() const;
  // Whether an executor runs an invocation (events are likely soon).
  bool busy() const;
  // Before the caller blocks: asks executors to ring their doorbells (which
  // make wait_fd() readable). False, with nothing armed, when a message is
  // already there. Every true is followed by finish_sleep().
  bool prepare_sleep();
  void finish_sleep();
  // Readable when a doorbell rang, an executor died or printed something.
  int wait_fd() const { return epoll_fd_; }
  // When service() must run next at the latest (an invocation's timeout, a
  // waiting allocation's deadline); nullopt when nothing is timed.
  std::optional<std::chrono::steady_clock::time_point> next_deadline() const;
  // poll() until no executor is starting any more (each is idle, or dead
  // and given up) or `timeout` passes; true when all are idle.
  bool wait_ready(std::chrono::milliseconds timeout);

  // Sends `sig` to an executor (tests; SIGKILL ends its invocation as lost).
  void kill(int slot, int sig);

  // Makes a poll() that is waiting return soon. Callable from any thread.
  void wake();

 private:
  struct slot;
  status launch(slot& s);
  void drain(slot& s);
  int drain_all();
  int handle_fds(int timeout_ms);
  void handle(slot& s, schema::to_node msg);
  void on_death(slot& s, const std::string& why);
  void start_next(slot& s, std::chrono::steady_clock::time_point now);
  void read_output(slot& s, bool flush);
  bool try_allocate(slot& s, std::chrono::steady_clock::time_point now);
  void retry_allocations(std::chrono::steady_clock::time_point now);
  void check_timeouts(std::chrono::steady_clock::time_point now);
  std::chrono::milliseconds next_wait(std::chrono::milliseconds cap) const;
  void reply(slot& s, const schema::to_executor& m);

  struct handlers;
  store& store_;
  pool_options opts_;
  pool_events& events_;
  int epoll_fd_ = -1;
  std::vector<std::unique_ptr<slot>> slots_;
  std::uint64_t seen_free_generation_ = 0;
  spin_policy spin_;
  std::chrono::steady_clock::time_point last_fd_check_{};  // last look at the epoll set
  int wake_fd_ = -1;
};

}  // namespace trail::shm
