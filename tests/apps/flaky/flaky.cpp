// An app whose entry function is SIGKILLed in the middle of its first run
// (after sending one object), and whose entry can be told to always throw;
// and small functions other tests need (probe: who a function runs as).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
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

// Locality with a crash in between (relay.yaml, one executor): relay puts
// (relayed, x); told to "die", its first attempt then lingers 50 ms — the
// node meanwhile queues collect in this executor's ring, behind relay — and
// dies by SIGKILL. collect comes back unstarted and runs once; the re-run's
// x feeds no trigger a second time.
TRAIL_FUNCTION(relay)(trail::context& ctx) {
  ctx.put("relayed", "x", "payload");
  if (!ctx.args().empty() && ctx.args()[0] == "die" && ctx.attempt() == 0) {
    ::usleep(50 * 1000);
    ::kill(::getpid(), SIGKILL);
  }
}

TRAIL_FUNCTION(collect)(trail::context& ctx) { ctx.output("got " + std::string(ctx.inputs()[0].str())); }

TRAIL_FUNCTION(always_throws)(trail::context&) { throw std::runtime_error("always fails"); }

// Takes four seconds, then outputs: longer than a short client timeout.
TRAIL_FUNCTION(slow)(trail::context& ctx) {
  ::usleep(4000 * 1000);
  ctx.output("finally");
}

// Rests 300 ms, then outputs "rested": long enough for a client to leave
// while it runs.
TRAIL_FUNCTION(nap)(trail::context& ctx) {
  ::usleep(300 * 1000);
  ctx.output("rested");
}

// A fan-out of short functions (spray.yaml): spray puts 200 objects, each
// fires a tick; a batch of 200 ticks fires tally, which outputs their count.
TRAIL_FUNCTION(spray)(trail::context& ctx) {
  for (int i = 0; i < 200; ++i) ctx.put("drops", std::to_string(i), "x");
}

TRAIL_FUNCTION(tick)(trail::context& ctx) { ctx.put("ticks", ctx.inputs()[0].key(), "t"); }

TRAIL_FUNCTION(tally)(trail::context& ctx) { ctx.output(std::to_string(ctx.inputs().size())); }

// Puts one event and ends without output (session-scoped window behind it).
TRAIL_FUNCTION(put_event)(trail::context& ctx) { ctx.put("ev", "e", "1"); }

// A window target that writes nothing and outputs nothing.
TRAIL_FUNCTION(swallow)(trail::context&) {}

// Outputs bytes that are not UTF-8.
TRAIL_FUNCTION(binary_out)(trail::context& ctx) { ctx.output(std::string("\xff\xfe\x00\x80", 4)); }

// k-of-n with failing replicas. args: how many of the 3 replicas fail.
TRAIL_FUNCTION(replicas)(trail::context& ctx) {
  std::string failures(ctx.args().empty() ? "0" : ctx.args()[0]);
  for (int i = 0; i < 3; ++i) ctx.put("req", "replica-" + std::to_string(i), failures);
}

// Replica i fails (always) when i < the requested number of failures.
TRAIL_FUNCTION(maybe_fail)(trail::context& ctx) {
  const trail::object& in = ctx.inputs()[0];
  int index = in.key().back() - '0';
  if (index < std::stoi(std::string(in.str()))) throw std::runtime_error("replica " + std::to_string(index) + " broke");
  ctx.put("answers", in.key(), "ok");
}

TRAIL_FUNCTION(vote2)(trail::context& ctx) {
  std::string out;
  for (const trail::object& in : ctx.inputs()) out += (out.empty() ? "" : ",") + std::string(in.str());
  ctx.output(out);
}

// Proves which object it was given (data.yaml: objects put from outside):
// "KEY SIZE FNV-1a-64 in hex" of its first input, as the output and as the
// object digests/KEY (a `keep: app` bucket: `get` reads it after the session).
TRAIL_FUNCTION(digest)(trail::context& ctx) {
  if (ctx.inputs().empty()) return ctx.output("no input");
  const trail::object& in = ctx.inputs()[0];
  std::uint64_t h = 14695981039346656037ull;
  for (std::byte b : in.bytes()) h = (h ^ static_cast<std::uint8_t>(b)) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  std::string text = std::string(in.key()) + " " + std::to_string(in.size()) + " " + hex;
  ctx.put("digests", in.key(), text);
  ctx.output(text);
}

// Who the function runs as, and whether it may read the file named by its
// first argument (README "Security": what a function can reach).
TRAIL_FUNCTION(probe)(trail::context& ctx) {
  std::string out = "uid=" + std::to_string(::getuid());
  if (!ctx.args().empty()) {
    std::string path(ctx.args()[0]);
    int fd = ::open(path.c_str(), O_RDONLY);
    out += fd >= 0 ? " read=ok" : std::string(" read=") + std::strerror(errno);
    if (fd >= 0) ::close(fd);
  }
  ctx.output(out);
}
