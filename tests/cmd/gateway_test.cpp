// The client wire as a misbehaving client speaks it, against a real node:
// garbage, oversized and truncated frames, pipelined requests, and a client
// that leaves while its invocation runs. The node answers clearly and keeps
// serving everyone else.
#include <nlohmann/json.hpp>

#include "actors/net/socket.hpp"
#include "actors/types.hpp"
#include "node_fixture.hpp"
#include "raw_client.hpp"
#include "schema/client.hpp"
#include "schema/frame_buffer.hpp"

namespace trail::testing {
namespace {

const std::string apps = TRAIL_TEST_APPS_DIR;

void still_serving(client& c) {
  auto r = c.invoke("chain", {"still", "here"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<STILL HERE>");
}

TEST_F(node_test, GarbageGetsAClearErrorAndTheNodeServesOthers) {
  deploy("chain");
  raw_client raw(address_);
  std::string junk(64, '\0');
  junk[0] = 0;  // one segment ...
  std::uint32_t words = 1u << 28;  // ... of 2 GiB
  std::memcpy(junk.data() + 4, &words, 4);
  raw.send_bytes(junk);
  auto r = raw.receive();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->what, schema::client_reply::kind::error);
  EXPECT_EQ(r->id, 0u);
  EXPECT_NE(r->error.message().find("more than the limit"), std::string::npos) << r->error.message();
  EXPECT_FALSE(raw.receive().ok()) << "the connection is closed after the error";
  still_serving(*client_);
}

TEST_F(node_test, AFrameThatIsNotARequestIsAClearError) {
  deploy("chain");
  raw_client raw(address_);
  std::string frame(8 + 16, '\0');  // a valid segment table, then 16 bytes of nonsense
  std::uint32_t words = 2;
  std::memcpy(frame.data() + 4, &words, 4);
  for (std::size_t i = 8; i < frame.size(); ++i) frame[i] = static_cast<char>(0xA5 + i);
  raw.send_bytes(frame);
  auto r = raw.receive();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->what, schema::client_reply::kind::error);
  EXPECT_NE(r->error.message().find("malformed"), std::string::npos) << r->error.message();
  still_serving(*client_);
}

TEST_F(node_test, PutDataThatDoesNotFitItsPutBreaksOnlyThatConnection) {
  deploy("chain");
  ASSERT_TRUE(client_->deploy(apps + "/flaky/data.yaml").ok());
  std::string bytes = "0123456789";
  {
    raw_client raw(address_);  // bytes for a put never begun
    auto d = request(schema::client_request::kind::put_data, 3);
    d.put = 2, d.last = true, d.bytes = std::as_bytes(std::span(bytes));
    raw.send(d);
    auto r = raw.receive();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->what, schema::client_reply::kind::error);
    EXPECT_NE(r->error.message().find("no put in progress"), std::string::npos) << r->error.message();
    EXPECT_FALSE(raw.receive().ok()) << "the connection is closed after the error";
  }
  {
    raw_client raw(address_);  // more bytes than the put announced
    auto p = request(schema::client_request::kind::put, 4);
    p.app = "data", p.bucket = "store", p.key = "k", p.size = 4;
    raw.send(p);
    auto ok = raw.receive();
    ASSERT_TRUE(ok.ok()) << ok.error().to_string();
    ASSERT_EQ(ok->what, schema::client_reply::kind::session) << ok->error.to_string();
    auto d = request(schema::client_request::kind::put_data, 5);
    d.put = 4, d.last = true, d.bytes = std::as_bytes(std::span(bytes));
    raw.send(d);
    auto r = raw.receive();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_NE(r->error.message().find("a put of 4 bytes got 10 bytes"), std::string::npos) << r->error.message();
  }
  still_serving(*client_);
  auto g = client_->get("data", "store", "k");
  ASSERT_FALSE(g.ok()) << "the broken put left no object";
  EXPECT_EQ(g.error().code(), errc::not_found);
}

TEST_F(node_test, ATruncatedFrameAndAHangUpLeaveTheNodeServing) {
  deploy("chain");
  {
    raw_client raw(address_);
    auto q = request(schema::client_request::kind::invoke, 5);
    q.app = "chain";
    q.args = {"never", "sent", "whole"};
    std::string out;
    schema::encode(q, out);
    raw.send_bytes(out.substr(0, out.size() / 2));
  }  // hangs up mid-frame
  still_serving(*client_);
}

TEST_F(node_test, PipelinedRequestsAreAnsweredWithTheirIds) {
  deploy("chain");
  raw_client raw(address_);
  auto inv = request(schema::client_request::kind::invoke, 11);
  inv.app = "chain";
  inv.args = {"one"};
  inv.timeout_ms = 30000;
  auto missing = request(schema::client_request::kind::invoke, 12);
  missing.app = "nothing";
  missing.timeout_ms = 30000;
  std::string both;
  schema::encode(request(schema::client_request::kind::hello, 10), both);
  schema::encode(inv, both);
  schema::encode(missing, both);
  raw.send_bytes(both);  // three requests in one write
  std::map<std::uint64_t, schema::client_reply> got;
  for (int i = 0; i < 3; ++i) {
    auto r = raw.receive();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    got[r->id] = *r;
  }
  EXPECT_EQ(got[10].what, schema::client_reply::kind::hello);
  EXPECT_EQ(got[11].output, "<ONE>");
  EXPECT_EQ(got[12].what, schema::client_reply::kind::error);
  EXPECT_EQ(got[12].error.code(), errc::not_found);
}

TEST_F(node_test, AClientThatLeavesMidInvokeLeavesItsSessionToFinish) {
  ASSERT_TRUE(client_->deploy(apps + "/flaky/nap.yaml").ok());
  {
    raw_client raw(address_);
    auto q = request(schema::client_request::kind::invoke, 1);
    q.app = "nap";
    q.timeout_ms = 30000;
    raw.send(q);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    bool running = false;
    while (!running && std::chrono::steady_clock::now() < deadline) {
      auto s = client_->status_json();
      ASSERT_TRUE(s.ok());
      running = nlohmann::json::parse(*s)["sessions"]["in_flight"] == 1;
    }
    ASSERT_TRUE(running) << "the invocation never started";
  }  // gone while nap runs
  auto deadline = std::chrono::steady_clock::now() + 10s;
  nlohmann::json j;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = client_->status_json();
    ASSERT_TRUE(s.ok());
    j = nlohmann::json::parse(*s);
    if (j["sessions"]["ok"] == 1) break;
  }
  EXPECT_EQ(j["sessions"]["ok"], 1) << "the session ran to its end: " << j.dump();
  EXPECT_EQ(j["recent_sessions"].back()["output"], "rested");
  auto again = client_->invoke("nap", {}, 30s);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->output, "rested");
}

