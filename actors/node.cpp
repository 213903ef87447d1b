#include "actors/node.hpp"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <tuple>

#include <caf/io/all.hpp>

#include "actors/agent.hpp"
#include "actors/cluster_types.hpp"
#include "actors/gateway.hpp"
#include "actors/loop.hpp"
#include "actors/metrics_server.hpp"
#include "actors/peers.hpp"
#include "actors/net/faults.hpp"
#include "actors/net/tls.hpp"
#include "actors/net/transfer.hpp"
#include "actors/registry.hpp"
#include "actors/scheduler.hpp"
#include "actors/types.hpp"
#include "shm/store.hpp"

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

// Removes a default (temporary) state directory on every way out of
// run_node; one the user named stays, with what it keeps.
struct state_dir_guard {
  std::filesystem::path dir;
  bool temporary = true;
  ~state_dir_guard() {
    std::error_code ec;
    if (temporary) std::filesystem::remove_all(dir, ec);
  }
};

// --executor-user: who the executors run as. Only root may switch users,
// and root itself is no sandbox.
result<shm::identity> executor_identity(const std::string& user) {
  if (::geteuid() != 0)
    return status::invalid("--executor-user needs trail-node to run as root (it switches each executor to '" + user +
                           "')");
  passwd pw{}, *found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
    return status::not_found("--executor-user: no user '" + user + "'");
  if (pw.pw_uid == 0) return status::invalid("--executor-user: '" + user + "' is root; name an unprivileged user");
  return shm::identity{pw.pw_uid, pw.pw_gid};
}

// What executors of another user must reach, and nothing more: the store
// becomes theirs to map; the state dir lets their group through to libs/
// (read only), and lists nothing else. The secret file is not in it.
status open_to_executors(const shm::store& store, const std::filesystem::path& dir, const shm::identity& who) {
  if (status st = store.seg().give_to(who.uid, who.gid); !st.ok()) return st;
  std::error_code ec;
  std::filesystem::create_directories(dir / "libs", ec);
  if (ec) return status::internal("cannot create '" + (dir / "libs").string() + "': " + ec.message());
  // Every directory above it must let the executors through, or no library loads.
  auto absolute = std::filesystem::canonical(dir, ec);
  for (auto p = absolute.parent_path(); !ec && !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) break;
    bool through = (st.st_mode & S_IXOTH) || (st.st_uid == who.uid && (st.st_mode & S_IXUSR)) ||
                   (st.st_gid == who.gid && (st.st_mode & S_IXGRP));
    if (!through) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return status::invalid("--executor-user cannot reach the state dir " + absolute.string() + ": " + p.string() +
                             " (mode " + mode + ") does not let it through; choose a --state-dir (or TMPDIR) it can reach");
    }
    if (p == p.root_path()) break;
  }
  for (auto& [path, mode] : {std::pair{dir, 0710}, std::pair{dir / "libs", 0750}})
    if (::chown(path.c_str(), static_cast<uid_t>(-1), who.gid) != 0 || ::chmod(path.c_str(), mode) != 0)
      return status::internal("cannot open '" + path.string() + "' to the executors' group: " + std::strerror(errno));
  return {};
}

// Ends the loop thread (no actor may be left on it) and passes `code` on.
int stop_loop(node_loop& loop, int code) {
  loop.stop();
  return code;
}

// Serves `recorded` and the scheduler's status on `address` (--metrics);
// says where on stdout.
result<std::pair<caf::actor, std::string>> serve_metrics(node_loop& loop, const std::string& address,
                                                         caf::actor scheduler, const metrics::node_metrics& recorded,
                                                         const net::transfer_service* xfer) {
  metrics_server_options mo;
  if (status s = parse_metrics_address(address, mo); !s.ok()) return s;
  mo.source = std::move(scheduler);
  mo.render = [&recorded, xfer](const nlohmann::json& status) {
    metrics::transfer_bytes t;
    if (xfer) {
      auto s = xfer->stats();
      t = {s.pulled_bytes, s.served_bytes};
    }
    return metrics::render_node(status, recorded, t);
  };
  auto m = spawn_metrics_server(loop, std::move(mo));
  if (m) std::printf("trail-node: metrics on %s\n", m->second.c_str());
  return m;
}

}  // namespace

