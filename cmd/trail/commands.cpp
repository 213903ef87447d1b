#include "commands.hpp"

#include <charconv>
#include <iostream>

#include <nlohmann/json.hpp>

namespace trail::cli {
namespace {

using json = nlohmann::json;

// A coordinator's status: its nodes, then each shard's apps and sessions.
void print_cluster_status(const json& j) {
  const auto& c = j["coordinator"];
  if (c.contains("partition")) {  // (the client gathered every partition's nodes and shards)
    std::cout << "cluster: " << c["partition"]["of"] << " partitions of " << c["shards"] << " shards, "
              << j["nodes"].size() << " live nodes\n";
    for (auto& p : c["partition"]["each"]) {
      std::cout << "  partition " << p["index"] << ": ";
      if (p.contains("holder")) std::cout << "held by " << p["holder"].get<std::string>();
      else std::cout << "no holder now (a standby claims it within two lease periods)";
      if (p.contains("nodes")) std::cout << ", " << p["nodes"] << " node(s)";
      std::cout << "\n";
    }
    for (auto& u : j.value("unanswered", json::array()))
      std::cout << "  partition " << u["partition"] << " not shown: " << u["why"].get<std::string>() << "\n";
  } else {
    std::cout << "coordinator: " << c["shards"] << " shards";
    if (c.contains("holds_shards_as")) std::cout << ", all held (etcd lease) as " << c["holds_shards_as"].get<std::string>();
    std::cout << ", " << j["nodes"].size() << " live nodes\n";
  }
  std::cout << coordinators_line(c);
  for (auto& n : j["nodes"]) {
    std::string part = n.contains("partition") ? " [partition " + n["partition"].dump() + "]" : "";
    std::cout << "  node " << n["name"].get<std::string>() << part << " (#" << n["number"] << ", "
              << n["address"].get<std::string>() << "): " << n.value("free_executors", 0) << " of "
              << n.value("executors", 0) << " executors free\n";
  }
  int in_flight = 0, ok = 0, failed = 0, restarted = 0, forwarded = 0;
  std::cout << "apps:";
  bool any = false;
  for (auto& sh : j["shards"]) {
    for (auto& [name, a] : sh["apps"].items()) {
      std::cout << " " << name << " v" << a["version"] << " (on " << a["holders"].size() << " nodes)";
      any = true;
    }
    in_flight += sh["sessions"]["in_flight"].get<int>();
    ok += sh["sessions"]["ok"].get<int>();
    failed += sh["sessions"]["failed"].get<int>();
    restarted += sh["sessions"]["restarted_elsewhere"].get<int>();
    forwarded += sh["forwarded"]["placed"].get<int>();
  }
  std::cout << (any ? "\n" : " (none)\n");
  std::cout << "sessions: " << in_flight << " in flight, " << ok << " ok, " << failed << " failed, " << restarted
            << " restarted on another node\n";
  std::cout << "forwarded work placed: " << forwarded << "\n";
}

void print_status(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    std::cout << text << "\n";
    return;
  }
  if (j.contains("coordinator")) return print_cluster_status(j);
  auto& e = j["executors"];
  std::cout << "executors: " << e["busy"] << " busy, " << e["idle"] << " idle, " << e["total"] << " total\n";
  std::cout << "apps:";
  for (auto& a : j["apps"]) std::cout << " " << a.get<std::string>();
  std::cout << (j["apps"].empty() ? " (none)\n" : "\n");
  auto& s = j["sessions"];
  std::cout << "sessions: " << s["in_flight"] << " in flight, " << s["ok"] << " ok, " << s["failed"] << " failed\n";
  auto& i = j["invocations"];
  std::cout << "invocations: " << i["started"] << " started, " << i["running"] << " running, " << i["queued"]
            << " queued, " << i["retries"] << " retries\n";
  auto& st = j["store"];
  std::cout << "store: " << st["objects"] << " objects, " << st["bytes_used"] << " of " << st["capacity"]
            << " bytes in use\n";
  if (!j["recent_sessions"].empty()) {
    std::cout << "recent sessions:\n";
    for (auto& r : j["recent_sessions"]) {
      std::cout << "  " << r["session"] << " " << r["app"].get<std::string>() << ": ";
      if (r.contains("output")) std::cout << "output " << r["output"].dump() << "\n";
      else if (r.contains("error")) std::cout << "failed: " << r["error"].get<std::string>() << "\n";
      else std::cout << "ended without output\n";
    }
  }
  if (!j["recent_failures"].empty()) {
    std::cout << "recent failures:\n";
    for (auto& f : j["recent_failures"]) std::cout << "  " << f.get<std::string>() << "\n";
  }
}

// -- handlers ---------------------------------------------------------------

int run_help(session& s, const call& k) {
  auto& table = s.commands();
  if (k.args.empty()) {
    if (!k.json) {
      std::cout << table.list_help();
      return 0;
    }
    json out = json::array();
    for (const command* c : table.all())
      out.push_back({{"name", c->name}, {"synopsis", c->synopsis}, {"summary", c->summary}, {"group", c->group}});
    std::cout << json{{"commands", out}}.dump(2) << "\n";
    return 0;
  }
  const command* c = table.find(k.args[0]);
  if (!c) {
    std::string near = table.nearest(k.args[0]);
    return fail("no command '" + k.args[0] + "'" + (near.empty() ? "" : " \u2014 did you mean '" + near + "'?"));
  }
  if (k.json)
    std::cout << json{{"name", c->name}, {"synopsis", c->synopsis}, {"summary", c->summary}, {"details", c->details}}.dump(2)
              << "\n";
  else std::cout << command_table::detail_help(*c);
  return 0;
}

const char* deploy_synopsis = "deploy MANIFEST";
int run_deploy(session& s, const call& k) {
  std::string manifest;
  CLI::App p;
  p.add_option("manifest", manifest)->required();
  if (!parse_args(p, deploy_synopsis, k)) return 2;
  client* c = s.connect();
  if (!c) return 1;
  auto r = c->deploy(manifest);
  if (!r) return fail(r.error());
  if (k.json) std::cout << json{{"deployed", *r}}.dump() << "\n";
  else std::cerr << "deployed " << *r << "\n";
  return 0;
}

const char* invoke_synopsis = "invoke APP [ARGS...] [--timeout MS] [--async]";
int run_invoke(session& s, const call& k) {
  std::string app;
  std::vector<std::string> args;
  std::uint64_t timeout_ms = 60000;
  bool async = false;
  CLI::App p;
  p.add_option("app", app)->required();
  p.add_option("args", args);
  p.add_option("--timeout", timeout_ms);
  p.add_flag("--async", async);
  if (!parse_args(p, invoke_synopsis, k)) return 2;
  client* c = s.connect();
  if (!c) return 1;
  auto r = c->invoke(app, args, std::chrono::milliseconds(timeout_ms), async);
  if (!r) return fail(r.error());
  if (k.json) {
    json out{{"session", r->session}};
    if (!async) out["output"] = r->output;
    std::cout << out.dump() << "\n";
  } else if (async) {
    std::cout << r->session << "\n";
  } else {
    std::cout << r->output << "\n";
  }
  return 0;
}

const char* result_synopsis = "result SESSION [--timeout MS]";
int run_result(session& s, const call& k) {
  std::string text;
  std::uint64_t timeout_ms = 60000;
  CLI::App p;
  p.add_option("session", text)->required();
  p.add_option("--timeout", timeout_ms);
  if (!parse_args(p, result_synopsis, k)) return 2;
  std::uint64_t id = 0;
  if (!parse_session_id(text, id)) return 1;
  client* c = s.connect();
  if (!c) return 1;
  auto r = c->result_of(id, std::chrono::milliseconds(timeout_ms));
  if (!r) return fail(r.error());
  if (k.json) std::cout << json{{"session", id}, {"output", r->output}}.dump() << "\n";
  else std::cout << r->output << "\n";
  return 0;
}

int run_status(session& s, const call& k) {
  CLI::App p;
  if (!parse_args(p, "status", k)) return 2;
  client* c = s.connect();
  if (!c) return 1;
  auto r = c->status_json();
  if (!r) return fail(r.error());
  if (k.json) std::cout << *r << "\n";
  else print_status(*r);
  return 0;
}

int run_apps(session& s, const call& k) {
  CLI::App p;
  if (!parse_args(p, "apps", k)) return 2;
  client* c = s.connect();
  if (!c) return 1;
  auto r = c->apps();
  if (!r) return fail(r.error());
  if (k.json) {
    json out = json::array();
    for (auto& a : *r) {  // "NAME vN"
      auto space = a.rfind(" v");
      if (space == std::string::npos) out.push_back({{"name", a}});
      else out.push_back({{"name", a.substr(0, space)}, {"version", std::stoul(a.substr(space + 2))}});
    }
    std::cout << json{{"apps", out}}.dump() << "\n";
  } else {
    for (auto& a : *r) std::cout << a << "\n";
  }
  return 0;
}

int run_undeploy(session& s, const call& k) {
  std::string app;
  CLI::App p;
  p.add_option("app", app)->required();
  if (!parse_args(p, "undeploy APP", k)) return 2;
  client* c = s.connect();
  if (!c) return 1;
  auto r = c->undeploy(app);
  if (!r) return fail(r.error());
  if (k.json) std::cout << json{{"undeployed", app}, {"message", *r}}.dump() << "\n";
  else std::cerr << *r << "\n";
  return 0;
}

}  // namespace

