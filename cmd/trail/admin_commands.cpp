// The operator's commands: each asks the server with client::admin and
// prints its JSON answer as aligned tables (or, with --json, as it came).
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "chrome_trace.hpp"
#include "commands.hpp"
#include "format.hpp"
#include "terminal.hpp"

namespace trail::cli {
namespace {

using json = nlohmann::json;

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}
std::uint64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<std::uint64_t>() : 0;
}
std::int64_t inum(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<std::int64_t>() : 0;
}

// Asks the server; on success sets `out` to its JSON text.
bool ask(session& s, const std::string& command, const std::vector<std::string>& args, std::string& out) {
  client* c = s.connect();
  if (!c) return false;
  auto r = c->admin(command, args);
  if (!r) {
    fail(r.error());
    return false;
  }
  out = std::move(*r);
  return true;
}

// Asks, then prints the answer: as it came with --json, else through `human`.
int ask_and_print(session& s, const call& k, const std::string& command, const std::vector<std::string>& args,
                  void (*human)(const json&)) {
  std::string text;
  if (!ask(s, command, args, text)) return 1;
  auto j = json::parse(text, nullptr, false);
  if (k.json || j.is_discarded()) std::cout << text << "\n";
  else human(j);
  return 0;
}

std::string run_time(std::int64_t from, std::int64_t to) { return to >= from && to > 0 ? human_us(to - from) : "-"; }

// -- nodes ------------------------------------------------------------------

void print_nodes(const json& j) {
  // With several partitions the client gathered every one's nodes, each tagged with its partition.
  const bool partitions = j.contains("coordinator") && j["coordinator"].contains("partition");
  if (partitions)
    std::cout << "cluster: " << str(j["coordinator"]["partition"], "of") << " partitions of "
              << str(j["coordinator"], "shards") << " shards\n"
              << coordinators_line(j["coordinator"]);
  else if (j.contains("coordinator"))
    std::cout << "coordinator: pid " << str(j["coordinator"], "pid") << ", " << str(j["coordinator"], "shards")
              << " shards"
              << (j["coordinator"].contains("holds_shards_as")
                      ? ", held (etcd lease) as " + str(j["coordinator"], "holds_shards_as")
                      : std::string())
              << "\n"
              << coordinators_line(j["coordinator"]);
  for (auto& u : j.value("unanswered", json::array()))
    std::cout << "partition " << str(u, "partition") << " not shown: " << str(u, "why") << "\n";
  std::vector<std::string> columns{"NODE", "STATE", "INCARNATION", "BUSY", "FREE", "EXECUTORS", "BACKLOG", "STORE",
                                   "OBJECTS", "INVOCATIONS", "FAILURES", "PID", "CLIENT"};
  if (partitions) columns.insert(columns.begin() + 1, "PARTITION");
  text_table t(columns);
  for (auto& n : j.value("nodes", json::array())) {
    json e = n.value("executors", json::object()), st = n.value("store", json::object());
    std::string client = n.value("client", std::string());
    std::vector<std::string> row{str(n, "name"), str(n, "state"), str(n, "incarnation"), str(e, "busy"), str(e, "free"),
                                 str(e, "total"), str(n, "backlog"),
                                 human_bytes(num(st, "bytes_used")) + " / " + human_bytes(num(st, "capacity")),
                                 str(st, "objects"), str(n, "invocations"), str(n, "failures"), str(n, "pid"),
                                 client.empty() ? "-" : client};
    if (partitions) row.insert(row.begin() + 1, str(n, "partition"));
    t.add(row);
  }
  std::cout << t.render();
}

int run_nodes(session& s, const call& k) {
  CLI::App p;
  if (!parse_args(p, "nodes", k)) return 2;
  return ask_and_print(s, k, "nodes", {}, print_nodes);
}

// -- sessions ---------------------------------------------------------------

