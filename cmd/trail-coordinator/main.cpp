// trail-coordinator: the coordinator of a trail cluster — N shards, each
// owning a disjoint set of apps; nodes join it with `trail-node
// --coordinator`, clients connect to it with `trail --connect`.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/io/all.hpp>

#include "actors/control_gate.hpp"
#include "actors/coordinator.hpp"
#include "actors/gateway.hpp"
#include "actors/loop.hpp"
#include "actors/metrics.hpp"
#include "actors/metrics_server.hpp"
#include "actors/shard_claim.hpp"
#include "actors/types.hpp"

namespace {

struct dir_guard {
  std::filesystem::path dir;
  bool owned = false;
  ~dir_guard() {
    std::error_code ec;
    if (owned) std::filesystem::remove_all(dir, ec);
  }
};

// run()'s exit code when the coordinator was fenced and must start over.
constexpr int restart_exit_code = 75;
// Set across that exec: etcd answered the process before, so the new one
// waits out an etcd outage instead of failing its first look.
constexpr const char* started_over_env = "TRAIL_COORDINATOR_STARTED_OVER";
// ... and set when it stepped down (coordinator.hpp): it holds off its claim a while.
constexpr const char* stepped_down_env = "TRAIL_COORDINATOR_STEPPED_DOWN";
std::atomic<bool> stepped_down{false};

int run(int argc, char** argv);

// The port a `--listen HOST:0` was given (with etcd): kept when it starts
// over, so that it stays at the address the others list it under.
std::string picked_listen;

// argv with its --listen replaced by picked_listen, if any.
std::vector<std::string> restart_args(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (picked_listen.empty()) return args;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--listen" && i + 1 < args.size()) args[i + 1] = picked_listen;
    else if (args[i].rfind("--listen=", 0) == 0) args[i] = "--listen=" + picked_listen;
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  int code = run(argc, argv);
  if (code == restart_exit_code) {
    // Fenced: everything of this run is gone; start over with the same
    // arguments, as a standby until it claims the shards afresh. No
    // descriptor may leak into the next.
    ::close_range(3, ~0u, 0);
    // Pending signals outlive exec: drop a SIGUSR1 still pending (SIGINT and SIGTERM stay).
    sigset_t fenced;
    sigemptyset(&fenced);
    sigaddset(&fenced, SIGUSR1);
    timespec now{0, 0};
    while (sigtimedwait(&fenced, nullptr, &now) == SIGUSR1) {
    }
    ::setenv(started_over_env, "1", 1);
    if (stepped_down) ::setenv(stepped_down_env, "1", 1);
    auto args = restart_args(argc, argv);
    std::vector<char*> again;
    for (auto& a : args) again.push_back(a.data());
    again.push_back(nullptr);
    ::execv("/proc/self/exe", again.data());
    std::perror("trail-coordinator: cannot restart");
    return 1;
  }
  return code;
}

namespace {

int run(int argc, char** argv) {
  trail::actors::coordinator_options opts;
  std::string listen = "127.0.0.1:7400";
  std::uint32_t timeout_ms = 1000, wait_ms = 10000;
  std::string metrics;
  CLI::App app{"trail-coordinator: the coordinator of a trail cluster (sharded; nodes join it, clients connect to it)"};
  app.add_option("--listen", listen, "HOST:PORT for nodes and clients (port 0: any free port, kept when it starts over); "
                 "with --etcd a standby listens there too and answers every request 'standing by' (naming the holder)")
      ->capture_default_str();
  app.add_option("--shards", opts.shards, "coordinator shards; each owns a disjoint set of apps")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--state-dir", opts.state_dir, "where uploaded libraries are checked (default: a temp dir)");
  app.add_option("--node-timeout-ms", timeout_ms, "a node silent this long is declared dead")
      ->check(CLI::Range(200, 60000))
      ->capture_default_str();
  app.add_option("--placement-wait-ms", wait_ms, "how long an invocation waits for a node that can run its app")
      ->check(CLI::Range(0, 600000))
      ->capture_default_str();
  unsigned lease_seconds = 3;
  app.add_option("--lease-seconds", lease_seconds,
                 "with --etcd: the lease under which this coordinator holds the shards; a standby takes them over "
                 "within about two lease periods of its loss; a holder that cannot renew it pauses (no joins, "
                 "client requests held up to 5 s) and its nodes join the coordinator that holds them; a holder "
                 "left without nodes for two lease periods while another coordinator is listed steps down for it")
      ->check(CLI::Range(2, 60))
      ->capture_default_str();
  app.add_option("--etcd", opts.etcd,
                 "HOST:PORT[,HOST:PORT...] of etcd: deployed apps are kept there and deployed again when the "
                 "coordinator starts (default: none, apps live as long as the coordinator)");
  std::string secret_file, token_file;
  app.add_option("--secret-file", secret_file,
                 "the cluster's secret: clients and nodes must prove they hold it; created (mode 0600) when missing "
                 "(or TRAIL_SECRET_FILE; default: no authentication)");
  app.add_option("--invoke-token-file", token_file,
                 "a second key, for clients that may only invoke and read (created when missing; needs --secret-file)");
  app.add_option("--metrics", metrics, "HOST:PORT to serve Prometheus metrics on (GET /metrics; a standby serves them "
                 "too, trail_coordinator_holds_shards 0); port 0: any free port");
  std::string tls_cert, tls_key;
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain: clients and nodes reach it over TLS (or "
                                         "TRAIL_TLS_CERT; scripts/tls-certs makes one); needs --tls-ca too");
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert (or TRAIL_TLS_KEY)");
  std::string tls_ca;
  app.add_option("--tls-ca", tls_ca, "PEM CA certificate the nodes' must be signed by (or TRAIL_TLS_CA); with "
                                     "--tls-cert, every wire between members is TLS");
  CLI11_PARSE(app, argc, argv);
  auto tls = trail::net::member_tls_from(tls_cert, tls_key, tls_ca);
  if (!tls) {
    std::fprintf(stderr, "trail-coordinator: %s\n", tls.error().message().c_str());
    return 2;
  }
  opts.members.tls = *tls;
  trail::actors::metrics_server_options mo;
  if (!metrics.empty())
    if (auto s = trail::actors::parse_metrics_address(metrics, mo); !s.ok()) {
      std::fprintf(stderr, "trail-coordinator: %s\n", s.message().c_str());
      return 2;
    }
  if (const char* env = std::getenv("TRAIL_SECRET_FILE"); env && *env && secret_file.empty()) secret_file = env;
  std::optional<trail::net::server_keys> keys;
  if (!secret_file.empty()) {
    auto secret = trail::net::load_or_create_key(secret_file);
    if (!secret) {
      std::fprintf(stderr, "trail-coordinator: --secret-file: %s\n", secret.error().message().c_str());
      return 2;
    }
    keys = trail::net::server_keys{*secret, std::nullopt};
    opts.members.secret = *secret;
    if (!token_file.empty()) {
      auto token = trail::net::load_or_create_key(token_file);
      if (!token) {
        std::fprintf(stderr, "trail-coordinator: --invoke-token-file: %s\n", token.error().message().c_str());
        return 2;
      }
      keys->invoke_token = *token;
    }
  } else if (!token_file.empty()) {
    std::fprintf(stderr, "trail-coordinator: --invoke-token-file needs --secret-file\n");
    return 2;
  }
  opts.node_timeout = std::chrono::milliseconds(timeout_ms);
  opts.placement_wait = std::chrono::milliseconds(wait_ms);

  std::string host;
  std::uint16_t port = 0;
  auto colon = listen.rfind(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port");
    host = listen.substr(0, colon);
    int p = std::stoi(listen.substr(colon + 1));
    if (p < 0 || p > 65535) throw std::out_of_range("port");
    port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    std::fprintf(stderr, "trail-coordinator: --listen: invalid address '%s': expected HOST:PORT\n", listen.c_str());
    return 2;
  }
  dir_guard state{opts.state_dir, opts.state_dir.empty()};
  if (state.owned) {
    trail::actors::remove_dead_temp_dirs("trail-coordinator-");  // left by SIGKILLed predecessors
    state.dir = std::filesystem::temp_directory_path() / ("trail-coordinator-" + std::to_string(::getpid()));
    opts.state_dir = state.dir;
  }

  // Blocked before any thread starts: every thread inherits it.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // fenced: start over as a standby
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config cfg;
  trail::actors::configure(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  trail::actors::node_loop loop(sys);
  loop.start();
  // Clients and joining nodes talk to the gateway on --listen. It listens
  // from the start: until this process holds the shards it answers every
  // request "standing by" (so clients and nodes move on to the coordinator
  // that holds them, and say why); then it serves the front, and tells
  // joining nodes the control port (CAF) they join on.
  trail::actors::gateway_options go;
  go.host = host;
  go.port = port;
  go.keys = keys;
  go.tls = tls->server;
  go.standing_by = "trail-coordinator at " + listen + " is starting";
  auto gateway = trail::actors::spawn_gateway(loop, go);
  caf::actor warden;  // renews the claim's lease
  caf::actor front, keeper, metrics_server;
  // Its metrics are served from the start too: a standby's say it holds no shards.
  caf::actor standby_status = trail::actors::spawn_standby_status(sys, go.standing_by);
  std::unique_ptr<trail::actors::control_gate> gate;
  int code = 0;
  bool restart = false;
  std::optional<trail::actors::shard_claim> claim;
  if (!gateway) {
    std::fprintf(stderr, "trail-coordinator: %s\n", gateway.error().message().c_str());
    code = 1;
  } else if (port == 0) {
    port = gateway->second;
    listen = host + ":" + std::to_string(port);
    if (!opts.etcd.empty()) picked_listen = listen;  // (kept when it starts over: the others list it there)
  }
  if (gateway && !metrics.empty()) {
    mo.source = standby_status;  // (the front's status once it serves)
    mo.render = [](const nlohmann::json& status) { return trail::metrics::render_coordinator(status); };
    auto m = trail::actors::spawn_metrics_server(loop, std::move(mo));
    if (m) {
      metrics_server = m->first;
      std::printf("trail-coordinator: metrics on %s\n", m->second.c_str());
      std::fflush(stdout);
    } else {
      std::fprintf(stderr, "trail-coordinator: %s\n", m.error().message().c_str());
      code = 1;
    }
  }

  // With etcd, the shards belong to the coordinator holding their claim:
  // wait for it (standing by while another holds it).
  const bool started_over = std::getenv(started_over_env) != nullptr;
  const bool after_stepping_down = std::getenv(stepped_down_env) != nullptr;
  ::unsetenv(started_over_env);
  ::unsetenv(stepped_down_env);
  if (code == 0 && !opts.etcd.empty()) {
    caf::actor gw = gateway->first;
    std::string me = listen;
    trail::actors::claim_options co;
    co.ttl = std::chrono::seconds(lease_seconds);
    co.wait = [&](std::chrono::milliseconds d) {
      timespec ts{d.count() / 1000, (d.count() % 1000) * 1000000};
      // (SIGUSR1: a fenced predecessor's late word; not a reason to stop)
      int sig = sigtimedwait(&signals, nullptr, &ts);
      return sig == SIGINT || sig == SIGTERM;
    };
    co.known_etcd = started_over;
    if (after_stepping_down) co.hold_off = co.ttl;  // (a standby looks every third of it)
    co.standing_by = [gw, me, standby_status](const std::string& what, const std::string& holder) {
      std::string said = "trail-coordinator at " + me + " is " + what;
      std::string to = holder == me ? std::string() : holder;  // (its own earlier claim, running out)
      caf::anon_send(gw, trail::actors::standby_atom::value, said, to);
      caf::anon_send(standby_status, trail::actors::standby_atom::value, said, to);
    };
    auto c = trail::actors::claim_shards(opts.etcd, listen, co);
    if (!c && c.error().message() != trail::actors::stopped_standing_by) {  // (stopped: SIGTERM, say)
      std::fprintf(stderr, "trail-coordinator: cannot claim the shards in etcd at %s: %s\n", opts.etcd.c_str(),
                   c.error().message().c_str());
      code = 1;
    }
    if (c) {
      claim = std::move(*c);
      std::printf("trail-coordinator: holds the shards as %s\n", claim->identity.c_str());
      std::fflush(stdout);
      opts.claim = claim->identity;
      // Once: the lease warden and the keeper may both learn it, and a second
      // signal must not reach the standby this process becomes.
      opts.fenced = [](const std::string& why) {
        static std::atomic<bool> said{false};
        if (said.exchange(true)) return;
        trail::actors::log_line("trail-coordinator: fenced: " + why + "; starting over as a standby");
        ::kill(::getpid(), SIGUSR1);
      };
      opts.step_down_after = 2 * co.ttl;
      opts.step_down = [](const std::string& why) {
        if (stepped_down.exchange(true)) return;
        trail::actors::log_line("trail-coordinator: stepping down: " + why + "; starting over as a standby");
        ::kill(::getpid(), SIGUSR1);
      };
    }
  }

  const bool serve = code == 0 && (opts.etcd.empty() || claim);
  if (claim) warden = trail::actors::spawn_lease_warden(sys, *claim, opts.fenced);
  auto coordinator = serve ? trail::actors::spawn_coordinator(loop, host, opts)
                           : trail::result<trail::actors::coordinator_handles>(trail::status::unavailable("not serving"));
  if (coordinator) front = coordinator->front, keeper = coordinator->keeper;
  if (warden && front) caf::anon_send(warden, front);  // told who else is listed in etcd
  // Nodes join over CAF on a control port. With a secret or TLS it is a
  // gate (control_gate.hpp) that admits only peers proving they hold the
  // secret, and carries BASP through TLS.
  caf::expected<std::uint16_t> control{caf::sec::runtime_error};
  if (front && (keys || opts.members.tls)) {
    auto g = trail::actors::control_gate::start(sys, front, host, opts.members);
    if (g) {
      gate = std::move(*g);
      control = gate->port();
    } else {
      coordinator = g.error();
    }
  } else if (front) {
    control = sys.middleman().publish(front, 0, host.c_str(), true);
  }
  if (control) {
    caf::anon_send(gateway->first, trail::actors::serve_atom::value, front, host + ":" + std::to_string(*control),
                   coordinator->control_wire);
    if (metrics_server) caf::anon_send(metrics_server, trail::actors::source_atom::value, front);
  }
  // Fenced while starting (its restore refused, say): start over, as when fenced later.
  auto fenced_already = [&] {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    timespec now{0, 0};
    return sigtimedwait(&usr1, nullptr, &now) == SIGUSR1;
  };
  if (!serve) {
    // (did not get as far: said why above, or stopped while standing by)
  } else if (!control && claim && fenced_already()) {
    restart = true;
  } else if (!control) {
    std::string why = !coordinator ? coordinator.error().message() : sys.render(control.error());
    std::fprintf(stderr, "trail-coordinator: cannot listen on %s: %s\n", listen.c_str(), why.c_str());
    code = 1;
  } else {
    std::printf("trail-coordinator: listening on %s:%u\n", host.c_str(), static_cast<unsigned>(port));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
    restart = sig == SIGUSR1;
    if (!restart) std::fprintf(stderr, "trail-coordinator: %s, shutting down\n", strsignal(sig));
  }
  if (gateway) caf::anon_send_exit(gateway->first, caf::exit_reason::user_shutdown);
  if (metrics_server) caf::anon_send_exit(metrics_server, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(standby_status, caf::exit_reason::user_shutdown);
  gate.reset();
  if (front) caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
  front = nullptr;
  if (keeper) {
    // The keeper ends once the front and the shards, who send it writes, are
    // gone; its last writes (ends still waiting for company) need the claim,
    // so the lease is revoked only after them.
    caf::scoped_actor self{sys};
    self->monitor(keeper);
    keeper = nullptr;
    coordinator = trail::status::unavailable("stopped");
    self->receive([](const caf::down_msg&) {},
                  caf::after(std::chrono::seconds(10)) >> [] {
                    std::fprintf(stderr, "trail-coordinator: the keeper did not end in 10 s; stopping anyway\n");
                  });
  }
  if (warden) caf::anon_send_exit(warden, caf::exit_reason::user_shutdown);  // revokes the lease: a standby takes over
  sys.await_all_actors_done();
  loop.stop();
  return restart ? restart_exit_code : code;
}

}  // namespace