bool parse_args(CLI::App& p, const std::string& synopsis, const call& k) {
  p.name(synopsis.substr(0, synopsis.find(' ')));
  p.set_help_flag();  // the table handles --help
  std::vector<std::string> words(k.args.rbegin(), k.args.rend());  // CLI11 takes arguments last-first
  try {
    p.parse(words);
  } catch (const CLI::ParseError& e) {
    std::cerr << "trail " << p.get_name() << ": " << e.what() << "\nusage: " << synopsis << "\n";
    if (k.json)
      std::cout << nlohmann::json{{"error", {{"code", "invalid argument"}, {"message", e.what()}, {"usage", synopsis}}}}.dump()
                << "\n";
    return false;
  }
  return true;
}

namespace {

// "etcd: ..." from the keeper's last word on its writes; empty without etcd.
std::string etcd_line(const json& coordinator) {
  if (!coordinator.contains("etcd_writes")) return {};
  const json& w = coordinator["etcd_writes"];
  auto kept_back = w.value("kept_back", std::uint64_t{0});
  auto refused = w.value("refused_groups", std::uint64_t{0});
  std::string last = w.value("last_refusal", std::string());
  std::string under = coordinator.contains("etcd_prefix") ? coordinator["etcd_prefix"].get<std::string>() : "";
  if (!under.empty()) under = " (keys under " + under + ")";
  if (kept_back > 0)
    return "etcd" + under + ": refusing writes (" + last + "); " + std::to_string(kept_back) +
           " write(s) nobody waits for kept back, going again until it takes them\n";
  if (refused > 0)
    return "etcd" + under + ": writes go through (" + std::to_string(refused) + " group(s) refused so far; last: " + last + ")\n";
  return "etcd" + under + ": writes go through\n";
}

}  // namespace