TEST_F(node_test, ARequestThatTimesOutLeavesTheConnectionUsable) {
  ASSERT_TRUE(client_->deploy(apps + "/flaky/nap.yaml").ok());
  auto slow = client_->invoke("nap", {}, 30s, true);
  ASSERT_TRUE(slow.ok());
  auto early = client_->result_of(slow->session, 10ms);
  ASSERT_FALSE(early.ok());
  auto later = client_->result_of(slow->session, 30s);
  ASSERT_TRUE(later.ok()) << later.error().to_string();
  EXPECT_EQ(later->output, "rested");
  deploy("chain");
  still_serving(*client_);
}

TEST_F(node_test, AClientWhoseNodeRestartedConnectsAgainAtItsNextRequest) {
  deploy("chain");
  still_serving(*client_);
  std::string said;
  ASSERT_EQ(terminate_and_reap(node_, said), "exited with status 0") << said;
  auto lost = client_->invoke("chain", {"lost"}, 30s);  // found the connection closed: it may or may not have run
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code(), errc::unavailable) << lost.error().to_string();
  EXPECT_FALSE(client_->connected());
  auto nobody = client_->status_json();  // nothing listens: why, clearly
  ASSERT_FALSE(nobody.ok());
  EXPECT_NE(nobody.error().message().find("cannot connect to " + address_), std::string::npos)
      << nobody.error().to_string();
  auto kept = std::move(client_);  // (start_node makes a client of its own)
  start_node({}, 2, address_);     // the same address
  if (HasFatalFailure()) return;
  client_ = std::move(kept);
  auto apps = client_->apps();  // a new node: it has none, and this request reaches it
  ASSERT_TRUE(apps.ok()) << apps.error().to_string();
  EXPECT_TRUE(apps->empty());
  EXPECT_TRUE(client_->connected());
  deploy("chain");
  still_serving(*client_);
}

}  // namespace
}  // namespace trail::testing
