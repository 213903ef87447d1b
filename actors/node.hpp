// A whole trail node in one process: the executor service, the scheduler,
// the registry and its bucket actors, published on a TCP port for clients.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace trail::actors {

struct node_options {
  std::string host = "127.0.0.1";           // --listen host
  std::uint16_t port = 7411;                // --listen port; 0 picks a free one
  int executors = 2;                         // --executors
  std::uint64_t store_size = 512ull << 20;   // --store-size
  std::string executor_path;                 // trail-executor (default: beside trail-node)
  std::filesystem::path state_dir;           // uploaded libraries (default: a fresh temp dir, removed at exit)
  std::uint32_t max_sessions = 8192;         // --max-sessions: in flight on this node
  std::uint32_t max_sessions_per_app = 1024; // --max-sessions-per-app
};

// Runs a standalone node (coordinator and node in one process) until SIGINT
// or SIGTERM, then shuts down cleanly: executors gone, shared memory and the
// state directory removed. Prints "trail-node: listening on HOST:PORT" on
// stdout once clients can connect. Returns the process exit code.
int run_standalone(const node_options& opts);

}  // namespace trail::actors