void print_sessions(const json& j) {
  text_table t({"SESSION", "APP", "STATE", "NODE", "STARTED", "TOOK", "ERROR"});
  for (auto& r : j.value("sessions", json::array())) {
    std::uint64_t started = num(r, "started_ms"), ended = num(r, "ended_ms");
    t.add({str(r, "id"), str(r, "app"), str(r, "state"), str(r, "node"), clock_time(started),
           ended >= started && ended ? human_us(static_cast<std::int64_t>(ended - started) * 1000) : "-",
           r.value("error", std::string())});
  }
  if (t.rows() == 0) std::cout << "no sessions\n";
  else std::cout << t.render();
}

const char* sessions_synopsis = "sessions [--app APP] [--state running|ok|failed] [--limit N]";
int run_sessions(session& s, const call& k) {
  std::string app, state;
  std::uint64_t limit = 0;
  CLI::App p;
  p.add_option("--app", app);
  p.add_option("--state", state)->check(CLI::IsMember({"running", "ok", "failed"}));
  p.add_option("--limit", limit);
  if (!parse_args(p, sessions_synopsis, k)) return 2;
  std::vector<std::string> args;
  if (!app.empty()) args.insert(args.end(), {"--app", app});
  if (!state.empty()) args.insert(args.end(), {"--state", state});
  if (limit) args.insert(args.end(), {"--limit", std::to_string(limit)});
  return ask_and_print(s, k, "sessions", args, print_sessions);
}

// -- session ID -------------------------------------------------------------

void print_session(const json& j) {
  std::uint64_t started = num(j, "started_ms"), ended = num(j, "ended_ms");
  std::cout << "session " << str(j, "id") << ": app " << str(j, "app") << ", " << str(j, "state") << ", on node "
            << str(j, "node") << "\n";
  std::cout << "started " << clock_time(started);
  if (ended) std::cout << ", ended " << clock_time(ended) << " (took "
                       << human_us(static_cast<std::int64_t>(ended - started) * 1000) << ")";
  std::cout << "\n";
  if (!j.value("error", std::string()).empty()) std::cout << "error: " << j["error"].get<std::string>() << "\n";
  text_table t({"FUNCTION", "INVOCATION", "ATTEMPT", "NODE", "EXECUTOR", "STATE", "AT", "QUEUED", "RAN", "ERROR"});
  for (auto& a : j.value("attempts", json::array())) {
    std::int64_t q = inum(a, "queued_us"), b = inum(a, "started_us"), e = inum(a, "ended_us");
    t.add({str(a, "function"), str(a, "invocation"), str(a, "attempt"), str(a, "node"), str(a, "executor"),
           str(a, "state"), human_us(q), b ? run_time(q, b) : "-", run_time(b, e), a.value("error", std::string())});
  }
  std::cout << "\nattempts:\n" << (t.rows() ? t.render() : "(none)\n");
  auto waiting = j.value("waiting", json::array());
  if (!waiting.empty()) {
    std::cout << "\nwaiting:\n";
    text_table w({"BUCKET", "TRIGGER", "WAITS FOR"});
    for (auto& x : waiting) w.add({str(x, "bucket"), str(x, "trigger"), str(x, "waits_for")});
    std::cout << w.render();
  }
}

int run_session(session& s, const call& k) {
  std::string id_text;
  CLI::App p;
  p.add_option("session", id_text)->required();
  if (!parse_args(p, "session ID", k)) return 2;
  std::uint64_t id = 0;
  if (!parse_session_id(id_text, id)) return 1;
  return ask_and_print(s, k, "session", {id_text}, print_session);
}

// -- trace ID ---------------------------------------------------------------

std::string objects_text(const json& list) {
  if (!list.is_array() || list.empty()) return "-";
  std::string out;
  for (auto& o : list)
    out += (out.empty() ? "" : ", ") + str(o, "bucket") + "/" + str(o, "key") + " " + human_bytes(num(o, "size"));
  return out;
}

