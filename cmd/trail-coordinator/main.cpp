// trail-coordinator: the coordinator of a trail cluster — N shards, each
// owning a disjoint set of apps; nodes join it with `trail-node
// --coordinator`, clients connect to it with `trail --connect`.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/io/all.hpp>

#include "actors/control_gate.hpp"
#include "actors/core/address_list.hpp"
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
  // Named so after starting over too (it runs /proc/self/exe: "exe"), for ps
  // and pgrep (the kernel keeps 15 bytes: "trail-coordinat").
  ::prctl(PR_SET_NAME, "trail-coordinator");
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

// What the command line asked for, checked.
struct settings {
  trail::actors::coordinator_options opts;
  std::string listen = "127.0.0.1:7400";
  std::string host;
  std::uint16_t port = 0;
  std::string advertise;  // --advertise: the host others reach this one at
  // This coordinator as others reach it: what etcd lists, what standbys
  // send clients to (the port is --listen's, once picked).
  std::string advertised() const { return advertise.empty() ? listen : advertise + ":" + std::to_string(port); }
  unsigned lease_seconds = 3;
  std::string metrics;
  trail::actors::metrics_server_options mo;
  std::optional<trail::net::server_keys> keys;  // with --secret-file
  std::shared_ptr<trail::net::tls_context> tls;  // with --tls-cert: clients' TLS
};

