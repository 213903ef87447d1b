// An app whose entry function is SIGKILLed in the middle of its first run
// (after sending one object), and whose entry can be told to always throw.
#include <signal.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include <trail/function.hpp>

// Attempt 0 sends "a", then dies by SIGKILL; a re-run sends "a" again and
// "b". The batch of two behind it must see a+b: the first seal of "a" won
// and the re-run's "a" fed no trigger a second time.
TRAIL_FUNCTION(flaky)(trail::context& ctx) {
  ctx.put("items", "a", "a");
  if (ctx.attempt() == 0) ::kill(::getpid(), SIGKILL);
  ctx.put("items", "b", "b");
}

// Joins its inputs' bytes with '+' in key order (a batch of two).
TRAIL_FUNCTION(join2)(trail::context& ctx) {
  std::string out;
  for (const trail::object& in : ctx.inputs()) out += (out.empty() ? "" : "+") + std::string(in.str());
  ctx.output(out);
}

TRAIL_FUNCTION(always_throws)(trail::context&) { throw std::runtime_error("always fails"); }

// Takes two seconds, then outputs: longer than a short client timeout.
TRAIL_FUNCTION(slow)(trail::context& ctx) {
  ::usleep(2000 * 1000);
  ctx.output("finally");
}

// Puts one event and ends without output (session-scoped window behind it).
TRAIL_FUNCTION(put_event)(trail::context& ctx) { ctx.put("ev", "e", "1"); }

// A window target that writes nothing and outputs nothing.
TRAIL_FUNCTION(swallow)(trail::context&) {}

// Outputs bytes that are not UTF-8.
TRAIL_FUNCTION(binary_out)(trail::context& ctx) { ctx.output(std::string("\xff\xfe\x00\x80", 4)); }