namespace {

std::atomic<bool> restart_requested{false};

// Every coordinator the agent knows (it learns of more from the one it
// joined): handed to the next incarnation (known_coordinators_env).
std::mutex known_mu;
std::vector<std::string> known_coordinators;
std::string join_first;  // handed over to it (agent_options::join_first)

// For the next incarnation (main.cpp reads it): every coordinator known.
void hand_over_known_coordinators() {
  std::lock_guard lock(known_mu);
  if (!join_first.empty()) ::setenv(join_first_env, join_first.c_str(), 1);
  if (known_coordinators.empty()) return;
  std::string all;
  for (auto& c : known_coordinators) all += (all.empty() ? "" : ",") + c;
  ::setenv(known_coordinators_env, all.c_str(), 1);
}

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

  if (opts.state_dir.empty()) remove_dead_temp_dirs("trail-node-");
  // Keys first: a node that cannot read its secret does not start.
  std::optional<net::server_keys> keys;
  if (!opts.secret_file.empty()) {
    auto secret = cluster ? net::load_key(opts.secret_file) : net::load_or_create_key(opts.secret_file);
    if (!secret) return fail("--secret-file: " + secret.error().message());
    keys = net::server_keys{*secret, std::nullopt};
    if (!opts.invoke_token_file.empty()) {
      auto token = net::load_or_create_key(opts.invoke_token_file);
      if (!token) return fail("--invoke-token-file: " + token.error().message());
      keys->invoke_token = *token;
    }
  } else if (!opts.invoke_token_file.empty()) {
    return fail("--invoke-token-file needs --secret-file");
  }
  // TLS: a standalone node's clients; in a cluster, every wire (members.tls).
  net::member_security members;
  if (keys) members.secret = keys->secret;
  std::shared_ptr<net::tls_context> client_tls;
  if (cluster) {
    auto tls = net::member_tls_from(opts.tls_cert, opts.tls_key, opts.tls_ca);
    if (!tls) return fail(tls.error().message());
    members.tls = *tls;
    client_tls = tls->server;
  } else {
    auto tls = net::server_tls_from(opts.tls_cert, opts.tls_key);
    if (!tls) return fail(tls.error().message());
    client_tls = *tls;
  }
  std::optional<shm::identity> executor_user;
  if (!opts.executor_user.empty()) {
    auto who = executor_identity(opts.executor_user);
    if (!who) return fail(who.error().message());
    executor_user = *who;
  }
  state_dir_guard state{opts.state_dir.empty()
                            ? std::filesystem::temp_directory_path() / ("trail-node-" + std::to_string(::getpid()))
                            : opts.state_dir,
                        opts.state_dir.empty()};

  // What the scheduler records for --metrics: it outlives the loop's actors.
  metrics::node_metrics recorded;

  // Fault points of the node wire and the data path, armed by the admin
  // command `fault`; outlives both (declared before them).
  net::faults fault_points;

