// metrics server actor: Prometheus' text exposition (metrics.hpp) over
// HTTP/1.1 on `--metrics HOST:PORT`, run by the node loop of the process
// it describes (a node's, or a coordinator's).
//
//   GET /metrics   -> 200 text/plain; version=0.0.4 (HEAD: the same head, no body)
//   GET elsewhere  -> 404;  another method -> 405;  a malformed request -> 400
//   the status source fails to answer within 5 s -> 503
// Every reply closes its connection. A connection that has not sent a whole
// request head within 10 s, or sends more than 8 KiB of it, is closed.
//
// Why on the loop and not a thread of its own: what a scrape reads — the
// scheduler's counters and node_metrics — belongs to the loop thread, so
// reading it there needs no atomics and no locks, and recording stays plain
// increments. A scrape costs the loop one `status` answer and one rendering
// (tens of µs, once per scrape interval); every socket is non-blocking and
// every read or write happens when epoll says it can, so a slow or stalled
// scraper never blocks the hot path.
#pragma once

#include <functional>
#include <string>

#include <caf/all.hpp>
#include <nlohmann/json_fwd.hpp>

#include <trail/status.hpp>

#include "actors/loop.hpp"

namespace trail::actors {

struct metrics_server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port
  // Answers (status_atom) -> string (JSON): the scheduler of a node, the
  // front of a coordinator. A loop actor of the same loop, or any actor.
  caf::actor source;
  // Turns the source's status into the exposition (metrics::render_node,
  // render_coordinator). Called on the loop thread.
  std::function<std::string(const nlohmann::json&)> render;
  std::size_t max_connections = 64;  // more are refused (closed at once)
};

// "HOST:PORT" (PORT 0: any free port) -> opts.host, opts.port. Errors:
// invalid_argument, saying what is wrong.
status parse_metrics_address(const std::string& text, metrics_server_options& opts);

// To a metrics server: (source_atom, actor) -> source_atom — scrapes ask
// this source from now on (a coordinator that stood by and now holds the
// shards: its front); the answer says they do.
using source_atom = caf::atom_constant<caf::atom("tmsource")>;

// Listens on opts.host:opts.port (on the caller's thread, so that a busy
// port is an error there and then) and spawns the server on `loop`.
// Returns it and the "HOST:PORT" it listens on. Errors: unavailable.
result<std::pair<caf::actor, std::string>> spawn_metrics_server(node_loop& loop, metrics_server_options opts);

}  // namespace trail::actors
