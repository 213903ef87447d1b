// The `trail` and `trail-node` binaries as a user runs them.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../support/busy_port.hpp"
#include "../support/temp_dir.hpp"
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

// Given several addresses, a server that takes the connection and never
// answers costs the client its timeout, and the next address gets its own.
TEST_F(node_test, AServerThatNeverAnswersLeavesTheNextAddressItsTime) {
  busy_port silent;  // the kernel accepts for it; nothing ever answers
  auto c = client::connect(silent.address() + "," + address_, 1s);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  auto apps = c->apps();
  EXPECT_TRUE(apps.ok()) << apps.error().to_string();
}

TEST(Cli, EveryBinaryHasHelp) {
  for (const char* bin : {TRAIL_CLI_PATH, TRAIL_NODE_PATH, TRAIL_EXECUTOR_PATH, TRAIL_COORDINATOR_PATH}) {
    auto r = run_program(bin, {"--help"});
    EXPECT_EQ(r.code, 0) << bin;
    EXPECT_NE(r.out.find("--"), std::string::npos) << bin << ": " << r.out;
  }
}

// Every command `trail` knows, as `help` must list them.
const std::vector<std::string> all_commands = {"help", "deploy", "invoke", "result", "status", "apps", "undeploy",
                                               "nodes", "sessions", "session", "trace", "cancel", "drain", "logs",
                                               "fault", "top"};

// The lines of `text` that start with "  NAME " (a command's line in a listing).
int listing_lines(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);)
    n += line.rfind("  " + name + " ", 0) == 0;
  return n;
}

TEST(Cli, HelpListsEveryCommandWithOneLineEach) {
  auto flag = run_program(TRAIL_CLI_PATH, {"--help"});
  auto word = run_program(TRAIL_CLI_PATH, {"help"});
  ASSERT_EQ(flag.code, 0) << flag.err;
  ASSERT_EQ(word.code, 0) << word.err;
  EXPECT_NE(flag.out.find("--connect"), std::string::npos) << flag.out;
  for (auto& c : all_commands) {
    EXPECT_EQ(listing_lines(flag.out, c), 1) << c << " in:\n" << flag.out;
    EXPECT_EQ(listing_lines(word.out, c), 1) << c << " in:\n" << word.out;
  }
}

TEST(Cli, HelpDetailsOneCommandEitherWay) {
  auto word = run_program(TRAIL_CLI_PATH, {"help", "trace"});
  auto flag = run_program(TRAIL_CLI_PATH, {"trace", "--help"});
  ASSERT_EQ(word.code, 0) << word.err;
  ASSERT_EQ(flag.code, 0) << flag.err;
  EXPECT_EQ(word.out, flag.out);
  EXPECT_EQ(word.out.rfind("usage: trace ID [--chrome FILE]", 0), 0u) << word.out;
  EXPECT_NE(word.out.find("Perfetto"), std::string::npos) << word.out;
  EXPECT_EQ(listing_lines(word.out, "nodes"), 0) << "one command only:\n" << word.out;
}

TEST(Cli, UnknownCommandsSuggestTheNearest) {
  auto r = run_program(TRAIL_CLI_PATH, {"stauts"});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "trail: unknown command 'stauts' \u2014 did you mean 'status'?\n");
  auto far = run_program(TRAIL_CLI_PATH, {"xyzzyplugh"});
  EXPECT_NE(far.code, 0);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
  auto help = run_program(TRAIL_CLI_PATH, {"help", "sesions"});
  EXPECT_NE(help.code, 0);
  EXPECT_NE(help.err.find("did you mean 'session"), std::string::npos) << help.err;
}

