// The node's half of the admin commands (`trail nodes`, `sessions`,
// `session ID`, `trace ID`, `cancel ID`, `drain`, `logs`, `fault`): answers
// as JSON text from what the scheduler keeps (trace_log, recent_logs()).
// Standalone, the node answers operators itself; in a cluster the
// coordinator asks every node (`node`, `sessions`, `part ID`, ...) and
// merges their answers (coordinator.cpp).
#include <unistd.h>

#include "actors/core/admin_args.hpp"
#include "actors/net/faults.hpp"
#include "actors/sched/state.hpp"

namespace trail::actors::sched {
namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json node_entry(self_ptr self) {
  auto& st = self->state;
  int busy = 0, idle = 0;
  json pids = json::array();
  for (int i = 0; i < st.executors.size(); ++i) {
    auto& info = st.executors.info(i);
    busy += info.state == shm::executor_state::busy;
    idle += info.state == shm::executor_state::idle;
    if (info.pid > 0) pids.push_back(info.pid);
  }
  json j{{"name", st.trace->node()},
         {"number", st.cluster ? st.cluster->number : 0},
         {"incarnation", st.cluster ? st.cluster->incarnation : 0},
         {"state", st.draining ? "draining" : "live"},
         {"executors", {{"total", st.executors.size()}, {"busy", busy}, {"free", idle}, {"pids", pids}}},
         {"store", {{"objects", st.store->object_count()}, {"bytes_used", st.store->used_bytes()},
                    {"capacity", st.store->capacity()}}},
         {"backlog", st.queue.size()},
         {"sessions", st.sessions->in_flight()},
         {"invocations", st.count.invocations},
         {"failures", st.count.sessions_failed},
         {"pid", ::getpid()}};
  // Hop latency (runnable -> dispatched, metrics.hpp): per-bucket counts, so
  // that `top` can take quantiles of the interval between two polls.
  if (const auto* m = st.opts.metrics) {
    json buckets = json::array();
    for (int k = 0; k <= metrics::histogram::finite_buckets; ++k) buckets.push_back(m->hop.in_bucket(k));
    j["hop"] = {{"bucket_bounds_us", "2^k for bucket k; the last is above 2^24"}, {"counts", std::move(buckets)}};
  }
  return j;
}

result<std::uint64_t> session_arg(const std::string& command, const std::vector<std::string>& words) {
  auto a = core::parse_admin_args(command, words, {}, {}, 1);
  if (!a) return a.error();
  if (a->positional.empty()) return status::invalid(command + ": which session? (" + command + " ID)");
  return core::parse_number("session id", a->positional[0]);
}

result<std::string> sessions(self_ptr self, const std::vector<std::string>& words) {
  auto a = core::parse_admin_args("sessions", words, {"--app", "--state", "--limit"}, {}, 0);
  if (!a) return a.error();
  session_filter f;
  f.app = a->option("--app");
  f.state = a->option("--state");
  if (!f.state.empty() && f.state != "running" && f.state != "ok" && f.state != "failed")
    return status::invalid("sessions: --state is running, ok or failed, not '" + f.state + "'");
  if (auto l = a->option("--limit"); !l.empty()) {
    auto n = core::parse_number("--limit", l);
    if (!n) return n.error();
    f.limit = *n;
  }
  return dump(json{{"sessions", self->state.trace->sessions(f)}});
}

// `part ID` (for the coordinator), `session ID`, `trace ID` (standalone);
// `waiting`: what the triggers of a live session homed here still wait for.
result<std::string> session_view(self_ptr self, const std::string& command, const std::vector<std::string>& words,
                                 json waiting = json::array()) {
  auto id = session_arg(command, words);
  if (!id) return id.error();
  auto part = self->state.trace->part(*id);
  if (!part) return status::not_found("no session " + std::to_string(*id) + " is known here");
  if (!waiting.empty()) (*part)["waiting"] = std::move(waiting);
  if (command == "part") return dump(*part);
  std::vector<json> parts{std::move(*part)};
  auto j = command == "trace" ? merge_traces(*id, parts) : merge_session(*id, parts);
  return dump(*j);
}

result<std::string> cancel(self_ptr self, const std::vector<std::string>& words) {
  auto id = session_arg("cancel", words);
  if (!id) return id.error();
  auto& st = self->state;
  if (!st.sessions->live(*id) || !st.session_app.contains(*id))
    return status::not_found("no session " + std::to_string(*id) + " runs here");
  st.sessions->fail(*id, status::cancelled("cancelled by an operator"));
  pump(self);
  return dump(json{{"cancelled", *id}});
}

result<std::string> drain(self_ptr self, const std::vector<std::string>& words) {
  auto a = core::parse_admin_args("drain", words, {}, {"--off"}, 1);
  if (!a) return a.error();
  auto& st = self->state;
  bool on = !a->flag("--off");
  if (st.draining != on)
    log_line("trail-node: " + std::string(on ? "draining: no new sessions; running work finishes"
                                             : "no longer draining: taking new sessions"));
  st.draining = on;
  return dump(json{{"node", st.trace->node()}, {"draining", on}});
}

result<std::string> logs(const std::vector<std::string>& words, const std::string& node) {
  auto a = core::parse_admin_args("logs", words, {"--since", "--limit"}, {}, 0);
  if (!a) return a.error();
  std::uint64_t since = 0, limit = 1000;
  if (auto s = a->option("--since"); !s.empty()) {
    auto n = core::parse_number("--since", s);
    if (!n) return n.error();
    since = *n;
  }
  if (auto s = a->option("--limit"); !s.empty()) {
    auto n = core::parse_number("--limit", s);
    if (!n) return n.error();
    limit = *n;
  }
  return dump(logs_json(node, since, limit));
}

}  // namespace

