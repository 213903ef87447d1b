// The operator's commands of `trail` against a standalone node, driving the
// real binaries: human tables, --json, traces for Perfetto, live views.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "node_fixture.hpp"
#include "shell_pty.hpp"

namespace trail::testing {
namespace {

using json = nlohmann::json;

const std::string apps_dir = TRAIL_TEST_APPS_DIR;

class shell_admin_test : public node_test {
 protected:
  json cli_json(std::vector<std::string> args) {
    args.push_back("--json");
    auto r = cli(args);
    EXPECT_EQ(r.code, 0) << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out;
    return j;
  }

  // Invokes `app` and returns the session id.
  std::string invoke(const std::string& app, std::vector<std::string> args) {
    args.insert(args.begin(), {"invoke", app});
    auto j = cli_json(args);
    return std::to_string(j.value("session", std::uint64_t{0}));
  }

  std::string node_name() { return cli_json({"nodes"})["nodes"][0]["name"].get<std::string>(); }

  // True if a line of `table` starts with `start` once its leading spaces
  // (of right-aligned numbers) are left out.
  static bool has_row(const std::string& table, const std::string& start) {
    std::istringstream in(table);
    for (std::string line; std::getline(in, line);)
      if (line.compare(line.find_first_not_of(' '), start.size(), start) == 0) return true;
    return false;
  }

  // Deploys "echo": testlib's echo, which prints a line (a log line) and outputs its arguments.
  void deploy_echo() {
    auto manifest = temp_file("echo.yaml");
    std::ofstream(manifest) << "app: echo\nlibrary: " << TRAIL_TESTLIB_PATH
                            << "\nentry: echo\nfunctions:\n  - { name: echo }\n";
    auto r = cli({"deploy", manifest.string()});
    std::filesystem::remove(manifest);
    ASSERT_EQ(r.code, 0) << r.err;
  }