TEST(Cli, HelpTakesJsonToo) {
  auto r = run_program(TRAIL_CLI_PATH, {"help", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::vector<std::string> names;
  for (auto& c : j["commands"]) names.push_back(c["name"]);
  for (auto& c : all_commands) EXPECT_NE(std::find(names.begin(), names.end(), c), names.end()) << c;
}

TEST(Cli, BadArgumentsSayWhatIsWrongAndTheUsage) {
  auto r = run_program(TRAIL_CLI_PATH, {"sessions", "--state", "sleepy"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("sleepy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: sessions"), std::string::npos) << r.err;
}

TEST_F(node_test, AppCommandsTakeJson) {
  auto d = cli({"deploy", example("chain"), "--json"});
  ASSERT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(nlohmann::json::parse(d.out)["deployed"], "chain v1");
  auto i = cli({"invoke", "chain", "a", "b", "--json"});
  ASSERT_EQ(i.code, 0) << i.err;
  auto ij = nlohmann::json::parse(i.out);
  EXPECT_EQ(ij["output"], "<A B>");
  EXPECT_GT(ij["session"].get<std::uint64_t>(), 0u);
  auto a = cli({"apps", "--json"});
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(nlohmann::json::parse(a.out)["apps"], nlohmann::json::parse(R"([{"name":"chain","version":1}])"));
  auto st = cli({"status", "--json"});
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_TRUE(nlohmann::json::parse(st.out).contains("executors")) << st.out;
  auto async = cli({"invoke", "chain", "later", "--async", "--json"});
  ASSERT_EQ(async.code, 0) << async.err;
  std::string id = std::to_string(nlohmann::json::parse(async.out)["session"].get<std::uint64_t>());
  auto res = cli({"result", id, "--json"});
  ASSERT_EQ(res.code, 0) << res.err;
  EXPECT_EQ(nlohmann::json::parse(res.out)["output"], "<LATER>");
  auto u = cli({"undeploy", "chain", "--json"});
  ASSERT_EQ(u.code, 0) << u.err;
  EXPECT_EQ(nlohmann::json::parse(u.out)["undeployed"], "chain");
}

TEST_F(node_test, ErrorsUnderJsonAreJsonOnStdoutToo) {
  auto missing = cli({"invoke", "missing-app", "--json"});
  EXPECT_NE(missing.code, 0);
  auto mj = nlohmann::json::parse(missing.out);
  EXPECT_EQ(mj["error"]["code"], "not found") << missing.out;
  EXPECT_NE(mj["error"]["message"].get<std::string>().find("no app \"missing-app\""), std::string::npos) << missing.out;
  EXPECT_NE(missing.err.find("no app"), std::string::npos) << "people still read stderr: " << missing.err;
  auto usage = cli({"sessions", "--state", "sideways", "--json"});
  EXPECT_NE(usage.code, 0);
  auto uj = nlohmann::json::parse(usage.out);
  EXPECT_EQ(uj["error"]["code"], "invalid argument") << usage.out;
  EXPECT_NE(uj["error"]["usage"].get<std::string>().find("sessions"), std::string::npos) << usage.out;
  auto unknown = cli({"stauts", "--json"});
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(nlohmann::json::parse(unknown.out)["error"]["message"].get<std::string>().find("did you mean 'status'"),
            std::string::npos)
      << unknown.out;
  auto plain = cli({"invoke", "missing-app"});
  EXPECT_EQ(plain.out, "") << "without --json, stdout stays empty";
}

TEST_F(node_test, ScriptLinesMayEndWithComments) {
  auto path = std::filesystem::temp_directory_path() / ("trail-script-comments-" + std::to_string(::getpid()));
  std::ofstream(path) << "deploy " << example("chain") << "   # the chain\ninvoke chain \"two words\" # quoted\n";
  auto r = run_program(TRAIL_CLI_PATH, {"--connect", address_, "--script", path.string()});
  std::filesystem::remove(path);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "<TWO WORDS>\n");
}

TEST_F(node_test, AnUnterminatedQuoteIsAClearError) {
  auto r = cli({}, "invoke chain \"oops\nstatus\n");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("cannot parse: unterminated double quote"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("executors: "), std::string::npos) << "piped lines go on after a failure: " << r.out;
}

TEST(Cli, NodeWithoutAModeExplainsAndFails) {
  auto r = run_program(TRAIL_NODE_PATH, {});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--standalone"), std::string::npos) << r.err;
  auto bad = run_program(TRAIL_NODE_PATH, {"--standalone", "--store-size", "lots"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("'lots'"), std::string::npos) << bad.err;
}

// A port someone else listens on: the binary says so once, naming the
// address and the reason, and exits non-zero.
TEST(Cli, APortInUseIsSaidOnceWithTheAddressAndWhy) {
  busy_port taken;
  const std::string& address = taken.address();
  auto count = [](const std::string& text, const std::string& what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  for (auto* bin : {TRAIL_NODE_PATH, TRAIL_COORDINATOR_PATH}) {
    std::vector<std::string> args = {"--listen", address};
    if (std::string(bin) == TRAIL_NODE_PATH) args.insert(args.begin(), "--standalone");
    auto r = run_program(bin, args);
    EXPECT_NE(r.code, 0) << bin;
    EXPECT_EQ(count(r.err, "cannot listen on " + address), 1) << bin << ": " << r.err;
    EXPECT_NE(r.err.find("in use"), std::string::npos) << bin << ": " << r.err;
  }
}

// What `bin args...` prints up to its "listening on" line; then it is stopped
// with SIGTERM and must exit 0 (so a node leaves no segment behind).
std::string startup_of(const std::string& bin, const std::vector<std::string>& args) {
  auto p = shm::child_process::launch({bin, args, {}});
  if (!p.ok()) return "cannot launch: " + p.error().to_string();
  const std::string line = std::filesystem::path(bin).filename().string() + ": listening on ";
  std::string seen = read_through_line(p->output_fd(), line, 20s);
  std::string rest;
  EXPECT_EQ(terminate_and_reap(*p, rest), "exited with status 0") << bin << " said: " << seen << rest;
  return seen;
}

// A node or coordinator that anyone on the network may reach, and that asks
// for no secret, says so as it starts; on loopback, or with a secret, not.
TEST(Cli, ListeningBeyondLoopbackWithoutASecretIsWarnedOf) {
  temp_dir dir;
  const std::string secret = (dir.path() / "secret").string();
  const std::string warning = "is reachable from the network: anyone who can reach it can deploy code";
  std::vector<std::string> node{"--standalone", "--executors", "1", "--store-size", "8M", "--listen"};
  auto with = [](std::vector<std::string> args, std::initializer_list<std::string> more) {
    args.insert(args.end(), more);
    return args;
  };
  auto open = startup_of(TRAIL_NODE_PATH, with(node, {"0.0.0.0:0"}));
  EXPECT_NE(open.find("trail-node: warning: no secret, and 0.0.0.0 " + warning), std::string::npos) << open;
  auto local = startup_of(TRAIL_NODE_PATH, with(node, {"127.0.0.1:0"}));
  EXPECT_NE(local.find("listening on"), std::string::npos) << local;
  EXPECT_EQ(local.find("warning"), std::string::npos) << local;
  auto guarded = startup_of(TRAIL_NODE_PATH, with(node, {"0.0.0.0:0", "--secret-file", secret}));
  EXPECT_NE(guarded.find("listening on"), std::string::npos) << guarded;
  EXPECT_EQ(guarded.find("warning"), std::string::npos) << guarded;

  auto coordinator = startup_of(TRAIL_COORDINATOR_PATH, {"--listen", "0.0.0.0:0"});
  EXPECT_NE(coordinator.find("trail-coordinator: warning: no secret, and 0.0.0.0 " + warning), std::string::npos)
      << coordinator;
  auto coordinator_guarded = startup_of(TRAIL_COORDINATOR_PATH, {"--listen", "0.0.0.0:0", "--secret-file", secret});
  EXPECT_NE(coordinator_guarded.find("listening on"), std::string::npos) << coordinator_guarded;
  EXPECT_EQ(coordinator_guarded.find("warning"), std::string::npos) << coordinator_guarded;
}

// --advertise names a host (its port is --listen's) that others can reach;
// a coordinator on every interface with etcd but without it is warned that
// nodes and clients cannot learn of it.
TEST(Cli, ACoordinatorOnEveryInterfaceIsToldToAdvertiseAHost) {
  for (std::string bad : {"10.0.0.1:7400", "0.0.0.0", "[::]", "fd00::1"}) {
    auto r = run_program(TRAIL_COORDINATOR_PATH, {"--advertise", bad});
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_NE(r.err.find("--advertise: '" + bad + "' is not a host others can reach"), std::string::npos) << r.err;
  }
  const std::string warning = "which no other machine can reach: give --advertise HOST";
  // (No etcd there: it says so after the warning, and exits.)
  auto unlisted = run_program(TRAIL_COORDINATOR_PATH, {"--listen", "0.0.0.0:0", "--etcd", "127.0.0.1:1"});
  EXPECT_NE(unlisted.code, 0);
  EXPECT_NE(unlisted.err.find(warning), std::string::npos) << unlisted.err;
  EXPECT_NE(unlisted.err.find("etcd is unavailable (127.0.0.1:1: cannot connect)"), std::string::npos) << unlisted.err;
  auto advertised =
      run_program(TRAIL_COORDINATOR_PATH, {"--listen", "0.0.0.0:0", "--etcd", "127.0.0.1:1", "--advertise", "127.0.0.1"});
  EXPECT_NE(advertised.code, 0);
  EXPECT_EQ(advertised.err.find(warning), std::string::npos) << advertised.err;
}

// --etcd-prefix: a cluster's namespace in a shared etcd, of a safe alphabet,
// and only with --etcd.
TEST(Cli, AnEtcdPrefixNeedsEtcdAndASafeAlphabet) {
  auto alone = run_program(TRAIL_COORDINATOR_PATH, {"--etcd-prefix", "clusters/prod"});
  EXPECT_EQ(alone.code, 2);
  EXPECT_NE(alone.err.find("--etcd-prefix needs --etcd"), std::string::npos) << alone.err;
  for (std::string bad : {"../x", "/abs", "a//b", "sp ace"}) {
    auto r = run_program(TRAIL_COORDINATOR_PATH, {"--etcd", "127.0.0.1:1", "--etcd-prefix", bad});
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_NE(r.err.find("--etcd-prefix: etcd prefix '"), std::string::npos) << bad << ": " << r.err;
  }
}

TEST(Cli, PartitionsNeedEtcdAndAreAtMostSixteen) {
  auto alone = run_program(TRAIL_COORDINATOR_PATH, {"--partitions", "2"});
  EXPECT_EQ(alone.code, 2);
  EXPECT_NE(alone.err.find("--partitions needs --etcd"), std::string::npos) << alone.err;
  for (std::string bad : {"0", "17", "x"}) {
    auto r = run_program(TRAIL_COORDINATOR_PATH, {"--etcd", "127.0.0.1:1", "--partitions", bad});
    EXPECT_NE(r.code, 0) << bad;
    EXPECT_NE(r.err.find("--partitions"), std::string::npos) << bad << ": " << r.err;
  }
}

// A fault naming a process the cluster does not have stops the scenario
// where it is scheduled: injected later it would fail, and a check without
// it could pass.
TEST(Cli, AFaultNamingAnUnknownProcessStopsTheScenario) {
  temp_dir dir;
  auto path = dir.path() / "typo.scenario";
  std::ofstream(path) << "cluster up --nodes 1 --executors 1\nafter 1s kill n9\ncheck\n";
  auto r = run_program(TRAIL_CLI_PATH, {"--script", path.string()});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("no process named 'n9' in this cluster (coordinator n1)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped at: after 1s kill n9"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("check: PASSED"), std::string::npos) << r.out;
  std::ofstream(path) << "cluster up --nodes 1 --executors 1\nafter 1s kill executor coordinator\n";
  r = run_program(TRAIL_CLI_PATH, {"--script", path.string()});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("no node named 'coordinator' in this cluster (n1)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace trail::testing
