// The operator's commands of `trail` against a 3-node cluster (a real
// coordinator and nodes n1..n3): every node listed, a chain's trace across
// nodes, drain and top, and the interactive shell through a pseudo-terminal.
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "../cluster/cluster_fixture.hpp"
#include "../support/temp_dir.hpp"
#include "node_fixture.hpp"
#include "shell_pty.hpp"

namespace trail::testing {
namespace {

using json = nlohmann::json;

class cluster_shell_test : public cluster_test {
 protected:
  cli_result cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--connect", address_});
    auto r = run_program(TRAIL_CLI_PATH, args);
    drain_all();
    return r;
  }
  json cli_json(std::vector<std::string> args) {
    args.push_back("--json");
    auto r = cli(args);
    EXPECT_EQ(r.code, 0) << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out;
    return j;
  }
  void deploy_chain() {
    auto r = client_->deploy(example("chain"));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    wait_until_held("chain", 3);
  }
};

TEST_F(cluster_shell_test, NodesListsEveryNodeAndTheCoordinator) {
  auto j = cli_json({"nodes"});
  std::set<std::string> names;
  for (auto& n : j["nodes"]) names.insert(n["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"n1", "n2", "n3"})) << j;
  EXPECT_TRUE(j.contains("coordinator")) << j;
  auto r = cli({"nodes"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("coordinator: pid ", 0), 0u) << r.out;
  for (auto& n : names) EXPECT_NE(r.out.find("\n" + n + " "), std::string::npos) << r.out;
}

TEST_F(cluster_shell_test, ChainTraceShowsThreeFunctionsInOrderWithTheirNodes) {
  deploy_chain();
  auto inv = cli_json({"invoke", "chain", "across"});
  ASSERT_EQ(inv["output"], "<ACROSS>");
  std::string id = std::to_string(inv["session"].get<std::uint64_t>());
  auto sessions = cli_json({"sessions", "--app", "chain"});
  ASSERT_FALSE(sessions["sessions"].empty()) << sessions;
  EXPECT_EQ(sessions["sessions"][0]["id"].dump(), id);
  auto file = std::filesystem::temp_directory_path() / ("trail-cluster-trace-" + std::to_string(::getpid()) + ".json");
  auto r = cli({"trace", id, "--chrome", file.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(file);
  auto chrome = json::parse(in, nullptr, false);
  std::filesystem::remove(file);
  ASSERT_FALSE(chrome.is_discarded());
  std::map<int, std::string> process_names;
  for (auto& e : chrome["traceEvents"])
    if (e["ph"] == "M" && e["name"] == "process_name") process_names[e["pid"]] = e["args"]["name"];
  std::vector<std::string> names;
  double start = -1;
  for (auto& e : chrome["traceEvents"]) {
    if (e["ph"] != "X") continue;
    names.push_back(e["name"]);
    EXPECT_GT(e["ts"].get<double>(), start) << chrome.dump(2);
    start = e["ts"].get<double>();
    std::string node = process_names[e["pid"]];
    EXPECT_TRUE(node == "node n1" || node == "node n2" || node == "node n3") << node;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"first", "second", "third"})) << chrome.dump(2);
  auto s = cli({"session", id});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_NE(s.out.find("third"), std::string::npos) << s.out;
}

TEST_F(cluster_shell_test, DrainMarksANodeAndTopShowsEveryNode) {
  auto on = cli({"drain", "n2"});
  ASSERT_EQ(on.code, 0) << on.err;
  std::map<std::string, std::string> states;
  auto nodes = cli_json({"nodes"});
  for (auto& n : nodes["nodes"]) states[n["name"].get<std::string>()] = n["state"].get<std::string>();
  EXPECT_EQ(states["n2"], "draining");
  EXPECT_EQ(states["n1"], "live");
  ASSERT_EQ(cli({"drain", "n2", "--off"}).code, 0);
  auto top = cli({"top", "--once"});
  ASSERT_EQ(top.code, 0) << top.err;
  for (const char* n : {"n1", "n2", "n3"}) EXPECT_NE(top.out.find(std::string("\n") + n + " "), std::string::npos) << top.out;
  auto logs = cli_json({"logs", "n1"});
  EXPECT_EQ(logs["node"], "n1") << logs;
  auto own = cli({"logs", "coordinator"});
  ASSERT_EQ(own.code, 0) << own.err;
  EXPECT_NE(own.out.find("node n2 joined"), std::string::npos) << own.out;
}

// The interactive shell on a cluster: completion of the cluster's node names
// and session ids, `top` redrawn in place, `logs NODE --follow` until Ctrl-C,
// and `sessions --state` across every node.
TEST_F(cluster_shell_test, TheInteractiveShellCompletesFollowsAndTopsTheCluster) {
  deploy_chain();
  auto d = client_->deploy(std::string(TRAIL_TEST_APPS_DIR) + "/flaky/throwing.yaml");
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  wait_until_held("throwing", 3);
  auto failed = client_->invoke("throwing", {}, std::chrono::seconds(30));
  ASSERT_FALSE(failed.ok());
  auto done = client_->invoke("chain", {"listed"}, std::chrono::seconds(30));
  ASSERT_TRUE(done.ok()) << done.error().to_string();

  temp_dir home;
  pty_process sh(TRAIL_CLI_PATH, {"--connect", address_},
                 {{"TRAIL_HISTORY", (home.path() / "history").string()}, {"TERM", "xterm"}, {"HOME", home.path().string()}});
  ASSERT_TRUE(sh.read_until("trail> ")) << sh.output();
  sh.mark();
  sh.write("sessions --state fa\t");  // completes the state word
  ASSERT_TRUE(sh.read_until("iled ")) << sh.output();
  sh.write("\n");
  ASSERT_TRUE(sh.read_until("throwing")) << "the failed session is listed:\n" << sh.since_mark();
  ASSERT_TRUE(sh.read_until("trail> ")) << sh.output();
  EXPECT_EQ(sh.since_mark().find("chain"), std::string::npos) << "only failed sessions:\n" << sh.since_mark();

  sh.mark();
  sh.write("logs coord\t");  // the cluster's process names, asked of the coordinator
  ASSERT_TRUE(sh.read_until("inator ")) << sh.output();
  sh.write("\n");
  ASSERT_TRUE(sh.read_until("node n3 joined")) << "the coordinator's log:\n" << sh.since_mark();
  ASSERT_TRUE(sh.read_until("trail> ")) << sh.output();

  sh.mark();
  sh.write("top --interval 100\n");
  ASSERT_TRUE(sh.read_until("(q quits)")) << sh.output();
  for (const char* n : {"n1", "n2", "n3"}) EXPECT_NE(sh.since_mark().find(std::string("\n") + n + " "), std::string::npos) << sh.since_mark();
  sh.mark();
  ASSERT_TRUE(sh.read_until("(q quits)")) << "redrawn:\n" << sh.output();
  sh.write("q");
  ASSERT_TRUE(sh.read_until("trail> ")) << sh.output();

  sh.mark();
  sh.write("logs n2 --follow\n");
  ASSERT_TRUE(sh.read_until("following")) << sh.output();
  ASSERT_EQ(cli({"drain", "n2"}).code, 0);  // n2 logs that it drains
  ASSERT_TRUE(sh.read_until("draining: no new sessions")) << "followed:\n" << sh.since_mark();
  sh.write("\x03");  // Ctrl-C ends the view, not the shell
  ASSERT_TRUE(sh.read_until("trail> ")) << sh.output();
  ASSERT_EQ(cli({"drain", "n2", "--off"}).code, 0);
  sh.write("quit\n");
  EXPECT_EQ(sh.wait(), 0) << sh.output();
}

TEST_F(cluster_shell_test, CancelAndFaultReachTheirNodes) {
  auto d = client_->deploy(std::string(TRAIL_TEST_APPS_DIR) + "/flaky/long_window.yaml");
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  wait_until_held("long_window", 3);
  std::string id = cli_json({"invoke", "long_window", "--async"})["session"].dump();
  json s;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  do {  // the window opens once put_event has run
    s = cli_json({"session", id});
  } while (s.value("waiting", json::array()).empty() && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(s["state"], "running") << s;
  auto c = cli({"cancel", id});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(c.out, "cancelled session " + id + "\n");
  // How it ended crosses the node wire and the coordinator with its code.
  auto ended = cli({"result", id, "--timeout", "20000", "--json"});
  EXPECT_NE(ended.code, 0);
  EXPECT_EQ(json::parse(ended.out)["error"]["code"], "cancelled") << ended.out;

  auto armed = cli_json({"fault", "n2", "delay", "*", "1ms"});
  ASSERT_EQ(armed["rules"].size(), 1u) << armed;
  EXPECT_TRUE(cli_json({"fault", "n2", "heal"})["rules"].empty());
  EXPECT_NE(cli({"fault", "n9", "list"}).code, 0) << "no such node";
}

}  // namespace
}  // namespace trail::testing