// Fills `s` from the command line; an exit code when the process should stop
// there (--help, bad input: said on stderr).
std::optional<int> parse(int argc, char** argv, settings& s) {
  auto& opts = s.opts;
  std::uint32_t timeout_ms = 1000, wait_ms = 10000;
  CLI::App app{"trail-coordinator: the coordinator of a trail cluster (sharded; nodes join it, clients connect to it)"};
  app.add_option("--listen", s.listen, "HOST:PORT for nodes and clients (port 0: any free port, kept when it starts over); "
                 "with --etcd a standby listens there too and answers every request 'standing by' (naming the holder)")
      ->capture_default_str();
  app.add_option("--advertise", s.advertise,
                 "with --etcd: the HOST other machines reach this coordinator at (its port is --listen's); etcd "
                 "lists it there, so nodes and clients learn of it, and standbys send clients to it; give it when "
                 "--listen is on every interface (0.0.0.0) (default: --listen's host)");
  app.add_option("--shards", opts.shards, "coordinator shards (per partition); each owns a disjoint set of apps")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--partitions", opts.partitions,
                 "with --etcd: split the cluster's shards into this many partitions, each held by one coordinator "
                 "process (its apps, sessions and nodes), so that the loss of one coordinator halts only its "
                 "partition until a standby claims it; run at least one coordinator more than partitions. Fixed "
                 "when the cluster is made in etcd: every coordinator is given the same (and the same --shards)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--state-dir", opts.state_dir, "where uploaded libraries are checked (default: a temp dir)");
  app.add_option("--node-timeout-ms", timeout_ms, "a node silent this long is declared dead")
      ->check(CLI::Range(200, 60000))
      ->capture_default_str();
  app.add_option("--placement-wait-ms", wait_ms, "how long an invocation waits for a node that can run its app")
      ->check(CLI::Range(0, 600000))
      ->capture_default_str();
  app.add_option("--lease-seconds", s.lease_seconds,
                 "with --etcd: the lease under which this coordinator holds the shards; a standby takes them over "
                 "within about two lease periods of its loss; a holder that cannot renew it pauses (no joins, "
                 "client requests held up to 5 s) and its nodes join the coordinator that holds them; a holder "
                 "left without nodes for two lease periods while another coordinator is listed steps down for it")
      ->check(CLI::Range(2, 60))
      ->capture_default_str();
  app.add_option("--etcd", opts.etcd,
                 "HOST:PORT[,HOST:PORT...] of etcd: deployed apps are kept there and deployed again when the "
                 "coordinator starts (default: none, apps live as long as the coordinator)");
  std::string etcd_prefix;
  app.add_option("--etcd-prefix", etcd_prefix,
                 "with --etcd: the cluster's keys live under PREFIX (e.g. clusters/prod/), so that several "
                 "clusters share one etcd; every coordinator of a cluster is given the same (default: none, keys "
                 "under trail/ at etcd's root)");
  std::string secret_file, token_file;
  app.add_option("--secret-file", secret_file,
                 "the cluster's secret: clients and nodes must prove they hold it; created (mode 0600) when missing "
                 "(or TRAIL_SECRET_FILE; default: no authentication)");
  app.add_option("--invoke-token-file", token_file,
                 "a second key, for clients that may only invoke and read (created when missing; needs --secret-file)");
  app.add_option("--metrics", s.metrics, "HOST:PORT to serve Prometheus metrics on (GET /metrics; a standby serves them "
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
  s.tls = tls->server;
  if (!s.metrics.empty())
    if (auto st = trail::actors::parse_metrics_address(s.metrics, s.mo); !st.ok()) {
      std::fprintf(stderr, "trail-coordinator: %s\n", st.message().c_str());
      return 2;
    }
  if (const char* env = std::getenv("TRAIL_SECRET_FILE"); env && *env && secret_file.empty()) secret_file = env;
  if (!secret_file.empty()) {
    auto secret = trail::net::load_or_create_key(secret_file);
    if (!secret) {
      std::fprintf(stderr, "trail-coordinator: --secret-file: %s\n", secret.error().message().c_str());
      return 2;
    }
    s.keys = trail::net::server_keys{*secret, std::nullopt};
    opts.members.secret = *secret;
    if (!token_file.empty()) {
      auto token = trail::net::load_or_create_key(token_file);
      if (!token) {
        std::fprintf(stderr, "trail-coordinator: --invoke-token-file: %s\n", token.error().message().c_str());
        return 2;
      }
      s.keys->invoke_token = *token;
      opts.invoke_token = *token;
    }
  } else if (!token_file.empty()) {
    std::fprintf(stderr, "trail-coordinator: --invoke-token-file needs --secret-file\n");
    return 2;
  }
  if (opts.partitions > 1 && opts.etcd.empty()) {
    std::fprintf(stderr, "trail-coordinator: --partitions needs --etcd (the partitions are claimed there)\n");
    return 2;
  }
  if (!etcd_prefix.empty() && opts.etcd.empty()) {
    std::fprintf(stderr, "trail-coordinator: --etcd-prefix needs --etcd\n");
    return 2;
  }
  auto prefix = trail::durable::cluster_prefix(etcd_prefix);
  if (!prefix) {
    std::fprintf(stderr, "trail-coordinator: --etcd-prefix: %s\n", prefix.error().message().c_str());
    return 2;
  }
  opts.etcd_prefix = *prefix;
  opts.node_timeout = std::chrono::milliseconds(timeout_ms);
  opts.placement_wait = std::chrono::milliseconds(wait_ms);

  auto colon = s.listen.rfind(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port");
    s.host = s.listen.substr(0, colon);
    int p = std::stoi(s.listen.substr(colon + 1));
    if (p < 0 || p > 65535) throw std::out_of_range("port");
    s.port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    std::fprintf(stderr, "trail-coordinator: --listen: invalid address '%s': expected HOST:PORT\n", s.listen.c_str());
    return 2;
  }
  if (!s.advertise.empty()) {
    const auto& a = s.advertise;
    bool bracketed = a.size() > 2 && a.front() == '[' && a.back() == ']';
    if ((!bracketed && a.find(':') != std::string::npos) || trail::core::wildcard_address(a + ":0")) {
      std::fprintf(stderr, "trail-coordinator: --advertise: '%s' is not a host others can reach (a name or an "
                           "address; IPv6 in brackets; no port: it is --listen's)\n", a.c_str());
      return 2;
    }
  } else if (!opts.etcd.empty() && trail::core::wildcard_address(s.listen)) {
    std::fprintf(stderr, "trail-coordinator: warning: etcd would list this coordinator on every interface (%s), "
                         "which no other machine can reach: give --advertise HOST so that nodes and clients learn "
                         "of it\n", s.listen.c_str());
  }
  if (!s.keys)
    if (auto w = trail::core::unguarded_listener_warning("trail-coordinator", s.host); !w.empty())
      std::fprintf(stderr, "%s\n", w.c_str());
  return std::nullopt;
}

