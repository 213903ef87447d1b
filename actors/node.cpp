#include "actors/node.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <caf/io/all.hpp>

#include "actors/agent.hpp"
#include "actors/cluster_types.hpp"
#include "actors/net/transfer.hpp"
#include "actors/registry.hpp"
#include "actors/scheduler.hpp"
#include "actors/types.hpp"
#include "shm/executor_service.hpp"

namespace trail::actors {
namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "trail-node: %s\n", what.c_str());
  return 1;
}

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Removes the state directory on every way out of run_standalone.
struct state_dir_guard {
  std::filesystem::path dir;
  ~state_dir_guard() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// Default state dirs (trail-node-<pid> in the temp dir) of nodes that died
// without cleaning up.
void remove_stale_state_dirs() {
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path(), ec)) {
    std::string name = e.path().filename().string();
    if (!name.starts_with("trail-node-")) continue;
    int pid = std::atoi(name.c_str() + 11);
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove_all(e.path(), ec);
  }
}

}  // namespace

namespace {

std::atomic<bool> restart_requested{false};

// Wakes the main thread's sigwait to shut down and start over.
void request_restart() {
  restart_requested = true;
  ::kill(::getpid(), SIGUSR1);
}

// The part both modes share: executors, scheduler and registry, published on
// the --listen port (the registry for clients standalone, the agent in a
// cluster), until SIGINT/SIGTERM (or SIGUSR1: restart).
int run_node(const node_options& opts, bool cluster) {
  // Every thread started from here on inherits the mask: only sigwait() below
  // sees SIGINT/SIGTERM/SIGUSR1.
  sigset_t signals = shutdown_signals();
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (opts.state_dir.empty()) remove_stale_state_dirs();
  state_dir_guard state{opts.state_dir.empty()
                            ? std::filesystem::temp_directory_path() / ("trail-node-" + std::to_string(::getpid()))
                            : opts.state_dir};

  caf::actor_system_config cfg;
  configure(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};

  event_forwarder events;
  shm::service_options so;
  so.store.capacity = opts.store_size;
  so.pool.executor_path = opts.executor_path;
  so.pool.executors = opts.executors;
  auto svc = shm::executor_service::start(so, events);
  if (!svc) return fail(svc.error().to_string());
  (*svc)->with_store([&](shm::store& st) { events.store = &st; });

  std::unique_ptr<net::transfer_service> xfer;
  if (cluster) {
    auto x = net::transfer_service::start(svc->get(), {.host = opts.host});
    if (!x) return fail("cannot serve the data path on " + opts.host + ": " + x.error().message());
    xfer = std::move(*x);
  }

  scheduler_options sched;
  sched.limits.per_node = opts.max_sessions;
  sched.limits.per_app = opts.max_sessions_per_app;
  sched.cluster = cluster;
  sched.xfer = xfer.get();
  sched.forward_wait = opts.forward_wait;
  sched.queued = std::make_shared<std::atomic<std::uint32_t>>(0);
  auto scheduler_handle = spawn_scheduler(sys, svc->get(), sched);
  events.attach(scheduler_handle);
  auto registry = spawn_registry(sys, {state.dir / "libs", 256u << 20}, svc->get(), scheduler_handle);

  // Standalone, clients talk to the registry on the port. In a cluster the
  // agent answers there; it learns the port only once it is published, and
  // joins then.
  caf::actor agent;
  caf::expected<std::uint16_t> port{caf::sec::runtime_error};
  if (!cluster) {
    port = sys.middleman().publish(registry, opts.port, opts.host.c_str(), true);
  } else {
    agent_options ao;
    ao.coordinator_host = opts.coordinator_host;
    ao.coordinator_port = opts.coordinator_port;
    ao.incarnation = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    ao.data = xfer->address();
    ao.executors = static_cast<std::uint32_t>(opts.executors);
    ao.restart = [](const std::string&) { request_restart(); };
    ao.name = opts.name;
    ao.queued = sched.queued;
    agent = spawn_agent(sys, ao, svc->get(), scheduler_handle, registry);
    // Without its agent a node is outside the cluster for good: start over.
    agent->attach_functor([](const caf::error& reason) {
      if (reason != caf::exit_reason::user_shutdown) request_restart();
    });
    port = sys.middleman().publish(agent, opts.port, opts.host.c_str(), true);
    // Only now is the port known: the agent starts joining.
    if (port) caf::anon_send(agent, cluster_atom::value, opts.host + ":" + std::to_string(*port));
  }
  int code = 0;
  if (!port) {
    code = fail("cannot listen on " + opts.host + ":" + std::to_string(opts.port) + ": " + sys.render(port.error()));
  } else {
    std::printf("trail-node: listening on %s:%u\n", opts.host.c_str(), static_cast<unsigned>(*port));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR1 && restart_requested) code = restart_exit_code;
    else std::fprintf(stderr, "trail-node: %s, shutting down\n", strsignal(sig));
  }
  for (auto& a : {agent, registry, scheduler_handle})
    if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  events.attach(caf::actor{});
  xfer.reset();  // pulls in flight end before the store goes
  svc->reset();  // executors killed and reaped, segments removed
  return code;
}

}  // namespace

int run_standalone(const node_options& opts) { return run_node(opts, false); }

int run_cluster(const node_options& opts) { return run_node(opts, true); }

}  // namespace trail::actors
