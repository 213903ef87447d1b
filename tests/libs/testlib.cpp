// Functions that misbehave on purpose, for the executor and store tests.
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include <trail/function.hpp>

namespace {

// The store mapping's start in this process: the /proc/self/maps line of a
// trail store segment ("/dev/shm/trail-...-store").
std::uintptr_t store_base() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find("/dev/shm/trail-") != std::string::npos && line.find("-store") != std::string::npos)
      return std::stoull(line.substr(0, line.find('-')), nullptr, 16);
  throw std::runtime_error("no store mapping in /proc/self/maps");
}

std::uint64_t arg_u64(trail::context& ctx, std::size_t i) { return std::stoull(std::string(ctx.args()[i])); }

// The byte at `i` of an object filled by fill().
char pattern(std::uint64_t seed, std::uint64_t i) { return static_cast<char>((seed * 131 + i * 7) & 0xFF); }

}  // namespace

TRAIL_FUNCTION(noop)(trail::context&) {}

TRAIL_FUNCTION(echo)(trail::context& ctx) {
  std::string out;
  for (auto a : ctx.args()) out += std::string(a) + ";";
  std::printf("echo says %s\n", out.c_str());
  ctx.output(out);
}

TRAIL_FUNCTION(throws)(trail::context& ctx) {
  std::fprintf(stderr, "about to throw\n");
  throw std::runtime_error("deliberate failure in session " + std::to_string(ctx.session()));
}

TRAIL_FUNCTION(throws_int)(trail::context&) { throw 42; }

TRAIL_FUNCTION(segfault)(trail::context&) {
  volatile int* p = nullptr;
  *p = 1;
}

TRAIL_FUNCTION(aborts)(trail::context&) { std::abort(); }

TRAIL_FUNCTION(spins)(trail::context&) {
  for (;;) asm volatile("" ::: "memory");  // busy forever, until the timeout kills us
}

// args: key size seed — creates (b, key) of `size` bytes filled with
// pattern(seed), and outputs the payload's offset in the store mapping.
TRAIL_FUNCTION(fill)(trail::context& ctx) {
  std::uint64_t size = arg_u64(ctx, 1), seed = arg_u64(ctx, 2);
  trail::object_writer w = ctx.create("b", ctx.args()[0], size);
  for (std::uint64_t i = 0; i < size; ++i) w.data()[i] = pattern(seed, i);
  w.resize(size);
  auto offset = reinterpret_cast<std::uintptr_t>(w.data()) - store_base();
  ctx.send(std::move(w));
  ctx.output(std::to_string(offset));
}

// args: seed — checks every input against pattern(seed) and writes
// "<offset> <ok|bad>" per input to (r, probe): where this process sees its bytes.
TRAIL_FUNCTION(probe)(trail::context& ctx) {
  std::uint64_t seed = arg_u64(ctx, 0);
  std::string out;
  for (const trail::object& in : ctx.inputs()) {
    bool ok = true;
    for (std::uint64_t i = 0; i < in.size() && ok; ++i) ok = in.str()[i] == pattern(seed, i);
    out += std::to_string(reinterpret_cast<std::uintptr_t>(in.data()) - store_base()) + (ok ? " ok" : " bad");
  }
  ctx.put("r", "probe", out);
}

// args: seed count max_size — creates `count` objects (0 = forever) of random
// sizes, each filled with a byte derived from its key, and sends them.
TRAIL_FUNCTION(writer)(trail::context& ctx) {
  std::uint64_t seed = arg_u64(ctx, 0), count = arg_u64(ctx, 1), max_size = arg_u64(ctx, 2);
  std::mt19937_64 rng(seed);
  for (std::uint64_t i = 0; count == 0 || i < count; ++i) {
    std::uint64_t size = rng() % max_size;
    std::string key = "k" + std::to_string(i);
    trail::object_writer w = ctx.create("w", key, size);
    std::memset(w.data(), static_cast<int>(i & 0xFF), size);
    w.resize(size);
    ctx.send(std::move(w));
  }
  ctx.output("wrote " + std::to_string(count));
}

// args: size... — creates one object per argument, of that many bytes, and
// keeps them all unsent until the end (a store-pressure test).
TRAIL_FUNCTION(hoard)(trail::context& ctx) {
  std::vector<trail::object_writer> ws;
  for (std::size_t i = 0; i < ctx.args().size(); ++i)
    ws.push_back(ctx.create("h", "k" + std::to_string(i), arg_u64(ctx, i)));
  for (auto& w : ws) ctx.send(std::move(w));
}

// args: bucket key — copies the named object of the session to (r, found),
// or writes "missing" there.
TRAIL_FUNCTION(lookup)(trail::context& ctx) {
  auto o = ctx.get(ctx.args()[0], ctx.args()[1]);
  ctx.put("r", "found", o ? o->str() : "missing");
}

// Sends the same object twice (a re-run that repeats itself).
TRAIL_FUNCTION(twice)(trail::context& ctx) {
  ctx.put("t", "same", "first");
  ctx.put("t", "same", "second");
}

// Outputs "<inputs> <total bytes>": for large fan-ins.
TRAIL_FUNCTION(count_inputs)(trail::context& ctx) {
  std::uint64_t bytes = 0;
  for (const trail::object& in : ctx.inputs()) bytes += in.size();
  ctx.output(std::to_string(ctx.inputs().size()) + " " + std::to_string(bytes));
}

// Sends two arena objects in the opposite order of their creation.
TRAIL_FUNCTION(send_reversed)(trail::context& ctx) {
  trail::object_writer a = ctx.create("r", "a", 10);
  trail::object_writer b = ctx.create("r", "b", 10);
  std::memcpy(a.data(), "first", 5), a.resize(5);
  std::memcpy(b.data(), "second", 6), b.resize(6);
  ctx.send(std::move(b));
  ctx.send(std::move(a));
}

// args: ms [bucket key] — sleeps `ms`, then outputs "slept"; or, given a
// name, reads that object of the session (a round trip to the node) and
// copies it to (r, got), or writes "missing" there.
TRAIL_FUNCTION(pause)(trail::context& ctx) {
  std::this_thread::sleep_for(std::chrono::milliseconds(arg_u64(ctx, 0)));
  if (ctx.args().size() < 3) return ctx.output("slept");
  auto o = ctx.get(ctx.args()[1], ctx.args()[2]);
  ctx.put("r", "got", o ? o->str() : "missing");
}

// Asks for an object larger than any store.
TRAIL_FUNCTION(huge_create)(trail::context& ctx) { ctx.create("h", "k", ~std::size_t{0}); }