// What listens from the start, standing by until this process holds the
// shards: the gateway on --listen and the metrics server. 0 in `code`: both
// listen (else said why on stderr).
struct listening {
  caf::actor gateway;
  caf::actor standby_status;  // the status a standby's metrics show
  caf::actor metrics_server;
  int code = 0;
};

// Clients and joining nodes talk to the gateway on --listen. It listens
// from the start: until this process holds the shards it answers every
// request "standing by" (so clients and nodes move on to the coordinator
// that holds them, and say why); then it serves the front, and tells
// joining nodes the control port (CAF) they join on. A --listen port of 0
// is picked here, and written back into `s`.
listening start_listening(trail::actors::node_loop& loop, settings& s) {
  listening l;
  trail::actors::gateway_options go;
  go.host = s.host;
  go.port = s.port;
  go.keys = s.keys;
  go.tls = s.tls;
  go.direct_invokes = true;  // synchronous invokes run on the node the app's shard names (README)
  go.standing_by = "trail-coordinator at " + s.advertised() + " is starting";
  auto gateway = trail::actors::spawn_gateway(loop, go);
  // Its metrics are served from the start too: a standby's say it holds no shards.
  l.standby_status = trail::actors::spawn_standby_status(loop.system(), go.standing_by);
  if (!gateway) {
    std::fprintf(stderr, "trail-coordinator: %s\n", gateway.error().message().c_str());
    l.code = 1;
    return l;
  }
  l.gateway = gateway->first;
  if (s.port == 0) {
    s.port = gateway->second;
    s.listen = s.host + ":" + std::to_string(s.port);
    if (!s.opts.etcd.empty()) picked_listen = s.listen;  // (kept when it starts over: the others list it there)
    // Said now: a standby says "listening on" only once it holds the shards,
    // and whoever started it needs the port to list it (scripts/cluster).
    std::printf("trail-coordinator: --listen port 0 picked %s\n", s.listen.c_str());
    std::fflush(stdout);
  }
  if (!s.metrics.empty()) {
    auto mo = s.mo;
    mo.source = l.standby_status;  // (the front's status once it serves)
    mo.render = [](const nlohmann::json& status) { return trail::metrics::render_coordinator(status); };
    auto m = trail::actors::spawn_metrics_server(loop, std::move(mo));
    if (m) {
      l.metrics_server = m->first;
      std::printf("trail-coordinator: metrics on %s\n", m->second.c_str());
      std::fflush(stdout);
    } else {
      std::fprintf(stderr, "trail-coordinator: %s\n", m.error().message().c_str());
      l.code = 1;
    }
  }
  return l;
}

