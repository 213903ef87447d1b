// The admin commands of a standalone node through the client library: what
// the CLI tests (shell_admin_test.cpp) do not reach — errors and drain.
#include <nlohmann/json.hpp>

#include "node_fixture.hpp"

namespace trail::testing {
namespace {

using admin_api_test = node_test;

TEST_F(admin_api_test, BadWordsAreInvalidAndUnknownIdsNotFound) {
  auto cmd = client_->admin("reboot");
  ASSERT_FALSE(cmd.ok());
  EXPECT_EQ(cmd.error().code(), errc::invalid_argument);
  EXPECT_NE(cmd.error().message().find("unknown admin command 'reboot'"), std::string::npos);
  auto id = client_->admin("trace", {"12x"});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code(), errc::invalid_argument);
  auto none = client_->admin("session", {"999"});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), errc::not_found);
  auto opt = client_->admin("sessions", {"--ap", "x"});
  ASSERT_FALSE(opt.ok());
  EXPECT_EQ(opt.error().message(), "sessions: unknown option '--ap'");
  auto node = client_->admin("drain", {"elsewhere"});
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().code(), errc::not_found);
  auto cancel = client_->admin("cancel", {"999"});
  ASSERT_FALSE(cancel.ok());
  EXPECT_EQ(cancel.error().code(), errc::not_found);
  // ... and the node is still serving.
  EXPECT_TRUE(client_->admin("nodes").ok());
}

TEST_F(admin_api_test, ADrainingNodeRefusesNewSessionsClearlyUntilDrainOff) {
  deploy("chain");
  auto d = client_->admin("drain", {"local"});
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  auto refused = client_->invoke("chain", {"a"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), errc::unavailable);
  EXPECT_NE(refused.error().message().find("draining"), std::string::npos) << refused.error().message();
  auto nodes = nlohmann::json::parse(*client_->admin("nodes"));
  EXPECT_EQ(nodes["nodes"][0]["state"], "draining");
  ASSERT_TRUE(client_->admin("drain", {"local", "--off"}).ok());
  auto r = client_->invoke("chain", {"a"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
}

TEST_F(admin_api_test, ARecordedFailureShowsInSessionAndSessionsFailed) {
  auto up = client_->deploy(TRAIL_TEST_APPS_DIR "/flaky/throwing.yaml");
  ASSERT_TRUE(up.ok()) << up.error().to_string();
  auto r = client_->invoke("throwing", {"x"});
  ASSERT_FALSE(r.ok());
  auto failed = nlohmann::json::parse(*client_->admin("sessions", {"--state", "failed"}));
  ASSERT_EQ(failed["sessions"].size(), 1u) << failed.dump(1);
  auto id = failed["sessions"][0]["id"].get<std::uint64_t>();
  auto s = nlohmann::json::parse(*client_->admin("session", {std::to_string(id)}));
  EXPECT_EQ(s["state"], "failed");
  ASSERT_FALSE(s["attempts"].empty());
  EXPECT_EQ(s["attempts"].back()["state"], "failed");
  EXPECT_FALSE(s["attempts"].back()["error"].get<std::string>().empty());
}

}  // namespace
}  // namespace trail::testing

namespace trail::testing {
namespace {

TEST_F(admin_api_test, ALiveSessionShowsWhatItsTriggersWaitForAndCancelEndsIt) {
  auto up = client_->deploy(TRAIL_TEST_APPS_DIR "/flaky/long_window.yaml");
  ASSERT_TRUE(up.ok()) << up.error().to_string();
  auto r = client_->invoke("long_window", {"x"}, std::chrono::seconds(60), true);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto id = std::to_string(r->session);
  // The event lands in the window once put_event ran: ask until it shows.
  nlohmann::json s;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    s = nlohmann::json::parse(*client_->admin("session", {id}));
  } while (s["waiting"].empty() && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(s["waiting"].size(), 1u) << s.dump(1);
  EXPECT_EQ(s["state"], "running");
  EXPECT_EQ(s["waiting"][0]["bucket"], "ev");
  EXPECT_EQ(s["waiting"][0]["trigger"], "slow-window (by_time) -> swallow");
  EXPECT_NE(s["waiting"][0]["waits_for"].get<std::string>().find("window of 1 objects closes in"), std::string::npos);

  auto c = client_->admin("cancel", {id});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  auto end = client_->result_of(r->session, std::chrono::seconds(10));
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code(), errc::cancelled) << end.error().to_string();
  EXPECT_NE(end.error().message().find("cancelled by an operator"), std::string::npos) << end.error().message();
  auto after = nlohmann::json::parse(*client_->admin("session", {id}));
  EXPECT_EQ(after["state"], "failed");
  EXPECT_TRUE(after["waiting"].empty());
}

// A live session of an app without buckets (nothing to wait for) is shown
// at once: it was once answered never, so the asker waited out its timeout.
TEST_F(admin_api_test, ALiveSessionOfAnAppWithoutBucketsIsShownAtOnce) {
  auto up = client_->deploy(TRAIL_TEST_APPS_DIR "/flaky/nap.yaml");
  ASSERT_TRUE(up.ok()) << up.error().to_string();
  auto r = client_->invoke("nap", {}, std::chrono::seconds(60), true);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto s = client_->admin("session", {std::to_string(r->session)});
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto j = nlohmann::json::parse(*s);
  EXPECT_EQ(j["app"], "nap");
  EXPECT_TRUE(j["state"] == "running" || j["state"] == "ok") << j.dump(1);  // (it naps 300 ms)
  EXPECT_TRUE(j["waiting"].empty()) << j.dump(1);
}

}  // namespace
}  // namespace trail::testing