  std::filesystem::path temp_file(const std::string& what) {
    return std::filesystem::temp_directory_path() / ("trail-admin-" + std::to_string(::getpid()) + "-" + what);
  }
};

TEST_F(shell_admin_test, NodesShowsTheNodeAsATableAndAsJson) {
  auto j = cli_json({"nodes"});
  ASSERT_EQ(j["nodes"].size(), 1u) << j;
  auto& n = j["nodes"][0];
  EXPECT_EQ(n["state"], "live");
  EXPECT_EQ(n["executors"]["total"], 2);
  auto r = cli({"nodes"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("NODE ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\n" + n["name"].get<std::string>() + " "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" live "), std::string::npos) << r.out;
}

TEST_F(shell_admin_test, SessionsListsAndFilters) {
  deploy("chain");
  std::string a = invoke("chain", {"one"}), b = invoke("chain", {"two"});
  auto all = cli_json({"sessions"});
  std::vector<std::string> ids;
  for (auto& s : all["sessions"]) {
    ids.push_back(s["id"].dump());
    EXPECT_EQ(s["app"], "chain");
    EXPECT_EQ(s["state"], "ok");
  }
  EXPECT_EQ(ids, (std::vector<std::string>{b, a})) << "newest first: " << all;
  EXPECT_TRUE(cli_json({"sessions", "--app", "nope"})["sessions"].empty());
  EXPECT_EQ(cli_json({"sessions", "--state", "ok", "--limit", "1"})["sessions"].size(), 1u);
  auto table = cli({"sessions"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("SESSION ", 0), 0u) << table.out;
  EXPECT_TRUE(has_row(table.out, b + "  chain  ok")) << table.out;
  auto none = cli({"sessions", "--state", "failed"});
  EXPECT_EQ(none.out, "no sessions\n");
}

TEST_F(shell_admin_test, SessionShowsEveryAttemptAndWhereItRan) {
  deploy("chain");
  std::string id = invoke("chain", {"x"});
  auto j = cli_json({"session", id});
  EXPECT_EQ(j["state"], "ok");
  std::vector<std::string> functions;
  for (auto& a : j["attempts"]) functions.push_back(a["function"]);
  EXPECT_EQ(functions, (std::vector<std::string>{"first", "second", "third"})) << j;
  auto r = cli({"session", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("session " + id + ": app chain, ok", 0), 0u) << r.out;
  for (auto& f : functions) EXPECT_NE(r.out.find("\n" + f + " "), std::string::npos) << r.out;
  auto missing = cli({"session", "987654321"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
}

// Chrome trace-event JSON of a 3-function chain: three complete events in
// order, on a process named after the node.
TEST_F(shell_admin_test, TraceChromeWritesTheChainInOrder) {
  deploy("chain");
  std::string id = invoke("chain", {"traced"});
  auto file = temp_file("trace.json");
  auto r = cli({"trace", id, "--chrome", file.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"first", "second", "third"}) EXPECT_NE(r.out.find(f), std::string::npos) << r.out;
  std::ifstream in(file);
  auto chrome = json::parse(in, nullptr, false);
  std::filesystem::remove(file);
  ASSERT_FALSE(chrome.is_discarded());
  std::vector<json> slices;
  std::map<int, std::string> process_names;
  for (auto& e : chrome["traceEvents"]) {
    if (e["ph"] == "X") slices.push_back(e);
    if (e["ph"] == "M" && e["name"] == "process_name") process_names[e["pid"]] = e["args"]["name"];
  }
  ASSERT_EQ(slices.size(), 3u) << chrome.dump(2);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    auto& s = slices[i];
    names.push_back(s["name"]);
    EXPECT_TRUE(s["ts"].is_number() && s["dur"].is_number() && s["tid"].is_number()) << s;
    EXPECT_GE(s["dur"].get<double>(), 0);
    if (i > 0) {  // (a function's output fires the next one before the function returns)
      EXPECT_GT(s["ts"].get<double>(), slices[i - 1]["ts"].get<double>())
          << "each function starts after the one before:\n" << chrome.dump(2);
    }
    EXPECT_EQ(process_names[s["pid"]], "node " + node_name()) << chrome.dump(2);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_EQ(slices[0]["args"]["outputs"].size(), 1u) << "first writes one object: " << slices[0];
}

TEST_F(shell_admin_test, CancelEndsARunningSession) {
  ASSERT_TRUE(client_->deploy(apps_dir + "/flaky/slow.yaml").ok());
  std::string id = cli({"invoke", "slow", "--async"}).out;
  id = id.substr(0, id.find('\n'));
  auto c = cli({"cancel", id});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(c.out, "cancelled session " + id + "\n");
  auto r = cli({"result", id, "--timeout", "20000"});
  EXPECT_NE(r.code, 0) << "a cancelled session has no output: " << r.out;
  auto s = cli_json({"session", id});
  EXPECT_EQ(s["state"], "failed") << s;
}

TEST_F(shell_admin_test, ALiveSessionShowsWhatItsTriggersWaitFor) {
  ASSERT_TRUE(client_->deploy(apps_dir + "/flaky/long_window.yaml").ok());
  std::string id = cli_json({"invoke", "long_window", "--async"})["session"].dump();
  json s;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  do {  // the window opens once put_event has run
    s = cli_json({"session", id});
  } while (s["waiting"].empty() && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(s["state"], "running") << s;
  ASSERT_FALSE(s["waiting"].empty()) << s;
  auto r = cli({"session", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\nwaiting:\nBUCKET"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("slow-window"), std::string::npos) << r.out;
  auto running = cli_json({"sessions", "--state", "running"});
  ASSERT_EQ(running["sessions"].size(), 1u) << running;
  ASSERT_EQ(cli({"cancel", id}).code, 0);
}

TEST_F(shell_admin_test, FaultPassesItsWordsToTheNode) {
  auto armed = cli_json({"fault", "local", "delay", "*", "30ms"});
  ASSERT_EQ(armed["rules"].size(), 1u) << armed;
  auto r = cli({"fault", "local", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"delay_ms\": 30"), std::string::npos) << "pretty JSON: " << r.out;
  EXPECT_TRUE(cli_json({"fault", "local", "heal"})["rules"].empty());
  auto bad = cli({"fault", "local", "explode"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("invalid argument"), std::string::npos) << bad.err;
  EXPECT_EQ(cli({"fault"}).code, 2);
}

TEST_F(shell_admin_test, DrainStopsNewWorkUntilOff) {
  std::string name = node_name();
  auto on = cli({"drain", name});
  ASSERT_EQ(on.code, 0) << on.err;
  EXPECT_NE(on.out.find("is draining"), std::string::npos) << on.out;
  EXPECT_EQ(cli_json({"nodes"})["nodes"][0]["state"], "draining");
  auto off = cli_json({"drain", name, "--off"});
  EXPECT_EQ(off["draining"], false) << off;
  EXPECT_EQ(cli_json({"nodes"})["nodes"][0]["state"], "live");
  auto unknown = cli({"drain", "no-such-node"});
  EXPECT_NE(unknown.code, 0);
}

TEST_F(shell_admin_test, LogsShowTheNodesLines) {
  deploy_echo();
  ASSERT_EQ(cli({"invoke", "echo", "logged"}).out, "logged;\n");
  auto j = cli_json({"logs"});
  ASSERT_TRUE(j["lines"].is_array()) << j;
  ASSERT_FALSE(j["lines"].empty()) << j;
  std::uint64_t next = j["next"];
  auto later = cli_json({"logs", "--since", std::to_string(next)});
  for (auto& l : later["lines"]) EXPECT_GT(l["seq"].get<std::uint64_t>(), next) << later;
  auto r = cli({"logs", node_name()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(j["lines"][0]["text"].get<std::string>()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("echo says logged;"), std::string::npos) << r.out;
}

// `logs --follow` prints lines as they come until Ctrl-C, then exits 0.
TEST_F(shell_admin_test, LogsFollowUntilCtrlC) {
  deploy_echo();
  ASSERT_EQ(cli({"invoke", "echo", "before"}).code, 0);
  pty_process follow(TRAIL_CLI_PATH, {"--connect", address_, "logs", "--follow"});
  ASSERT_TRUE(follow.read_until("echo says before;")) << follow.output();
  ASSERT_EQ(cli({"invoke", "echo", "after"}).code, 0);
  ASSERT_TRUE(follow.read_until("echo says after;")) << "followed:\n" << follow.output();
  follow.write("\x03");
  EXPECT_EQ(follow.wait(), 0) << follow.output();
}

// Following a node the server does not know is an error at once, and never
// said it follows (it used to say so before it asked).
TEST_F(shell_admin_test, LogsFollowOfAnUnknownNodeFailsWithoutFollowing) {
  auto r = cli({"logs", "nosuchnode", "--follow"});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.err.find("following"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nosuchnode"), std::string::npos) << r.err;
}

TEST_F(shell_admin_test, TopOnceAndCountForScripts) {
  deploy("chain");
  ASSERT_EQ(cli({"invoke", "chain", "hop"}).code, 0);
  auto once = cli({"top", "--once"});
  ASSERT_EQ(once.code, 0) << once.err;
  EXPECT_EQ(once.out.find("\x1b["), std::string::npos) << "no ANSI codes off a terminal";
  EXPECT_NE(once.out.find("INV/S"), std::string::npos) << once.out;
  EXPECT_NE(once.out.find(node_name()), std::string::npos) << once.out;
  auto frames = cli({"top", "--count", "2", "--interval", "50", "--json"});
  ASSERT_EQ(frames.code, 0) << frames.err;
  std::istringstream lines(frames.out);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    auto f = json::parse(line);
    EXPECT_EQ(f["nodes"].size(), 1u);
    EXPECT_EQ(f["nodes"][0]["invocations_per_s"].is_number(), n > 0) << line;
    if (n == 0) {
      EXPECT_TRUE(f["nodes"][0]["hop_p50_us"].is_number()) << "the chain's hops: " << line;
    }
  }
  EXPECT_EQ(n, 2) << frames.out;
}

}  // namespace
}  // namespace trail::testing
