// The interactive admin shell on a pseudo-terminal: tab completion, history
// across runs, `top` and Ctrl-C in live views.
#include <fstream>

#include "node_fixture.hpp"
#include "shell_pty.hpp"

namespace trail::testing {
namespace {

class shell_test : public node_test {
 protected:
  void SetUp() override {
    node_test::SetUp();
    dir_ = std::filesystem::temp_directory_path() /
           ("trail-shell-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    node_test::TearDown();
  }

  std::unique_ptr<pty_process> shell() {
    auto p = std::make_unique<pty_process>(
        TRAIL_CLI_PATH, std::vector<std::string>{"--connect", address_},
        std::map<std::string, std::string>{{"TRAIL_HISTORY", (dir_ / "history").string()}, {"TERM", "xterm"},
                                           {"HOME", dir_.string()}});
    EXPECT_TRUE(p->read_until("trail> ")) << p->output();
    p->mark();
    return p;
  }

  std::filesystem::path dir_;
};

TEST_F(shell_test, TabCompletesACommandName) {
  auto sh = shell();
  sh->write("stat\t");
  ASSERT_TRUE(sh->read_until("us ")) << sh->output();  // editline may move the cursor to add it
  sh->write("\n");
  ASSERT_TRUE(sh->read_until("executors: ")) << "the completed command ran:\n" << sh->output();
  sh->mark();
  sh->write("help tr\t");  // help completes command names too
  ASSERT_TRUE(sh->read_until("ace ")) << sh->output();
  sh->write("\n");
  ASSERT_TRUE(sh->read_until("usage: trace ID")) << sh->output();
  sh->write("quit\n");
  EXPECT_EQ(sh->wait(), 0) << sh->output();
}

TEST_F(shell_test, TabCompletesAnAppName) {
  deploy("chain");
  auto sh = shell();
  sh->write("invoke ch\t");
  ASSERT_TRUE(sh->read_until("ain ")) << sh->output();
  sh->write("tabbed\n");
  ASSERT_TRUE(sh->read_until("<TABBED>")) << sh->output();
  sh->write("quit\n");
  EXPECT_EQ(sh->wait(), 0) << sh->output();
}

TEST_F(shell_test, TabCompletesNodeNamesAndSessionIds) {
  deploy("chain");
  auto r = client_->invoke("chain", {"completed"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto sh = shell();
  sh->write("session \t");  // the only session
  ASSERT_TRUE(sh->read_until(std::to_string(r->session) + " ")) << sh->output();
  sh->write("\n");
  ASSERT_TRUE(sh->read_until("session " + std::to_string(r->session) + ": app chain")) << sh->output();
  sh->mark();
  sh->write("drain lo\t");  // a standalone node is "local"
  ASSERT_TRUE(sh->read_until("cal ")) << sh->output();
  sh->write("--off\n");
  ASSERT_TRUE(sh->read_until("node local takes new work again")) << sh->output();
  sh->write("quit\n");
  EXPECT_EQ(sh->wait(), 0) << sh->output();
}

// Ctrl-C ends a live view (here `logs --follow`), not the shell.
// The node the shell talks to restarts on its address: the shell's next
// command connects again by itself, instead of failing on the old
// connection from then on.
TEST_F(shell_test, TheNextCommandReachesARestartedNode) {
  auto sh = shell();
  sh->write("status\n");
  ASSERT_TRUE(sh->read_until("executors: ")) << sh->output();
  sh->mark();
  std::string said;
  client_.reset();
  ASSERT_EQ(terminate_and_reap(node_, said), "exited with status 0") << said;
  start_node({}, 2, address_);  // same address
  if (HasFatalFailure()) return;
  auto r = client_->deploy(example("chain"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  sh->write("apps\n");
  ASSERT_TRUE(sh->read_until("chain v1")) << "the restarted node's apps:\n" << sh->output();
  EXPECT_EQ(sh->since_mark().find("connection to the node lost"), std::string::npos) << sh->output();
  sh->write("quit\n");
  EXPECT_EQ(sh->wait(), 0) << sh->output();
}

TEST_F(shell_test, CtrlCEndsALiveViewAndTheShellGoesOn) {
  auto sh = shell();
  sh->write("logs --follow\n");
  ASSERT_TRUE(sh->read_until("Ctrl-C stops")) << sh->output();
  sh->mark();
  sh->write("\x03");
  ASSERT_TRUE(sh->read_until("trail> ")) << sh->output();
  sh->mark();
  sh->write("\x03");  // at the prompt: the shell stays
  sh->write("status\n");
  ASSERT_TRUE(sh->read_until("executors: ")) << sh->output();
  EXPECT_EQ(sh->output().find("unknown command"), std::string::npos) << sh->output();
  sh->write("quit\n");
  EXPECT_EQ(sh->wait(), 0) << sh->output();
}

TEST_F(shell_test, HistoryIsKeptAcrossRuns) {
  deploy("chain");
  {
    auto first = shell();
    first->write("invoke chain remembered\n");
    ASSERT_TRUE(first->read_until("<REMEMBERED>")) << first->output();
    first->write("quit\n");
    EXPECT_EQ(first->wait(), 0) << first->output();
  }
  std::ifstream in(dir_ / "history");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "invoke chain remembered\nquit\n");

  auto second = shell();
  second->write("\x1b[A\x1b[A\n");  // up twice: past `quit` to the invoke
  ASSERT_TRUE(second->read_until("<REMEMBERED>")) << second->output();
  second->write("quit\n");
  EXPECT_EQ(second->wait(), 0) << second->output();
}

// The history file keeps the last 1,000 lines: a longer one is trimmed at start.
TEST_F(shell_test, HistoryIsCapped) {
  {
    std::ofstream out(dir_ / "history");
    for (int i = 0; i < 1005; ++i) out << "apps # " << i << "\n";
  }
  auto sh = shell();
  sh->write("\x1b[A\n");  // the newest line comes back
  ASSERT_TRUE(sh->read_until("apps # 1004")) << sh->output();
  sh->write("quit\n");
  EXPECT_EQ(sh->wait(), 0) << sh->output();
  std::ifstream in(dir_ / "history");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1002u);
  EXPECT_EQ(lines.front(), "apps # 5");
  EXPECT_EQ(lines.back(), "quit");
}

TEST_F(shell_test, TopRendersInPlaceAndQuitsOnQ) {
  auto sh = shell();
  sh->write("top --once\n");
  ASSERT_TRUE(sh->read_until("\x1b[H\x1b[2J")) << "clears the screen:\n" << sh->output();
  ASSERT_TRUE(sh->read_until("INV/S")) << sh->output();
  ASSERT_TRUE(sh->read_until("trail> ")) << "--once returns to the prompt:\n" << sh->output();
  sh->mark();
  sh->write("top --interval 100\n");
  ASSERT_TRUE(sh->read_until("(q quits)")) << sh->output();
  sh->mark();
  ASSERT_TRUE(sh->read_until("(q quits)")) << "redrawn:\n" << sh->output();
  sh->write("q");
  ASSERT_TRUE(sh->read_until("trail> ")) << sh->output();
  sh->write("quit\n");
  EXPECT_EQ(sh->wait(), 0) << sh->output();
}

}  // namespace
}  // namespace trail::testing