// With etcd, the shards belong to the coordinator holding their claim: waits
// for it, standing by while another holds it (SIGINT or SIGTERM, among
// `signals`, stop the wait: no claim, code 0). Once held, `s.opts` says so
// (every write is fenced on it) and says how to start over when fenced or
// stepping down. No claim and a non-zero `code`: said why on stderr.
std::optional<trail::actors::shard_claim> claim(settings& s, const listening& l, const sigset_t& signals, int& code) {
  const bool started_over = std::getenv(started_over_env) != nullptr;
  const bool after_stepping_down = std::getenv(stepped_down_env) != nullptr;
  ::unsetenv(started_over_env);
  ::unsetenv(stepped_down_env);
  trail::actors::claim_options co;
  co.ttl = std::chrono::seconds(s.lease_seconds);
  co.prefix = s.opts.etcd_prefix;
  co.layout = trail::core::partition_layout{s.opts.partitions, s.opts.shards};
  co.wait = [&signals](std::chrono::milliseconds d) {
    timespec ts{d.count() / 1000, (d.count() % 1000) * 1000000};
    // (SIGUSR1: a fenced predecessor's late word; not a reason to stop)
    int sig = sigtimedwait(&signals, nullptr, &ts);
    return sig == SIGINT || sig == SIGTERM;
  };
  co.known_etcd = started_over;
  if (after_stepping_down) co.hold_off = co.ttl;  // (a standby looks every third of it)
  co.standing_by = [gw = l.gateway, me = s.advertised(), status = l.standby_status](const std::string& what,
                                                                             const std::string& holder) {
    std::string said = "trail-coordinator at " + me + " is " + what;
    std::string to = holder == me ? std::string() : holder;  // (its own earlier claim, running out)
    caf::anon_send(gw, trail::actors::standby_atom::value, said, to);
    caf::anon_send(status, trail::actors::standby_atom::value, said, to);
  };
  auto c = trail::actors::claim_shards(s.opts.etcd, s.advertised(), co);
  if (!c) {
    if (c.error().message() != trail::actors::stopped_standing_by) {  // (stopped: SIGTERM, say)
      std::fprintf(stderr, "trail-coordinator: cannot claim the shards in etcd at %s: %s\n", s.opts.etcd.c_str(),
                   c.error().message().c_str());
      code = 1;
    }
    return std::nullopt;
  }
  s.opts.partition = c->partition;
  if (s.opts.partitions > 1)
    std::printf("trail-coordinator: holds partition %u of %u as %s\n", c->partition, s.opts.partitions,
                c->identity.c_str());
  else
    std::printf("trail-coordinator: holds the shards as %s\n", c->identity.c_str());
  std::fflush(stdout);
  s.opts.claim = c->identity;
  // Once: the lease warden and the keeper may both learn it, and a second
  // signal must not reach the standby this process becomes.
  s.opts.fenced = [](const std::string& why) {
    static std::atomic<bool> said{false};
    if (said.exchange(true)) return;
    trail::actors::log_line("trail-coordinator: fenced: " + why + "; starting over as a standby");
    ::kill(::getpid(), SIGUSR1);
  };
  s.opts.step_down_after = 2 * co.ttl;
  s.opts.step_down = [](const std::string& why) {
    if (stepped_down.exchange(true)) return;
    trail::actors::log_line("trail-coordinator: stepping down: " + why + "; starting over as a standby");
    ::kill(::getpid(), SIGUSR1);
  };
  return std::move(*c);
}

// A coordinator that serves: its front and shards, the keeper writing to
// etcd (with etcd), the lease warden renewing the claim, and the control
// port nodes join on.
struct serving {
  caf::actor front, keeper, warden;
  std::unique_ptr<trail::actors::control_gate> gate;
};

// Spawns the coordinator and opens its control port; then the gateway and
// the metrics serve it. The control port's address, or why it failed.
trail::result<std::string> serve(caf::actor_system& sys, trail::actors::node_loop& loop, const settings& s,
                                 const listening& l, const std::optional<trail::actors::shard_claim>& claim,
                                 serving& out) {
  if (claim) out.warden = trail::actors::spawn_lease_warden(sys, *claim, s.opts.fenced);
  auto coordinator = trail::actors::spawn_coordinator(loop, s.host, s.opts);
  if (!coordinator) return coordinator.error();
  out.front = coordinator->front;
  out.keeper = coordinator->keeper;
  if (out.warden) caf::anon_send(out.warden, out.front);  // told who else is listed in etcd
  // Nodes join over CAF on a control port. With a secret or TLS it is a
  // gate (control_gate.hpp) that admits only peers proving they hold the
  // secret, and carries BASP through TLS.
  std::uint16_t control = 0;
  if (s.keys || s.opts.members.tls) {
    auto g = trail::actors::control_gate::start(sys, out.front, s.host, s.opts.members);
    if (!g) return g.error();
    out.gate = std::move(*g);
    control = out.gate->port();
  } else {
    auto published = sys.middleman().publish(out.front, 0, s.host.c_str(), true);
    if (!published) return trail::status::unavailable(sys.render(published.error()));
    control = *published;
  }
  std::string address = s.host + ":" + std::to_string(control);
  // Served once the gateway says so: a client that connects after "listening
  // on" must never be told the coordinator is starting.
  // Likewise a scrape must not find the status of a standby.
  caf::scoped_actor self{sys};
  auto told = [&](const char* who, auto atom, const caf::actor& to, auto... xs) {
    trail::status done = trail::status::unavailable(std::string(who) + " did not answer");
    self->request(to, std::chrono::seconds(10), atom, xs...)
        .receive([&](decltype(atom)) { done = trail::status(); },
                 [&](caf::error& e) { done = trail::status::unavailable(std::string(who) + ": " + sys.render(e)); });
    return done;
  };
  if (auto st = told("the gateway", trail::actors::serve_atom::value, l.gateway, out.front, address,
                     coordinator->control_wire);
      !st.ok())
    return st;
  if (l.metrics_server)
    if (auto st = told("the metrics server", trail::actors::source_atom::value, l.metrics_server, out.front); !st.ok())
      return st;
  return address;
}

