// trail-node: a trail worker node. `--standalone` runs the coordinator and the
// node in one process — the single-machine default.
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <CLI/CLI.hpp>

#include "actors/core/address_list.hpp"
#include "actors/node.hpp"
#include "shm/store.hpp"

namespace {

std::string beside_me(const char* name) {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / name).string();
}

}  // namespace

int main(int argc, char** argv) {
  // Named so after starting over too (it runs /proc/self/exe: "exe"), for ps and pgrep.
  ::prctl(PR_SET_NAME, "trail-node");
  trail::actors::node_options opts;
  opts.executors = std::max(2u, std::thread::hardware_concurrency());
  opts.executor_path = beside_me("trail-executor");
  bool standalone = false;
  std::string listen = "127.0.0.1:7411", store_size = "512M", coordinator;

  std::uint32_t forward_wait_ms = 0;
  std::uint32_t wake_cost_us = 20, short_run_us = 200;
  CLI::App app{"trail-node: a trail worker node (--standalone: node and coordinator in one process; "
               "--coordinator: a node of a cluster)"};
  app.add_flag("--standalone", standalone, "run the coordinator and the node in this one process");
  app.add_option("--coordinator", coordinator,
                 "HOST:PORT of the coordinator to join (multi-node mode); several, comma-separated: each is tried "
                 "in turn, and a node whose coordinator goes silent joins the one that answers");
  app.add_option("--listen", listen,
                 "HOST:PORT to accept clients on (in a cluster too: the invokes, puts and gets a coordinator sends "
                 "here; the node wire and data path take ports of their own on this host); port 0: any free port")
      ->capture_default_str();
  app.add_option("--name", opts.name, "this node's name in the cluster (default: its listen address)");
  app.add_option("--metrics", opts.metrics, "HOST:PORT to serve Prometheus metrics on (GET /metrics); port 0: any free port");
  app.add_option("--forward-wait-ms", forward_wait_ms, "cluster: how long work waits for a local executor before it is forwarded")
      ->capture_default_str();
  app.add_option("--executors", opts.executors, "executor processes (default: cores, at least 2)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--store-size", store_size, "shared-memory object store size, with K/M/G suffix")->capture_default_str();
  app.add_option("--executor", opts.executor_path, "trail-executor binary")->capture_default_str();
  app.add_option("--executor-user", opts.executor_user,
                 "run executors (the functions) as this unprivileged user, so that a function cannot read the "
                 "node's secret or state; trail-node must run as root (default: as the node)");
  app.add_option("--state-dir", opts.state_dir, "where uploaded libraries are kept; standalone, the deployed apps too, deployed again when the node starts with the same dir (default: a temp dir, removed at exit)");
  app.add_option("--secret-file", opts.secret_file,
                 "the cluster's secret: clients, the coordinator and peers must prove they hold it; standalone, "
                 "created (mode 0600) when missing (or TRAIL_SECRET_FILE; default: no authentication)");
  app.add_option("--tls-cert", opts.tls_cert, "PEM certificate chain: clients (and in a cluster, the other members) reach this "
                                              "node over TLS (or TRAIL_TLS_CERT; scripts/tls-certs makes one)");
  app.add_option("--tls-key", opts.tls_key, "PEM private key of --tls-cert (or TRAIL_TLS_KEY)");
  app.add_option("--tls-ca", opts.tls_ca, "PEM CA certificate the other members' must be signed by (or TRAIL_TLS_CA); a "
                                          "cluster node needs it with --tls-cert: every wire between members is TLS");
  app.add_option("--invoke-token-file", opts.invoke_token_file,
                 "a second key, for clients that may only invoke and read (created when missing; needs --secret-file)");
  app.add_option("--max-sessions", opts.max_sessions, "sessions in flight on this node before 'overloaded'")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-sessions-per-app", opts.max_sessions_per_app, "sessions in flight per app before 'overloaded'")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--wake-cost-us", wake_cost_us,
                 "what waking a sleeping executor costs here, in µs: the next function queues behind its producer "
                 "when that one usually completes sooner")
      ->capture_default_str();
  app.add_option("--short-run-us", short_run_us,
                 "functions that usually run shorter than this (µs) may queue behind busy executors")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (const char* env = std::getenv("TRAIL_SECRET_FILE"); env && *env && opts.secret_file.empty()) opts.secret_file = env;
  opts.dispatch.wake_cost = std::chrono::microseconds(wake_cost_us);
  opts.dispatch.short_run = std::chrono::microseconds(short_run_us);

  if (!coordinator.empty() && standalone) {
    std::fprintf(stderr, "trail-node: choose one of --standalone and --coordinator\n");
    return 2;
  }
  if (!standalone && coordinator.empty()) {
    std::fprintf(stderr, "%s\ntrail-node: choose --standalone (or --coordinator HOST:PORT)\n", app.help().c_str());
    return 2;
  }
  if (::access(opts.executor_path.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "trail-node: executor binary '%s' is not executable (--executor)\n", opts.executor_path.c_str());
    return 2;
  }
  auto size = trail::shm::parse_size(store_size);
  if (!size) {
    std::fprintf(stderr, "trail-node: --store-size: %s\n", size.error().message().c_str());
    return 2;
  }
  opts.store_size = *size;
  auto colon = listen.rfind(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port");
    opts.host = listen.substr(0, colon);
    int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    opts.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    std::fprintf(stderr, "trail-node: --listen: invalid address '%s': expected HOST:PORT\n", listen.c_str());
    return 2;
  }
  if (opts.secret_file.empty())
    if (auto w = trail::core::unguarded_listener_warning("trail-node", opts.host); !w.empty())
      std::fprintf(stderr, "%s\n", w.c_str());
  if (standalone) return trail::actors::run_standalone(opts);
  for (auto& one : trail::core::split_list(coordinator)) {  // HOST:PORT[,HOST:PORT...]
    auto ccolon = one.rfind(':');
    int port = 0;
    try {
      if (ccolon == std::string::npos || ccolon == 0) throw std::invalid_argument("no port");
      port = std::stoi(one.substr(ccolon + 1));
    } catch (const std::exception&) {
      port = 0;
    }
    if (port <= 0 || port > 65535) {
      std::fprintf(stderr, "trail-node: --coordinator: invalid address '%s': expected HOST:PORT[,HOST:PORT...]\n",
                   one.c_str());
      return 2;
    }
    opts.coordinators.push_back(one);
  }
  // A node starting over keeps the coordinators its last incarnation learned of.
  if (const char* known = std::getenv(trail::actors::known_coordinators_env)) {
    for (auto& one : trail::core::split_list(known))
      if (std::find(opts.coordinators.begin(), opts.coordinators.end(), one) == opts.coordinators.end())
        opts.coordinators.push_back(one);
    ::unsetenv(trail::actors::known_coordinators_env);
  }
  // Handed over to another partition's coordinator: that one first.
  if (const char* first = std::getenv(trail::actors::join_first_env); first && *first) {
    std::erase(opts.coordinators, std::string(first));
    opts.coordinators.insert(opts.coordinators.begin(), first);
    ::unsetenv(trail::actors::join_first_env);
  }
  opts.forward_wait = std::chrono::milliseconds(forward_wait_ms);
  int code = trail::actors::run_cluster(opts);
  if (code == trail::actors::restart_exit_code) {
    // Fenced or cut off: start over as a new incarnation, same arguments.
    // Everything of this incarnation is gone; no descriptor may leak into the next.
    ::close_range(3, ~0u, 0);
    ::execv("/proc/self/exe", argv);
    std::perror("trail-node: cannot restart");
    return 1;
  }
  return code;
}