json logs_json(const std::string& node, std::uint64_t since, std::size_t limit) {
  json lines = json::array();
  std::uint64_t next = since;
  for (auto& l : recent_logs().after(since, limit)) {
    lines.push_back({{"seq", l.seq}, {"time_ms", l.time_ms}, {"text", l.text}});
    next = l.seq;
  }
  return {{"node", node}, {"lines", std::move(lines)}, {"next", next}};
}

namespace {

// `drain NODE`, `fault NODE ...`, `logs [NODE]`: the node word names this
// node ("local" or its name standalone; in a cluster the coordinator chose
// the node by it). Returns the words after it.
result<std::vector<std::string>> addressed(self_ptr self, const std::string& command, std::vector<std::string> words,
                                           bool required) {
  auto& st = self->state;
  if (words.empty() || words[0].rfind("--", 0) == 0) {
    if (required) return status::invalid(command + ": which node? (" + command + " NODE ...)");
    return words;
  }
  const std::string& name = words[0];
  if (!st.cluster && name != "local" && name != st.trace->node())
    return status::not_found("no node '" + name + "' here: this standalone node is '" + st.trace->node() + "'");
  words.erase(words.begin());
  return words;
}

}  // namespace

caf::result<std::string> as_reply(result<std::string> r) {
  if (!r) return to_error(r.error());
  return std::move(*r);
}

caf::result<std::string> admin_request(self_ptr self, const std::string& command, const std::vector<std::string>& words) {
  auto& st = self->state;
  auto id = session_arg(command, words);
  auto app = id ? st.session_app.find(*id) : st.session_app.end();
  if ((command != "session" && command != "part") || app == st.session_app.end() || !st.sessions->live(*id))
    return as_reply(admin(self, command, words));
  // A live session homed here: ask its buckets what their triggers wait for.
  // (An app without buckets is answered at once: a promise made and not
  // kept would leave the asker waiting for its timeout.)
  if (app->second->buckets.empty()) return as_reply(session_view(self, command, words));
  auto rp = self->make_response_promise<std::string>();
  auto waiting = std::make_shared<json>(json::array());
  auto left = std::make_shared<std::size_t>(app->second->buckets.size());
  auto finish = [self, rp, waiting, left, command, words]() mutable {
    if (--*left > 0) return;
    auto r = session_view(self, command, words, std::move(*waiting));
    if (r) rp.deliver(std::move(*r));
    else rp.deliver(to_error(r.error()));
  };
  for (auto& [name, bucket] : app->second->buckets) {
    self->request(bucket, std::chrono::seconds(2), admin_atom::value, *id)
        .then(
            [=](const std::vector<std::string>& pairs) mutable {
              for (std::size_t i = 0; i + 1 < pairs.size(); i += 2)
                waiting->push_back({{"bucket", name}, {"trigger", pairs[i]}, {"waits_for", pairs[i + 1]}});
              finish();
            },
            [=](caf::error&) mutable { finish(); });  // (a bucket gone with its version: nothing to say)
  }
  return rp;
}

result<std::string> admin(self_ptr self, const std::string& command, const std::vector<std::string>& all) {
  auto& st = self->state;
  std::vector<std::string> words = all;
  if (command == "drain" || command == "fault" || command == "logs") {
    auto w = addressed(self, command, all, command != "logs");
    if (!w) return w.error();
    words = std::move(*w);
  }
  if (command == "node") return dump(node_entry(self));
  if (command == "nodes") {
    if (!words.empty()) return status::invalid("nodes: takes no arguments");
    return dump(json{{"nodes", json::array({node_entry(self)})}});
  }
  if (command == "sessions") return sessions(self, words);
  if (command == "part" || command == "session" || command == "trace") return session_view(self, command, words);
  if (command == "cancel") return cancel(self, words);
  if (command == "drain") return drain(self, words);
  if (command == "logs") return logs(words, st.trace->node());
  if (command == "fault") {
    if (!st.opts.faults) return status::unavailable("fault: no fault points in this process");
    return st.opts.faults->arm(words);
  }
  return status::invalid("unknown admin command '" + command + "'");
}

}  // namespace trail::actors::sched