std::string coordinators_line(const json& coordinator) {
  std::string etcd = etcd_line(coordinator);
  if (coordinator.contains("paused"))
    etcd = "paused: " + coordinator.value("paused", std::string()) +
           " (no node joins it; its nodes join a coordinator that holds the shards)\n" + etcd;
  // (Empty until the lease warden first reads the list from etcd.)
  if (!coordinator.contains("coordinators") || coordinator["coordinators"].empty()) return etcd;
  std::string line = "coordinators:";
  const char* sep = " ";
  // Each partition holds `shards` of them, numbered on from the one before.
  const auto each = coordinator.value("shards", std::uint64_t{0});
  auto range = [&](std::uint64_t p) {
    if (each == 0) return std::string("the shards");
    if (each == 1) return "shard " + std::to_string(p * each);
    return "shards " + std::to_string(p * each) + "-" + std::to_string(p * each + each - 1);
  };
  for (auto& c : coordinator["coordinators"]) {
    std::string holds = c.contains("partition") && c["partition"].is_number_unsigned()
                            ? " (holds partition " + c["partition"].dump() + ": " + range(c["partition"].get<std::uint64_t>()) + ")"
                            : " (holds " + range(0) + ")";
    line += sep + c.value("identity", std::string("?")) + (c.value("holds_shards", false) ? holds : " (standing by)");
    sep = ", ";
  }
  return line + "\n" + etcd;
}

bool parse_session_id(const std::string& text, std::uint64_t& id) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec == std::errc{} && p == text.data() + text.size()) return true;
  fail("invalid session id '" + text + "'");
  return false;
}

void print_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  std::cout << (j.is_discarded() ? text : j.dump(2)) << "\n";
}

void add_app_commands(command_table& t) {
  t.add({"help", "help [COMMAND]", "list every command, or detail one",
         "Without a command: every command with one line each. With one: its usage and details.\n"
         "`COMMAND --help` does the same.",
         "app", completes::nothing, run_help});
  t.add({"deploy", deploy_synopsis, "deploy (or redeploy) an app from its manifest",
         "Uploads the manifest and the function library it names; a second deploy of the same app\n"
         "makes a new version. Reports \"deployed NAME vN\" on stderr.\n"
         "  --json   {\"deployed\":\"NAME vN\"} on stdout",
         "app", completes::files, run_deploy});
  t.add({"invoke", invoke_synopsis, "run an app's entry function; prints its output",
         "Starts a session of APP with ARGS as the entry function's arguments and prints the app's\n"
         "output on stdout (nothing else). Through a coordinator it runs on the node the coordinator\n"
         "names, which answers directly (README \"Direct invokes\"); --async ones stay with the coordinator.\n"
         "  --timeout MS  give up (and cancel the session) after MS milliseconds (default 60000)\n"
         "  --async       print only the session id; fetch the output with `result`\n"
         "  --json        {\"session\":ID,\"output\":\"...\"}",
         "app", completes::apps, run_invoke});
  t.add({"result", result_synopsis, "wait for a session's output and print it",
         "Waits for the session started by `invoke --async` to end and prints its output.\n"
         "  --timeout MS  give up after MS milliseconds (default 60000)",
         "app", completes::sessions, run_result});
  t.add({"status", "status", "executors, apps, sessions, recent failures, store",
         "A node's status (or, against a coordinator, the cluster's): executors, apps, session\n"
         "counts, invocations, store use, recent sessions and failures.\n"
         "  --json   the server's JSON",
         "app", completes::nothing, run_status});
  t.add({"apps", "apps", "list deployed apps and their versions", "One \"NAME vN\" per line.", "app",
         completes::nothing, run_apps});
  t.add({"undeploy", "undeploy APP", "remove an app (sessions in flight finish)", "", "app", completes::apps,
         run_undeploy});
}

}  // namespace trail::cli
