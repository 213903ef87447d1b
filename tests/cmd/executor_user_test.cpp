// --executor-user (README "Security"), against a real standalone node: its
// functions run as an unprivileged user and cannot read the node's secret,
// while everything else still works; a node that is not root, or names an
// unknown user or root, refuses to start and says why.
#include <pwd.h>
#include <sys/stat.h>

#include <fstream>

#include "../support/temp_dir.hpp"
#include "actors/net/auth.hpp"
#include "node_fixture.hpp"

namespace trail::testing {
namespace {

// The unprivileged user functions are run as: nobody, as on every Debian.
shm::identity nobody() {
  passwd* pw = ::getpwnam("nobody");
  EXPECT_NE(pw, nullptr) << "no user 'nobody' on this machine";
  return pw ? shm::identity{pw->pw_uid, pw->pw_gid} : shm::identity{};
}

// Starts trail-node with `args` (as `as`, when given) and returns everything
// it printed once it exited by itself (it must, within 20 s).
std::pair<std::string, std::string> run_to_exit(const std::vector<std::string>& args,
                                                std::optional<shm::identity> as = std::nullopt) {
  auto p = shm::child_process::launch({TRAIL_NODE_PATH, args, {}, as});
  EXPECT_TRUE(p.ok()) << p.error().to_string();
  if (!p.ok()) return {};
  std::string said, how;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while ((how = p->try_reap()).empty() && std::chrono::steady_clock::now() < deadline) {
    pollfd fds[2] = {{p->pidfd(), POLLIN, 0}, {p->output_fd(), POLLIN, 0}};
    ::poll(fds, 2, 1000);
    char buf[4096];
    for (ssize_t n; (n = ::read(p->output_fd(), buf, sizeof buf)) > 0;) said.append(buf, static_cast<std::size_t>(n));
  }
  char buf[4096];
  for (ssize_t n; (n = ::read(p->output_fd(), buf, sizeof buf)) > 0;) said.append(buf, static_cast<std::size_t>(n));
  if (how.empty()) how = "still running: " + p->kill_and_reap();
  return {how, said};
}

class executor_user_test : public node_test {
 protected:
  void SetUp() override {}  // each test starts its node its own way
  temp_dir dir_;
  std::filesystem::path secret_ = dir_.path() / "secret";
};

TEST_F(executor_user_test, FunctionsRunAsTheUserAndCannotReadTheNodesSecret) {
  if (::geteuid() != 0) {  // only root may switch users: the option says so instead
    auto [how, said] = run_to_exit({"--standalone", "--listen", "127.0.0.1:0", "--executor-user", "nobody"});
    EXPECT_EQ(how, "exited with status 1") << said;
    EXPECT_NE(said.find("--executor-user needs trail-node to run as root"), std::string::npos) << said;
    return;
  }
  auto who = nobody();
  // The node's state dir is in TMPDIR: nobody must get through it (only
  // through: it lists nothing). A private TMPDIR refuses at first, clearly.
  auto tmp = std::filesystem::temp_directory_path();
  struct stat before {};
  ASSERT_EQ(::stat(tmp.c_str(), &before), 0);
  if (!(before.st_mode & S_IXOTH)) {
    auto [how, said] = run_to_exit({"--standalone", "--listen", "127.0.0.1:0", "--executor-user", "nobody"});
    EXPECT_NE(how, "exited with status 0") << said;
    EXPECT_NE(said.find("--executor-user cannot reach the state dir"), std::string::npos) << said;
    ASSERT_EQ(::chmod(tmp.c_str(), (before.st_mode & 07777) | S_IXOTH), 0);
  }
  struct restore {
    std::filesystem::path p;
    mode_t mode;
    ~restore() { ::chmod(p.c_str(), mode); }
  } put_back{tmp, static_cast<mode_t>(before.st_mode & 07777)};
  // Only the secret file's own mode keeps it from the function.
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0711), 0);
  ::setenv("TRAIL_SECRET_FILE", secret_.c_str(), 1);  // the fixture's client proves it
  start_node({"--secret-file", secret_.string(), "--executor-user", "nobody"});
  ::unsetenv("TRAIL_SECRET_FILE");
  ASSERT_FALSE(HasFatalFailure());
  auto up = client_->deploy(TRAIL_TEST_APPS_DIR "/flaky/probe.yaml");
  ASSERT_TRUE(up.ok()) << up.error().to_string();

  // The node reads its secret; the function, a few bytes away, cannot.
  ASSERT_TRUE(net::load_key(secret_).ok());
  auto r = client_->invoke("probe", {secret_.string()}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "uid=" + std::to_string(who.uid) + " read=Permission denied");
  // Nor the node's own files: its state dir lets the executors through to libs/ only.
  r = client_->invoke("probe", {"/proc/" + std::to_string(node_.pid()) + "/environ"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "uid=" + std::to_string(who.uid) + " read=Permission denied");

  // The store it works in is the executors' (mode 0600), no one else's.
  bool found = false;
  for (auto& e : std::filesystem::directory_iterator("/dev/shm")) {
    shm::process_identity owner;
    std::string name = e.path().filename().string();
    if (!shm::parse_owner(name, owner) || owner.pid != node_.pid() || name.find("store") == std::string::npos) continue;
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, who.uid) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
    found = true;
  }
  EXPECT_TRUE(found) << "no store segment of the node in /dev/shm";
  // And the rest works as before: a chain of three functions.
  deploy("chain");
  auto c = client_->invoke("chain", {"as", "nobody"}, 30s);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->output, "<AS NOBODY>");
}

TEST_F(executor_user_test, ANodeThatCannotSwitchUsersRefusesToStartAndSaysWhy) {
  std::optional<shm::identity> as;
  if (::geteuid() == 0) as = nobody();  // a node that is not root
  auto [how, said] = run_to_exit({"--standalone", "--listen", "127.0.0.1:0", "--executor-user", "nobody"}, as);
  EXPECT_NE(how, "exited with status 0") << said;
  EXPECT_NE(said.find("--executor-user needs trail-node to run as root"), std::string::npos) << said;
  if (::geteuid() != 0) return;
  std::tie(how, said) = run_to_exit({"--standalone", "--listen", "127.0.0.1:0", "--executor-user", "no-such-user-x"});
  EXPECT_NE(how, "exited with status 0") << said;
  EXPECT_NE(said.find("no user 'no-such-user-x'"), std::string::npos) << said;
  std::tie(how, said) = run_to_exit({"--standalone", "--listen", "127.0.0.1:0", "--executor-user", "root"});
  EXPECT_NE(said.find("is root; name an unprivileged user"), std::string::npos) << said;
}

}  // namespace
}  // namespace trail::testing