  caf::actor_system_config cfg;
  configure(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  // The node's actors, its store and its executors live on the loop thread.
  node_loop loop(sys);
  loop.start();

  auto store = shm::store::create({opts.store_size, "store", true});
  if (!store) return stop_loop(loop, fail(store.error().to_string()));
  if (executor_user)
    if (status opened = open_to_executors(**store, state.dir, *executor_user); !opened.ok())
      return stop_loop(loop, fail(opened.message()));
  loop_store data_path_store(loop, **store);

  std::unique_ptr<net::transfer_service> xfer;
  if (cluster) {
    auto x = net::transfer_service::start(
        data_path_store,
        {.host = opts.host, .fault_points = &fault_points, .secret = members.secret, .tls = members.tls});
    if (!x) return stop_loop(loop, fail("cannot serve the data path on " + opts.host + ": " + x.error().message()));
    xfer = std::move(*x);
  }

  scheduler_options sched;
  sched.limits.per_node = opts.max_sessions;
  sched.limits.per_app = opts.max_sessions_per_app;
  sched.cluster = cluster;
  sched.xfer = xfer.get();
  sched.faults = &fault_points;
  sched.forward_wait = opts.forward_wait;
  sched.dispatch = opts.dispatch;
  sched.metrics = &recorded;
  sched.node_name = opts.name;
  shm::pool_options pool;
  pool.executor_path = opts.executor_path;
  pool.executors = opts.executors;
  pool.run_as = executor_user;
  std::promise<status> started;
  auto scheduler_handle = spawn_scheduler(loop, **store, pool, sched, &started);
  if (status up = started.get_future().get(); !up.ok()) {
    sys.await_all_actors_done();
    xfer.reset();
    return stop_loop(loop, fail(up.to_string()));
  }
  // A standalone node with a state dir of the user's keeps its apps across
  // restarts; a cluster node's come from its coordinator.
  std::filesystem::path kept = cluster || state.temporary ? std::filesystem::path() : state.dir / "apps.json";
  auto registry = spawn_registry(loop, {state.dir / "libs", max_library_bytes, kept}, scheduler_handle);

  // Clients reach the node through its gateway on the --listen port: the
  // registry answers them when standalone, the agent in a cluster (which
  // sends them to the coordinator). A cluster node also serves the
  // node-to-node wire (peers.hpp) and joins once both are up.
  caf::actor agent, wire;
  caf::actor front = registry;
  status up;
  caf::actor metrics_server;
  if (!opts.metrics.empty()) {
    auto m = serve_metrics(loop, opts.metrics, scheduler_handle, recorded, xfer.get());
    if (m) metrics_server = m->first;
    else up = m.error();
  }
  std::string wire_address;
  if (cluster) {
    auto p = spawn_peers(loop, opts.host, scheduler_handle, &fault_points, members);
    if (p) {
      std::tie(wire, wire_address) = *p;
      caf::anon_send(scheduler_handle, peers_atom::value, wire);
      agent_options ao;
      ao.coordinators = opts.coordinators;
      ao.incarnation = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
      ao.data = xfer->address();
      ao.executors = static_cast<std::uint32_t>(opts.executors);
      ao.restart = [](const std::string&) { request_restart(); };
      ao.learned = [](const std::vector<std::string>& all) {
        std::lock_guard lock(known_mu);
        known_coordinators = all;
      };
      ao.join_first = [](const std::string& to) {
        std::lock_guard lock(known_mu);
        join_first = to;
      };
      ao.name = opts.name;
      if (keys) ao.secret = net::credentials{keys->secret, net::role::admin};
      ao.tls = members.tls.client;
      agent = spawn_agent(sys, ao, scheduler_handle, registry);
      // Without its agent a node is outside the cluster for good: start over.
      agent->attach_functor([](const caf::error& reason) {
        if (reason != caf::exit_reason::user_shutdown) request_restart();
      });
      front = agent;
    } else {
      up = p.error();
    }
  }
  gateway_options go;
  go.host = opts.host;
  go.port = opts.port;
  go.front = front;
  if (cluster) go.invoke_here = scheduler_handle;
  go.keys = keys;
  go.tls = client_tls;
  auto gateway = up.ok() ? spawn_gateway(loop, go) : result<std::pair<caf::actor, std::uint16_t>>(up);
  caf::expected<std::uint16_t> port{caf::sec::runtime_error};
  if (gateway) port = gateway->second;
  if (gateway && cluster)  // both are up: the agent starts joining
    caf::anon_send(agent, cluster_atom::value, wire_address, opts.host + ":" + std::to_string(*port), gateway->first);
  int code = 0;
  if (!gateway) {
    code = fail(gateway.error().message());  // (each says what it could not listen on, and why)
  } else {
    std::printf("trail-node: listening on %s:%u\n", opts.host.c_str(), static_cast<unsigned>(*port));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR1 && restart_requested) code = restart_exit_code;
    else std::fprintf(stderr, "trail-node: %s, shutting down\n", strsignal(sig));
  }
  for (auto& a : {gateway ? gateway->first : caf::actor{}, metrics_server, agent, wire, registry, scheduler_handle})
    if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();  // the scheduler's end killed and reaped the executors
  if (code == restart_exit_code) hand_over_known_coordinators();  // (no actor runs now)
  xfer.reset();                 // pulls in flight end while the loop still serves them
  return stop_loop(loop, code);  // then the store's segment goes
}

}  // namespace

int run_standalone(const node_options& opts) { return run_node(opts, false); }

int run_cluster(const node_options& opts) { return run_node(opts, true); }

}  // namespace trail::actors
