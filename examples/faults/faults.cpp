// faults: functions that misbehave on request, for failure scenarios
// (tests/faults/*.scenario). The entry `start` passes its arguments on to
// `act` (or, for fill requests, `filler`: its timeout outlasts several of
// the store's 2 s waits for space), whose first argument says how to
// misbehave; `finish` outputs what they produced. Timeouts and retries are
// in faults.yaml.
//
//   echo W...        act behaves: the output is "W..."
//   crash            act aborts (SIGABRT) on every attempt: the session fails
//   crash-once W...  act aborts on its first attempt, then behaves
//   hang             act never returns: every attempt times out, the session fails
//   hang-once W...   act hangs on its first attempt, then behaves
//   fill             act reserves store space until the store refuses: it fails
//                    with the store's error on every attempt
//   fill-once W...   act fills the store on its first attempt, then behaves
//                    (the space of a failed attempt comes back)
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <trail/function.hpp>

namespace {

// The words after the command, joined by spaces.
std::string rest(const std::string& request) {
  auto space = request.find(' ');
  return space == std::string::npos ? "" : request.substr(space + 1);
}

[[noreturn]] void hang() {
  for (;;) ::pause();  // until the node kills the executor at the timeout
}

// Reserves 1 MiB objects (never sent) until the store says no, then fails
// with its error. Unsent reservations are reclaimed when the attempt ends.
[[noreturn]] void fill(trail::context& ctx) {
  std::vector<trail::object_writer> held;
  for (int i = 0;; ++i) held.push_back(ctx.create("ballast", std::to_string(i), 1u << 20));
}

}  // namespace

TRAIL_FUNCTION(start)(trail::context& ctx) {
  std::string request;
  for (std::string_view a : ctx.args()) request += (request.empty() ? "" : " ") + std::string(a);
  ctx.put(request.starts_with("fill") ? "fills" : "todo", "request", request);
}

// Misbehaves as the request says, or puts the rest of it into `done`.
static void act_on(trail::context& ctx) {
  std::string request(ctx.inputs()[0].str());
  std::string cmd = request.substr(0, request.find(' '));
  bool first = ctx.attempt() == 0;
  if (cmd == "crash" || (cmd == "crash-once" && first)) std::abort();
  if (cmd == "hang" || (cmd == "hang-once" && first)) hang();
  if (cmd == "fill" || (cmd == "fill-once" && first)) fill(ctx);
  if (cmd != "echo" && !cmd.ends_with("-once")) throw trail::error("faults: unknown request '" + cmd + "'");
  ctx.put("done", "result", rest(request));
}

TRAIL_FUNCTION(act)(trail::context& ctx) { act_on(ctx); }

TRAIL_FUNCTION(filler)(trail::context& ctx) { act_on(ctx); }

TRAIL_FUNCTION(finish)(trail::context& ctx) { ctx.output(ctx.inputs()[0].str()); }
