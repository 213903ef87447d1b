// `top`: a live view of the nodes, polled from `nodes` and redrawn in place.
// Invocations per second come from the change of each node's "invocations"
// between two polls.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "format.hpp"
#include "terminal.hpp"

namespace trail::cli {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

// The upper bound in µs of the bucket holding quantile `q` of a hop
// histogram (bucket k counts hops up to 2^k µs); null without any hop.
json quantile_us(const std::vector<std::uint64_t>& counts, double q) {
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  if (total == 0) return nullptr;
  std::uint64_t seen = 0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    seen += counts[k];
    if (static_cast<double>(seen) >= q * static_cast<double>(total)) return std::uint64_t{1} << k;
  }
  return std::uint64_t{1} << (counts.size() - 1);
}

// What each node had at the previous poll, to show what changed since.
struct node_deltas {
  struct seen {
    std::uint64_t invocations = 0;
    std::vector<std::uint64_t> hops;
    clock_type::time_point at;
  };
  std::map<std::string, seen> last;

  // Sets "invocations_per_s" (null on a node's first poll) and "hop_p50_us" /
  // "hop_p99_us" (of the hops since the last poll; since the node started on
  // the first; null if none) on every node.
  void update(json& nodes, clock_type::time_point now) {
    for (auto& n : nodes) {
      std::string name = n.value("name", std::string());
      seen now_seen{n.value("invocations", std::uint64_t{0}), hop_counts(n), now};
      auto it = last.find(name);
      n["invocations_per_s"] = nullptr;
      std::vector<std::uint64_t> hops = now_seen.hops;
      if (it != last.end() && now > it->second.at && now_seen.invocations >= it->second.invocations) {
        double seconds = std::chrono::duration<double>(now - it->second.at).count();
        n["invocations_per_s"] = static_cast<double>(now_seen.invocations - it->second.invocations) / seconds;
        for (std::size_t k = 0; k < hops.size() && k < it->second.hops.size(); ++k)
          hops[k] -= std::min(hops[k], it->second.hops[k]);
      }
      n["hop_p50_us"] = quantile_us(hops, 0.5);
      n["hop_p99_us"] = quantile_us(hops, 0.99);
      last[name] = std::move(now_seen);
    }
  }

  static std::vector<std::uint64_t> hop_counts(const json& n) {
    std::vector<std::uint64_t> out;
    auto it = n.find("hop");
    if (it == n.end() || !it->is_object() || !(*it)["counts"].is_array()) return out;
    for (auto& c : (*it)["counts"]) out.push_back(c.is_number() ? c.get<std::uint64_t>() : 0);
    return out;
  }
};

std::string cell(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string frame(const json& j, const std::string& address, bool interactive) {
  auto now = std::chrono::system_clock::now();
  std::uint64_t ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  std::string out = "trail top \u2014 " + address + " \u2014 " + clock_time(ms).substr(0, 8);
  if (interactive) out += "   (q quits)";
  out += "\n\n";
  text_table t({"NODE", "STATE", "INV/S", "HOP P50", "HOP P99", "INVOCATIONS", "FAILURES", "BUSY", "FREE", "BACKLOG",
                "STORE", "OBJECTS"});
  double total_rate = 0;
  bool any_rate = false;
  for (auto& n : j.value("nodes", json::array())) {
    json e = n.value("executors", json::object()), st = n.value("store", json::object());
    std::string rate = "-";
    if (n["invocations_per_s"].is_number()) {
      char buf[32];
      double r = n["invocations_per_s"].get<double>();
      std::snprintf(buf, sizeof buf, "%.1f", r);
      rate = buf;
      total_rate += r, any_rate = true;
    }
    auto hop = [&](const char* key) { return n[key].is_number() ? "<" + human_us(n[key].get<std::int64_t>()) : "-"; };
    t.add({cell(n, "name"), cell(n, "state"), rate, hop("hop_p50_us"), hop("hop_p99_us"), cell(n, "invocations"),
           cell(n, "failures"), cell(e, "busy"),
           cell(e, "free"), cell(n, "backlog"),
           human_bytes(st.value("bytes_used", std::uint64_t{0})) + " / " + human_bytes(st.value("capacity", std::uint64_t{0})),
           cell(st, "objects")});
  }
  out += t.render();
  if (any_rate) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "\ntotal: %.1f invocations/s\n", total_rate);
    out += buf;
  }
  return out;
}

const char* top_synopsis = "top [--interval MS] [--once] [--count N]";
int run_top(session& s, const call& k) {
  std::uint64_t interval_ms = 1000, count = 0;
  bool once = false;
  CLI::App p;
  p.add_option("--interval", interval_ms);
  p.add_flag("--once", once);
  p.add_option("--count", count);
  if (!parse_args(p, top_synopsis, k)) return 2;
  if (once) count = 1;
  client* c = s.connect();
  if (!c) return 1;
  bool tty = ::isatty(1) && !k.json;
  bool interactive = tty && ::isatty(0) && count == 0;
  interrupt_watch watch(interactive);
  node_deltas r;
  for (std::uint64_t shown = 0; count == 0 || shown < count; ++shown) {
    auto text = c->admin("nodes");
    if (!text) return fail(text.error());
    auto j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.contains("nodes")) return fail("the server's nodes are not JSON: " + *text);
    r.update(j["nodes"], clock_type::now());
    if (k.json) std::cout << j.dump() << "\n";
    else std::cout << (tty ? "\x1b[H\x1b[2J" : shown ? "\n" : "") << frame(j, s.address(), interactive);
    std::cout.flush();
    if (count && shown + 1 == count) break;
    char key = 0;
    auto next = clock_type::now() + std::chrono::milliseconds(interval_ms);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - clock_type::now());
      auto e = watch.wait(std::max(left, std::chrono::milliseconds(0)), key);
      if (e == interrupt_watch::event::interrupted || (e == interrupt_watch::event::key && (key == 'q' || key == 'Q')))
        return 0;
      if (e == interrupt_watch::event::timeout) break;
    }
  }
  return 0;
}

}  // namespace

void add_top_command(command_table& t) {
  t.add({"top", top_synopsis, "a live view of every node: invocations/s, hop p50/p99, executors, backlog, store",
         "Polls `nodes` every interval and redraws in place: per node its invocations per second (from\n"
         "the change since the last poll), hop latency p50 and p99 (of the hops since the last poll, as\n"
         "the histogram bucket's upper bound), executors busy and free, backlog and store use.\n"
         "Quits on q or Ctrl-C.\n"
         "  --interval MS   time between polls (default 1000)\n"
         "  --once          one frame, then exit (same as --count 1)\n"
         "  --count N       N frames, then exit\n"
         "  --json          one line of JSON per frame: the nodes with \"invocations_per_s\",\n"
         "                  \"hop_p50_us\" and \"hop_p99_us\"",
         "admin", completes::nothing, run_top});
}

}  // namespace trail::cli