// Fenced while starting (its restore refused, say): it starts over, as when fenced later.
bool fenced_already() {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  timespec now{0, 0};
  return sigtimedwait(&usr1, nullptr, &now) == SIGUSR1;
}

// Stops listening, then the coordinator; its keeper's last writes (ends
// still waiting for company) need the claim, so the lease is revoked only
// after them (a standby then takes over at once).
void shut_down(caf::actor_system& sys, listening& l, serving& sv) {
  if (l.gateway) caf::anon_send_exit(l.gateway, caf::exit_reason::user_shutdown);
  if (l.metrics_server) caf::anon_send_exit(l.metrics_server, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(l.standby_status, caf::exit_reason::user_shutdown);
  l = {};
  sv.gate.reset();
  if (sv.front) caf::anon_send_exit(sv.front, caf::exit_reason::user_shutdown);
  sv.front = nullptr;
  if (sv.keeper) {
    // The keeper ends once the front and the shards, who send it writes, are gone.
    caf::scoped_actor self{sys};
    self->monitor(sv.keeper);
    sv.keeper = nullptr;
    self->receive([](const caf::down_msg&) {},
                  caf::after(std::chrono::seconds(10)) >> [] {
                    std::fprintf(stderr, "trail-coordinator: the keeper did not end in 10 s; stopping anyway\n");
                  });
  }
  if (sv.warden) caf::anon_send_exit(sv.warden, caf::exit_reason::user_shutdown);
  sv.warden = nullptr;
}

int run(int argc, char** argv) {
  settings s;
  if (auto stop = parse(argc, argv, s)) return *stop;
  dir_guard state{s.opts.state_dir, s.opts.state_dir.empty()};
  if (state.owned) {
    trail::actors::remove_dead_temp_dirs("trail-coordinator-");  // left by SIGKILLed predecessors
    state.dir = std::filesystem::temp_directory_path() / ("trail-coordinator-" + std::to_string(::getpid()));
    s.opts.state_dir = state.dir;
  }

  // Blocked before any thread starts: every thread inherits it.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // fenced or stepping down: start over as a standby
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config cfg;
  trail::actors::configure(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  trail::actors::node_loop loop(sys);
  loop.start();
  auto l = start_listening(loop, s);
  int code = l.code;
  std::optional<trail::actors::shard_claim> held;
  if (code == 0 && !s.opts.etcd.empty()) held = claim(s, l, signals, code);
  bool restart = false;
  serving sv;
  if (code == 0 && (s.opts.etcd.empty() || held)) {
    auto control = serve(sys, loop, s, l, held, sv);
    if (!control && held && fenced_already()) {
      restart = true;
    } else if (!control) {
      // (Its listeners are open: what failed is the coordinator behind them.)
      std::fprintf(stderr, "trail-coordinator: cannot serve on %s: %s\n", s.listen.c_str(),
                   control.error().message().c_str());
      code = 1;
    } else {
      std::printf("trail-coordinator: listening on %s:%u\n", s.host.c_str(), static_cast<unsigned>(s.port));
      std::fflush(stdout);
      int sig = 0;
      sigwait(&signals, &sig);
      restart = sig == SIGUSR1;
      if (!restart) std::fprintf(stderr, "trail-coordinator: %s, shutting down\n", strsignal(sig));
    }
  }  // (else: said why above, or stopped while standing by)
  shut_down(sys, l, sv);
  sys.await_all_actors_done();
  loop.stop();
  return restart ? restart_exit_code : code;
}

}  // namespace