void print_trace(const json& j) {
  std::cout << "session " << str(j, "session") << " (" << str(j, "app") << "), started "
            << clock_time(num(j, "started_ms")) << "\n";
  text_table t({"AT", "FUNCTION", "INVOCATION", "ATTEMPT", "NODE", "EXECUTOR", "QUEUED", "RAN", "OUTCOME", "INPUTS",
                "OUTPUTS"});
  for (auto& e : j.value("events", json::array())) {
    std::int64_t q = inum(e, "queued_us"), b = inum(e, "started_us"), d = inum(e, "ended_us");
    t.add({b ? human_us(b) : "-", str(e, "function"), str(e, "invocation"), str(e, "attempt"), str(e, "node"), str(e, "executor"),
           run_time(q, b), run_time(b, d), str(e, "outcome"), objects_text(e.value("inputs", json())),
           objects_text(e.value("outputs", json()))});
  }
  std::cout << t.render();
}

const char* trace_synopsis = "trace ID [--chrome FILE]";
int run_trace(session& s, const call& k) {
  std::string id_text, chrome;
  CLI::App p;
  p.add_option("session", id_text)->required();
  p.add_option("--chrome", chrome);
  if (!parse_args(p, trace_synopsis, k)) return 2;
  std::uint64_t id = 0;
  if (!parse_session_id(id_text, id)) return 1;
  std::string text;
  if (!ask(s, "trace", {id_text}, text)) return 1;
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail("the server's trace is not JSON: " + text);
  if (!chrome.empty()) {
    json events = chrome_trace(j);
    std::ofstream out(chrome);
    out << events.dump() << "\n";
    if (!out.flush()) return fail("cannot write '" + chrome + "'");
    std::cerr << "wrote " << j.value("events", json::array()).size() << " function attempts to " << chrome
              << " (open it in https://ui.perfetto.dev)\n";
  }
  if (k.json) std::cout << text << "\n";
  else print_trace(j);
  return 0;
}

// -- cancel, drain ----------------------------------------------------------

int run_cancel(session& s, const call& k) {
  std::string id_text;
  CLI::App p;
  p.add_option("session", id_text)->required();
  if (!parse_args(p, "cancel ID", k)) return 2;
  std::uint64_t id = 0;
  if (!parse_session_id(id_text, id)) return 1;
  return ask_and_print(s, k, "cancel", {id_text},
                       [](const json& j) { std::cout << "cancelled session " << str(j, "cancelled") << "\n"; });
}

int run_drain(session& s, const call& k) {
  std::string node;
  bool off = false;
  CLI::App p;
  p.add_option("node", node)->required();
  p.add_flag("--off", off);
  if (!parse_args(p, "drain NODE [--off]", k)) return 2;
  std::vector<std::string> args{node};
  if (off) args.push_back("--off");
  return ask_and_print(s, k, "drain", args, [](const json& j) {
    if (j.value("draining", false))
      std::cout << "node " << str(j, "node") << " is draining: it takes no new work; running work finishes\n";
    else
      std::cout << "node " << str(j, "node") << " takes new work again\n";
  });
}

// -- logs -------------------------------------------------------------------

void print_log_lines(const json& j) {
  for (auto& l : j.value("lines", json::array()))
    std::cout << clock_time(num(l, "time_ms")) << " " << l.value("text", std::string()) << "\n";
}

