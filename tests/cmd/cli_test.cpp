// The `trail` and `trail-node` binaries as a user runs them.
#include <fstream>

#include "node_fixture.hpp"

namespace trail::testing {
namespace {

TEST_F(node_test, InvokePrintsOnlyTheOutputOnStdout) {
  auto d = cli({"deploy", example("chain")});
  ASSERT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(d.out, "") << "deploy reports on stderr";
  auto r = cli({"invoke", "chain", "hello", "world"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "<HELLO WORLD>\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(node_test, AsyncPrintsTheSessionAndResultFetchesTheOutput) {
  ASSERT_EQ(cli({"deploy", example("chain")}).code, 0);
  auto a = cli({"invoke", "chain", "later", "--async"});
  ASSERT_EQ(a.code, 0) << a.err;
  std::string session = a.out.substr(0, a.out.find('\n'));
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(session.find_first_not_of("0123456789"), std::string::npos) << a.out;
  auto r = cli({"result", session});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "<LATER>\n");
}

TEST_F(node_test, FailuresExitNonZeroWithAClearMessage) {
  auto r = cli({"invoke", "missing-app"});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("no app \"missing-app\""), std::string::npos) << r.err;
  auto bad = cli({"frobnicate"});
  EXPECT_NE(bad.code, 0);
}

TEST_F(node_test, StatusAndAppsDescribeTheNode) {
  ASSERT_EQ(cli({"deploy", example("chain")}).code, 0);
  auto apps = cli({"apps"});
  EXPECT_EQ(apps.out, "chain v1\n");
  auto st = cli({"status"});
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_NE(st.out.find("executors: 0 busy, 2 idle, 2 total"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("apps: chain v1"), std::string::npos) << st.out;
}

TEST_F(node_test, ScriptsStopAtTheFirstFailure) {
  auto path = std::filesystem::temp_directory_path() / ("trail-script-" + std::to_string(::getpid()));
  std::ofstream(path) << "# a comment\ndeploy " << example("chain") << "\ninvoke chain one\ninvoke nope\ninvoke chain two\n";
  auto r = run_program(TRAIL_CLI_PATH, {"--connect", address_, "--script", path.string()});
  std::filesystem::remove(path);
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.out, "<ONE>\n") << "stopped before `invoke chain two`";
  EXPECT_NE(r.err.find("stopped at: invoke nope"), std::string::npos) << r.err;
}

TEST_F(node_test, TheShellRunsCommandsFromItsInput) {
  ASSERT_EQ(cli({"deploy", example("chain")}).code, 0);
  auto r = cli({}, "apps\ninvoke chain shell\nquit\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("chain v1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<SHELL>"), std::string::npos) << r.out;
}

TEST(Cli, AnUnreachableNodeIsAnErrorNotAHang) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_program(TRAIL_CLI_PATH, {"--connect", "127.0.0.1:1", "status"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("cannot connect to 127.0.0.1:1"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
}

TEST(Cli, EveryBinaryHasHelp) {
  for (const char* bin : {TRAIL_CLI_PATH, TRAIL_NODE_PATH, TRAIL_EXECUTOR_PATH}) {
    auto r = run_program(bin, {"--help"});
    EXPECT_EQ(r.code, 0) << bin;
    EXPECT_NE(r.out.find("--"), std::string::npos) << bin << ": " << r.out;
  }
}

TEST(Cli, NodeWithoutAModeExplainsAndFails) {
  auto r = run_program(TRAIL_NODE_PATH, {});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--standalone"), std::string::npos) << r.err;
  auto bad = run_program(TRAIL_NODE_PATH, {"--standalone", "--store-size", "lots"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("'lots'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace trail::testing
