#include "commands.hpp"

#include <charconv>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace trail::cli {
namespace {

int fail(const std::string& what) {
  std::cerr << "trail: " << what << "\n";
  return 1;
}
int fail(const status& s) { return fail(s.to_string()); }

// A coordinator's status: its nodes, then each shard's apps and sessions.
void print_cluster_status(const nlohmann::json& j) {
  std::cout << "coordinator: " << j["coordinator"]["shards"] << " shards, " << j["nodes"].size() << " live nodes\n";
  for (auto& n : j["nodes"]) {
    std::cout << "  node " << n["name"].get<std::string>() << " (#" << n["number"] << ", " << n["address"].get<std::string>()
              << "): " << n.value("free_executors", 0) << " of " << n.value("executors", 0) << " executors free\n";
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

void print_status(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded()) {
    std::cout << json << "\n";
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

}  // namespace

client* session::connect() {
  if (client_) return &*client_;
  auto c = client::connect(opts_.address);
  if (!c) {
    fail(c.error());
    return nullptr;
  }
  client_ = std::move(*c);
  return &*client_;
}

int session::run_line(const std::string& line) {
  // CLI11 splits a command line the way a shell would (quotes group words).
  CLI::App splitter;
  splitter.allow_extras();
  try {
    splitter.parse(line, false);
  } catch (const CLI::ParseError& e) {
    return fail(std::string("cannot parse: ") + e.what());
  }
  return run(splitter.remaining());
}

int session::run(std::vector<std::string> words) {
  CLI::App app{"trail commands"};
  app.require_subcommand(1);
  app.name("trail");
  std::string manifest, app_name, session_text;
  std::vector<std::string> args;
  std::uint64_t timeout_ms = 60000;
  bool async = false;

  auto* deploy = app.add_subcommand("deploy", "deploy (or redeploy) an app from its manifest");
  deploy->add_option("manifest", manifest, "the app's YAML manifest")->required();
  auto* invoke = app.add_subcommand("invoke", "run an app's entry function; prints its output");
  invoke->add_option("app", app_name, "app name")->required();
  invoke->add_option("args", args, "arguments for the entry function");
  invoke->add_option("--timeout", timeout_ms, "give up (and cancel the session) after MS milliseconds")
      ->capture_default_str();
  invoke->add_flag("--async", async, "print only the session id; fetch the output with `trail result`");
  auto* res = app.add_subcommand("result", "wait for a session's output and print it");
  res->add_option("session", session_text, "session id from `invoke --async`")->required();
  res->add_option("--timeout", timeout_ms, "give up after MS milliseconds")->capture_default_str();
  auto* stat = app.add_subcommand("status", "executors, apps, sessions, recent failures, store");
  bool json = false;
  stat->add_flag("--json", json, "print the raw JSON");
  auto* apps = app.add_subcommand("apps", "list deployed apps and their versions");
  auto* undeploy = app.add_subcommand("undeploy", "remove an app (sessions in flight finish)");
  undeploy->add_option("app", app_name, "app name")->required();
  app.add_subcommand("help", "list commands");

  std::reverse(words.begin(), words.end());  // CLI11 takes arguments last-first
  try {
    app.parse(words);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, std::cerr, std::cerr) == 0 ? 0 : 2;
  }
  if (app.got_subcommand("help")) {
    std::cerr << app.help();
    return 0;
  }
  client* c = connect();
  if (!c) return 1;
  auto timeout = std::chrono::milliseconds(timeout_ms);

  if (*deploy) {
    auto r = c->deploy(manifest);
    if (!r) return fail(r.error());
    std::cerr << "deployed " << *r << "\n";
  } else if (*invoke) {
    auto r = c->invoke(app_name, args, timeout, async);
    if (!r) return fail(r.error());
    if (async) std::cout << r->session << "\n";
    else std::cout << r->output << "\n";
  } else if (*res) {
    std::uint64_t s = 0;
    auto [p, ec] = std::from_chars(session_text.data(), session_text.data() + session_text.size(), s);
    if (ec != std::errc{} || p != session_text.data() + session_text.size())
      return fail("invalid session id '" + session_text + "'");
    auto r = c->result_of(s, timeout);
    if (!r) return fail(r.error());
    std::cout << r->output << "\n";
  } else if (*stat) {
    auto r = c->status_json();
    if (!r) return fail(r.error());
    if (json) std::cout << *r << "\n";
    else print_status(*r);
  } else if (*apps) {
    auto r = c->apps();
    if (!r) return fail(r.error());
    for (auto& a : *r) std::cout << a << "\n";
  } else if (*undeploy) {
    auto r = c->undeploy(app_name);
    if (!r) return fail(r.error());
    std::cerr << *r << "\n";
  }
  std::cout.flush();
  return 0;
}

}  // namespace trail::cli