const char* logs_synopsis = "logs [NODE|coordinator] [--follow] [--since SEQ]";
int run_logs(session& s, const call& k) {
  std::string node;
  std::uint64_t since = 0;
  bool follow = false;
  CLI::App p;
  p.add_option("node", node);
  p.add_option("--since", since);
  p.add_flag("--follow,-f", follow);
  if (!parse_args(p, logs_synopsis, k)) return 2;
  auto args_from = [&](std::uint64_t from) {
    std::vector<std::string> args;
    if (!node.empty()) args.push_back(node);
    if (from) args.insert(args.end(), {"--since", std::to_string(from)});
    return args;
  };
  if (!follow) return ask_and_print(s, k, "logs", args_from(since), print_log_lines);
  interrupt_watch watch(false);
  for (bool said = false;; said = true) {  // until Ctrl-C
    std::string text;
    if (!ask(s, "logs", args_from(since), text)) return 1;
    // (Once the node answered: an unknown node or a lost server is an error, not a follow.)
    if (!said) std::cerr << "following " << (node.empty() ? "the node" : node) << "'s log; Ctrl-C stops\n";
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return fail("the server's logs are not JSON: " + text);
    if (k.json) {
      if (!j.value("lines", json::array()).empty()) std::cout << j.dump() << "\n";
    } else {
      print_log_lines(j);
    }
    std::cout.flush();
    since = j.value("next", since);
    char key;
    if (watch.wait(std::chrono::milliseconds(200), key) == interrupt_watch::event::interrupted) return 0;
  }
}

// -- fault ------------------------------------------------------------------

int run_fault(session& s, const call& k) {
  if (k.args.empty()) {
    std::cerr << "trail fault: which node and what fault?\nusage: fault NODE SPEC...\n";
    return 2;
  }
  std::string text;
  if (!ask(s, "fault", k.args, text)) return 1;
  if (k.json) std::cout << text << "\n";
  else print_json(text);
  return 0;
}

}  // namespace

void add_admin_commands(command_table& t) {
  t.add({"nodes", "nodes", "every node: state, incarnation, executors, backlog, store, invocations",
         "One row per live node (one for a standalone node): its state (live or draining), incarnation,\n"
         "executors busy/free/total, backlog (work waiting for an executor), store use, invocations and\n"
         "failures so far, pid and client address. Against a coordinator, also the coordinator's pid and shards.",
         "admin", completes::nothing, run_nodes});
  t.add({"sessions", sessions_synopsis, "recent sessions, newest first",
         "  --app APP       only sessions of APP\n"
         "  --state STATE   only running, ok or failed sessions\n"
         "  --limit N       at most N (the server's default: 100)",
         "admin", completes::nothing, run_sessions});
  t.add({"session", "session ID", "one session: its attempts, where each ran, what its triggers wait for",
         "Every attempt of every function of the session (node, executor, state, when it was queued,\n"
         "how long it waited and ran) and, while the session runs, what each trigger still waits for.",
         "admin", completes::sessions, run_session});
  t.add({"trace", trace_synopsis, "a session's hop timeline: functions, nodes, executors, objects",
         "Every function attempt in order: when it started (since the session began), its node and\n"
         "executor, queue and run time, outcome, and each object it read and wrote with its size.\n"
         "  --chrome FILE   also write Chrome trace-event JSON to FILE (open it in Perfetto:\n"
         "                  https://ui.perfetto.dev): one slice per attempt, a track per node/executor",
         "admin", completes::sessions, run_trace});
  t.add({"cancel", "cancel ID", "cancel a running session", "", "admin", completes::sessions, run_cancel});
  t.add({"drain", "drain NODE [--off]", "stop giving NODE new work (running work finishes)",
         "  --off   give the node work again", "admin", completes::nodes, run_drain});
  t.add({"logs", logs_synopsis, "a node's recent log lines",
         "NODE is a node's name, or `coordinator` for the coordinator's own log; it may be left out\n"
         "against a standalone node. Functions' output is in their node's log.\n"
         "  --since SEQ   only lines after sequence number SEQ\n"
         "  --follow      keep printing new lines (polls every 200 ms) until Ctrl-C",
         "admin", completes::nodes, run_logs});
  t.add({"fault", "fault NODE SPEC...", "arm or clear a fault point on NODE (see README: scenarios)",
         "The words after NODE go to the node's fault points as they are; the node answers what it armed.\n"
         "Against a standalone node, NODE may be its name or \"local\".",
         "admin", completes::nodes, run_fault});
}

}  // namespace trail::cli
