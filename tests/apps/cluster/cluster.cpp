// Functions for the multi-node tests. Every function notes its execution as
// one line "<node> <function> <session> <attempt>" appended to the file
// named by $TRAIL_TEST_LOG (the test gives each node its own $TRAIL_TEST_NODE),
// so tests can count executions and see where they ran.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <trail/function.hpp>

namespace {

void note(trail::context& ctx, const std::string& extra = "") {
  const char* path = std::getenv("TRAIL_TEST_LOG");
  if (!path) return;
  const char* node = std::getenv("TRAIL_TEST_NODE");
  std::string line = std::string(node ? node : "?") + " " + std::string(ctx.function()) + " " +
                     std::to_string(ctx.session()) + " " + std::to_string(ctx.attempt()) + extra + "\n";
  int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());  // one write: lines never interleave
  ::close(fd);
}

std::string joined_args(trail::context& ctx) {
  std::string s;
  for (auto a : ctx.args()) s += (s.empty() ? "" : " ") + std::string(a);
  return s;
}

const trail::object& only_input(trail::context& ctx) {
  if (ctx.inputs().size() != 1) throw std::runtime_error("expected one input, got " + std::to_string(ctx.inputs().size()));
  return ctx.inputs()[0];
}

// The bytes of the big test object: xorshift64, so both sides can check it.
std::uint64_t fill_word(std::uint64_t& x) {
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  return x;
}

}  // namespace

// chain across nodes: start -> a -> middle -> b -> finish
TRAIL_FUNCTION(start)(trail::context& ctx) {
  note(ctx);
  ctx.put("a", "x", joined_args(ctx));
}

TRAIL_FUNCTION(middle)(trail::context& ctx) {
  note(ctx);
  std::string s(only_input(ctx).str());
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ctx.put("b", "y", s);
}

TRAIL_FUNCTION(finish)(trail::context& ctx) {
  note(ctx);
  ctx.output("<" + std::string(only_input(ctx).str()) + ">");
}

// The same chain, slowly: room to kill a node while it runs.
TRAIL_FUNCTION(slow_start)(trail::context& ctx) {
  note(ctx);
  ::usleep(300 * 1000);
  ctx.put("a", "x", joined_args(ctx));
}

TRAIL_FUNCTION(slow_finish)(trail::context& ctx) {
  note(ctx);
  ::usleep(300 * 1000);
  ctx.output("<" + std::string(only_input(ctx).str()) + ">");
}

// make_big <MiB>: one object of that many MiB of xorshift words.
TRAIL_FUNCTION(make_big)(trail::context& ctx) {
  note(ctx);
  std::size_t mib = ctx.args().empty() ? 1 : std::strtoull(std::string(ctx.args()[0]).c_str(), nullptr, 10);
  std::size_t bytes = mib << 20;
  trail::object_writer w = ctx.create("big", "blob", bytes);
  auto* words = reinterpret_cast<std::uint64_t*>(w.data());
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  for (std::size_t i = 0; i < bytes / 8; ++i) words[i] = fill_word(x);
  w.resize(bytes);
  ctx.send(std::move(w));
}

// Checks the big object word by word and outputs its size.
TRAIL_FUNCTION(check_big)(trail::context& ctx) {
  note(ctx);
  const trail::object& in = only_input(ctx);
  auto* words = reinterpret_cast<const std::uint64_t*>(in.data());
  std::uint64_t x = 0x9e3779b97f4a7c15ull, bad = 0;
  for (std::size_t i = 0; i < in.size() / 8; ++i) bad += words[i] != fill_word(x);
  ctx.output("bytes=" + std::to_string(in.size()) + " bad_words=" + std::to_string(bad));
}

// tick: does nothing but count.
TRAIL_FUNCTION(tick)(trail::context& ctx) {
  note(ctx);
  ctx.output("tick");
}

// nap <ms>: keeps an executor busy.
TRAIL_FUNCTION(nap)(trail::context& ctx) {
  note(ctx);
  long ms = ctx.args().empty() ? 1000 : std::strtol(std::string(ctx.args()[0]).c_str(), nullptr, 10);
  ::usleep(static_cast<useconds_t>(ms) * 1000);
  ctx.output("rested");
}

// hold <path>: keeps an executor busy until the file `path` exists (the
// test makes it when it has seen what it waits for), 60 s at most.
TRAIL_FUNCTION(hold)(trail::context& ctx) {
  note(ctx);
  std::string path = ctx.args().empty() ? std::string() : std::string(ctx.args()[0]);
  for (int i = 0; i < 6000 && ::access(path.c_str(), F_OK) != 0; ++i) ::usleep(10 * 1000);
  ctx.output(::access(path.c_str(), F_OK) == 0 ? "released" : "never released");
}

// An app-scoped window across sessions (and nodes).
TRAIL_FUNCTION(ingest)(trail::context& ctx) {
  note(ctx);
  ctx.put("events", "e-" + std::to_string(ctx.session()), "1");
  ctx.output("queued");
}

// The same with events over the 64 KiB inline limit: the window's owner
// pulls them from the sessions' home nodes.
TRAIL_FUNCTION(ingest_big)(trail::context& ctx) {
  note(ctx);
  ctx.put("events", "e-" + std::to_string(ctx.session()), std::string(128 << 10, 'e'));
  ctx.output("queued");
}

TRAIL_FUNCTION(count)(trail::context& ctx) {
  note(ctx, " " + std::to_string(ctx.inputs().size()));
  ctx.output("window: " + std::to_string(ctx.inputs().size()) + " events");
}
