// window: a stream of events counted per 300 ms tumbling window. Each
// invocation of `ingest` queues one event and returns at once; an app-scoped
// by_time trigger collects the events of all sessions and, from a timer, runs
// `count` once per window in a session of its own.
#include <stdexcept>
#include <string>

#include <trail/function.hpp>

// Consumes: the invocation's arguments, the event's payload (default "event").
// Produces: events/event-<session> (one per session, so keys never collide),
// then the app's output "queued". The put comes first: the output ends the
// session, and objects that land after it are dropped.
TRAIL_FUNCTION(ingest)(trail::context& ctx) {
  std::string payload;
  for (std::string_view a : ctx.args()) {
    if (!payload.empty()) payload += ' ';
    payload += a;
  }
  if (payload.empty()) payload = "event";
  ctx.put("events", "event-" + std::to_string(ctx.session()), payload);
  ctx.output("queued");
}

// Consumes: every event of one window, across sessions (by_time, app scope).
// Produces: the output "window: N events" of the session this firing started
// (nobody waits for it; it shows up in the node's log).
TRAIL_FUNCTION(count)(trail::context& ctx) {
  if (ctx.inputs().empty()) throw std::runtime_error("window/count: fired with an empty window");
  ctx.output("window: " + std::to_string(ctx.inputs().size()) + " events");
}
