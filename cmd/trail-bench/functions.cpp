// Functions the benchmarks run. Built like any user library: SDK header only.
#include <csignal>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <trail/function.hpp>

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint64_t arg(trail::context& ctx, std::size_t i) { return std::stoull(std::string(ctx.args()[i])); }

}  // namespace

TRAIL_FUNCTION(noop)(trail::context&) {}

// The app's output, nothing else: a 1-function app.
TRAIL_FUNCTION(noop_out)(trail::context& ctx) { ctx.output("ok"); }

// First of a 2-function app: an empty object for the next.
TRAIL_FUNCTION(noop_put)(trail::context& ctx) { ctx.put("next", "k", ""); }

namespace {

// Sends a `size`-byte object (at least 8) into `bucket`, written by `fill`
// first; the time just before send goes into its first 8 bytes (a hop starts
// when its data is ready).
template <class Fill>
void send_stamped(trail::context& ctx, const char* bucket, std::uint64_t size, Fill fill) {
  size = std::max<std::uint64_t>(size, sizeof(std::int64_t));
  trail::object_writer w = ctx.create(bucket, "payload", size);
  fill(w.data(), size);
  w.resize(size);
  std::int64_t t = now_ns();
  std::memcpy(w.data(), &t, sizeof t);
  ctx.send(std::move(w));
}

// When the stamped object `in` was sent.
std::int64_t sent_at(const trail::object& in) {
  std::int64_t sent = 0;
  std::memcpy(&sent, in.data(), sizeof sent);
  return sent;
}

}  // namespace

// local-hop and remote-hop source. args: payload bytes.
TRAIL_FUNCTION(hop_src)(trail::context& ctx) {
  send_stamped(ctx, "hop", arg(ctx, 0), [](char* p, std::uint64_t n) { std::memset(p, 'x', n); });
}

// local-hop, target asleep. args: payload bytes. Idles 1 ms first, so that
// the node and the other executors fall asleep; lingers 1 ms after the send,
// so that the next function cannot run on this executor.
TRAIL_FUNCTION(hop_src_idle)(trail::context& ctx) {
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  send_stamped(ctx, "hop", arg(ctx, 0), [](char* p, std::uint64_t n) { std::memset(p, 'x', n); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

namespace {

// A back-to-back hop's object: [sent at][hops wanted][hops so far][hop ns...].
struct b2b_head {
  std::int64_t sent = 0;
  std::uint32_t want = 0, done = 0;
};

void send_b2b(trail::context& ctx, b2b_head h, const std::int64_t* samples) {
  std::size_t size = sizeof h + h.done * sizeof(std::int64_t);
  trail::object_writer w = ctx.create("b2b", std::to_string(h.done), size);
  std::memcpy(w.data() + sizeof h, samples, h.done * sizeof(std::int64_t));
  w.resize(size);
  h.sent = now_ns();
  std::memcpy(w.data(), &h, sizeof h);
  ctx.send(std::move(w));
}

}  // namespace

// local-hop back-to-back: args: hops. Each step (immediate trigger ->
// b2b_step) measures the hop that brought it and passes the samples on,
// at once; the last outputs them, space-separated, in ns.
TRAIL_FUNCTION(b2b_start)(trail::context& ctx) { send_b2b(ctx, {0, static_cast<std::uint32_t>(arg(ctx, 0)), 0}, nullptr); }

TRAIL_FUNCTION(b2b_step)(trail::context& ctx) {
  std::int64_t t = now_ns();
  const trail::object& in = ctx.inputs()[0];
  b2b_head h;
  std::memcpy(&h, in.data(), sizeof h);
  std::vector<std::int64_t> samples(h.done + 1);
  std::memcpy(samples.data(), in.data() + sizeof h, h.done * sizeof(std::int64_t));
  samples[h.done++] = t - h.sent;
  if (h.done < h.want) return send_b2b(ctx, h, samples.data());
  std::string out;
  for (auto ns : samples) out += std::to_string(ns) + " ";
  ctx.output(out);
}

// local-hop and remote-hop target: the hop ends at its entry. Outputs the hop in ns.
TRAIL_FUNCTION(hop_dst)(trail::context& ctx) {
  std::int64_t t = now_ns();
  ctx.output(std::to_string(t - sent_at(ctx.inputs()[0])));
}

// remote-object source. args: bytes. Word i of the object is i (but word 0, the stamp).
TRAIL_FUNCTION(big_src)(trail::context& ctx) {
  send_stamped(ctx, "big", arg(ctx, 0) / 8 * 8, [](char* p, std::uint64_t n) {
    auto* words = reinterpret_cast<std::uint64_t*>(p);
    for (std::uint64_t i = 1; i < n / 8; ++i) words[i] = i;
  });
}

// remote-object target: the hop ends at its entry; then every word is
// checked. Outputs "<hop ns> <bad words>".
TRAIL_FUNCTION(big_dst)(trail::context& ctx) {
  std::int64_t t = now_ns();
  const trail::object& in = ctx.inputs()[0];
  auto* words = reinterpret_cast<const std::uint64_t*>(in.data());
  std::uint64_t bad = 0;
  for (std::uint64_t i = 1; i < in.size() / 8; ++i) bad += words[i] != i;
  ctx.output(std::to_string(t - sent_at(in)) + " " + std::to_string(bad));
}

// chain: args: length. Each step passes a counter on through bucket "c"
// (immediate -> step) until `length` steps ran, then outputs.
TRAIL_FUNCTION(chain_start)(trail::context& ctx) {
  ctx.put("c", "0", std::string(ctx.args()[0]) + " " + std::to_string(now_ns()));
}

TRAIL_FUNCTION(chain_step)(trail::context& ctx) {
  std::string in(ctx.inputs()[0].str());
  std::uint64_t length = std::stoull(in.substr(0, in.find(' ')));
  std::uint64_t step = std::stoull(std::string(ctx.inputs()[0].key())) + 1;
  if (step >= length) {
    ctx.output(std::to_string(now_ns() - std::stoll(in.substr(in.find(' ') + 1))));
    return;
  }
  ctx.put("c", std::to_string(step), in);
}

// fanout: args: width. Puts `width` tasks; each is done by fan_work; a batch
// of `width` results fires fan_collect, which outputs the elapsed ns.
TRAIL_FUNCTION(fan_start)(trail::context& ctx) {
  std::uint64_t width = arg(ctx, 0);
  std::string t = std::to_string(now_ns());
  for (std::uint64_t i = 0; i < width; ++i) ctx.put("tasks", std::to_string(i), t);
}

TRAIL_FUNCTION(fan_work)(trail::context& ctx) {
  const trail::object& in = ctx.inputs()[0];
  ctx.put("results", in.key(), in.str());
}

TRAIL_FUNCTION(fan_collect)(trail::context& ctx) {
  ctx.output(std::to_string(now_ns() - std::stoll(std::string(ctx.inputs()[0].str()))) + " " +
             std::to_string(ctx.inputs().size()));
}

// recovery, executor crash: the first attempt kills its own executor
// (SIGKILL, as a crash would); the re-run outputs.
TRAIL_FUNCTION(crash_once)(trail::context& ctx) {
  if (ctx.attempt() == 0) ::raise(SIGKILL);
  ctx.output("ok");
}

// recovery, node loss: args: ms. Naps that long, then outputs.
TRAIL_FUNCTION(nap_ms)(trail::context& ctx) {
  std::this_thread::sleep_for(std::chrono::milliseconds(arg(ctx, 0)));
  ctx.output("rested");
}
