// A whole trail node in one process: the executor service, the scheduler,
// the registry and its bucket actors, published on a TCP port for clients.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "actors/core/dispatch_policy.hpp"

namespace trail::actors {

struct node_options {
  std::string host = "127.0.0.1";           // --listen host
  std::uint16_t port = 7411;                // --listen port; 0 picks a free one
  int executors = 2;                         // --executors
  std::uint64_t store_size = 512ull << 20;   // --store-size
  std::string executor_path;                 // trail-executor (default: beside trail-node)
  std::string executor_user;                 // --executor-user: executors run as this user (the
                                             // node must be root); empty: as the node
  std::filesystem::path state_dir;           // uploaded libraries, and standalone the deployed apps, kept
                                             // across restarts (default: a fresh temp dir, removed at exit)
  std::uint32_t max_sessions = 8192;         // --max-sessions: in flight on this node
  std::uint32_t max_sessions_per_app = 1024; // --max-sessions-per-app
  // Cluster mode (--coordinator): empty host = standalone.
  std::vector<std::string> coordinators;     // --coordinator HOST:PORT[,HOST:PORT...]
  std::string name;                          // --name (default: host:port it listens on)
  std::chrono::milliseconds forward_wait{0}; // --forward-wait
  std::string metrics;                       // --metrics HOST:PORT: Prometheus metrics served there; empty: none
  core::dispatch_params dispatch;            // --wake-cost-us, --short-run-us
  // --secret-file (TRAIL_SECRET_FILE): clients and the coordinator prove they
  // hold it (net/auth.hpp); standalone, created (mode 0600) if missing. Empty:
  // no authentication. --invoke-token-file: a key for invoke-only clients.
  std::filesystem::path secret_file, invoke_token_file;
  // --tls-cert/--tls-key (TRAIL_TLS_CERT/KEY): its client wire speaks TLS;
  // in a cluster, with --tls-ca (TRAIL_TLS_CA), every wire between members
  // does too (net::member_tls_from: all three or none).
  std::string tls_cert, tls_key, tls_ca;
};

// run_cluster's exit code when the node must start over as a new
// incarnation (it was fenced, or lost the coordinator): everything is
// cleaned up; the caller re-executes the binary.
inline constexpr int restart_exit_code = 75;

// Set (comma-separated) when run_cluster returns restart_exit_code: every
// coordinator the node knew — given, and learned from the one it joined —
// so that the next incarnation (which the caller starts with the same
// arguments and this environment) knows them too. The caller takes it, and
// unsets it, at start.
inline constexpr const char* known_coordinators_env = "TRAIL_NODE_KNOWN_COORDINATORS";
// The coordinator the next incarnation joins first (it was handed over to it).
inline constexpr const char* join_first_env = "TRAIL_NODE_JOIN_FIRST";

// Runs a standalone node (coordinator and node in one process) until SIGINT
// or SIGTERM, then shuts down cleanly: executors gone, shared memory and the
// state directory removed. Prints "trail-node: listening on HOST:PORT" on
// stdout once clients can connect (with --metrics, first "trail-node:
// metrics on HOST:PORT"). Returns the process exit code.
int run_standalone(const node_options& opts);

// Runs a node of a cluster: like a standalone node, but it joins the
// coordinator at one of opts.coordinators (trying each in turn until one answers),
// serves its data path beside the CAF port, and takes its work from the
// coordinator. Prints "trail-node: listening on HOST:PORT" and, once
// registered, "trail-node: joined HOST:PORT as NAME". Returns the exit code
// (restart_exit_code: re-execute).
int run_cluster(const node_options& opts);

}  // namespace trail::actors
