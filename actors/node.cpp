#include "actors/node.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <caf/io/all.hpp>

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

int run_standalone(const node_options& opts) {
  // Every thread started from here on inherits the mask: only sigwait() below
  // sees SIGINT/SIGTERM.
  sigset_t signals = shutdown_signals();
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

  scheduler_options sched;
  sched.limits.per_node = opts.max_sessions;
  sched.limits.per_app = opts.max_sessions_per_app;
  auto scheduler = spawn_scheduler(sys, svc->get(), sched);
  events.attach(scheduler);
  auto registry = spawn_registry(sys, {state.dir / "libs", 256u << 20}, svc->get(), scheduler);

  auto port = sys.middleman().publish(registry, opts.port, opts.host.c_str(), true);
  int code = 0;
  if (!port) {
    code = fail("cannot listen on " + opts.host + ":" + std::to_string(opts.port) + ": " + sys.render(port.error()));
  } else {
    std::printf("trail-node: listening on %s:%u\n", opts.host.c_str(), static_cast<unsigned>(*port));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "trail-node: %s, shutting down\n", strsignal(sig));
  }
  caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(scheduler, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  events.attach(caf::actor{});
  svc->reset();  // executors killed and reaped, segments removed
  return code;
}

}  // namespace trail::actors
