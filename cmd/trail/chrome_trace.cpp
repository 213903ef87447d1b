#include "chrome_trace.hpp"

#include <map>
#include <string>

namespace trail::cli {
namespace {

using json = nlohmann::json;

std::string text_of(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::int64_t us(const json& e, const char* key) {
  auto it = e.find(key);
  return it != e.end() && it->is_number() ? it->get<std::int64_t>() : 0;
}

// Objects' names and the sum of their sizes.
json objects(const json& list, std::uint64_t& bytes) {
  json names = json::array();
  bytes = 0;
  if (!list.is_array()) return names;
  for (auto& o : list) {
    std::uint64_t size = o.value("size", std::uint64_t{0});
    bytes += size;
    names.push_back(o.value("bucket", std::string()) + "/" + o.value("key", std::string()) + " (" +
                    std::to_string(size) + " B)");
  }
  return names;
}

// Small stable ids for names (Chrome wants integer pids and tids).
struct ids {
  std::map<std::string, int> of;
  int operator()(const std::string& name) {
    auto [it, fresh] = of.emplace(name, static_cast<int>(of.size()) + 1);
    return it->second;
  }
};

}  // namespace

json chrome_trace(const json& trace) {
  json events = json::array();
  ids node_ids;
  std::map<std::pair<int, std::string>, int> thread_ids;  // (pid, executor) -> tid
  std::string app = trace.value("app", std::string());
  for (auto& e : trace.value("events", json::array())) {
    std::string node = text_of(e.value("node", json("?")));
    std::string executor = text_of(e.value("executor", json("?")));
    int pid = node_ids(node);
    auto [t, fresh] = thread_ids.emplace(std::make_pair(pid, executor), 0);
    if (fresh) {
      t->second = static_cast<int>(thread_ids.size());
      events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", pid}, {"tid", t->second},
                        {"args", {{"name", "executor " + executor}}}});
    }
    std::int64_t start = us(e, "started_us"), end = us(e, "ended_us"), queued = us(e, "queued_us");
    std::uint64_t in_bytes = 0, out_bytes = 0;
    json args{{"invocation", e.value("invocation", json())},
              {"attempt", e.value("attempt", json())},
              {"outcome", e.value("outcome", json())},
              {"queued_us", start >= queued ? start - queued : 0},
              {"inputs", objects(e.value("inputs", json::array()), in_bytes)},
              {"outputs", objects(e.value("outputs", json::array()), out_bytes)}};
    args["input_bytes"] = in_bytes;
    args["output_bytes"] = out_bytes;
    if (end < start) args["running"] = true;
    events.push_back({{"name", e.value("function", std::string("?"))},
                      {"cat", app},
                      {"ph", "X"},
                      {"ts", start},
                      {"dur", end >= start ? end - start : 0},
                      {"pid", pid},
                      {"tid", t->second},
                      {"args", std::move(args)}});
  }
  for (auto& [name, pid] : node_ids.of) {
    events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", pid}, {"args", {{"name", "node " + name}}}});
    events.push_back({{"ph", "M"}, {"name", "process_sort_index"}, {"pid", pid}, {"args", {{"sort_index", pid}}}});
  }
  return {{"traceEvents", std::move(events)},
          {"displayTimeUnit", "ms"},
          {"otherData", {{"session", trace.value("session", json())}, {"app", app},
                         {"started_ms", trace.value("started_ms", json())}}}};
}

}  // namespace trail::cli
