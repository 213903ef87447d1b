// Data in and out through a coordinator, against a real 3-node cluster: the
// coordinator sends the client to the node that holds the object's scope,
// and the bytes go there directly. Objects of 8 B and 256 MiB with
// checksums, puts that start sessions and fire triggers on any node, kept
// objects read back wherever their function ran, and bad input.
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../cluster/cluster_fixture.hpp"
#include "actors/core/placement.hpp"
#include "../support/etcd_member.hpp"  // free_port
#include "../support/data_bytes.hpp"
#include "node_fixture.hpp"
#include "raw_client.hpp"

namespace trail::testing {
namespace {

class data_cluster_test : public cluster_test {
 protected:
  void SetUp() override {
    cluster_test::SetUp();
    if (HasFatalFailure()) return;
    auto r = client_->deploy(data_manifest);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    wait_until_held("data", 3);
  }

  // A get of an object that is on its way to the app's scope (a kept object
  // travels there from the node its function ran on): not_found until then.
  result<std::string> get_when_there(const std::string& bucket, const std::string& key) {
    result<std::string> got = status::not_found("not asked");
    for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
      got = client_->get("data", bucket, key);
      if (got.ok() || got.error().code() != errc::not_found) break;
    }
    return got;
  }

  // The node holding the app's scope, as the coordinator's status says.
  std::uint64_t owner_of(const std::string& app) {
    auto st = client_->status_json();
    EXPECT_TRUE(st.ok()) << st.error().to_string();
    auto j = nlohmann::json::parse(*st);
    for (auto& sh : j["shards"])
      if (sh["apps"].contains(app)) return sh["apps"][app]["owner"].get<std::uint64_t>();
    return 0;
  }
};

class big_data_cluster_test : public data_cluster_test {
 protected:
  std::string store_size() const override { return "272M"; }  // 256 MiB and the executors' arenas
};

TEST_F(data_cluster_test, AnEightByteObjectRoundTripsThroughTheCoordinator) {
  const std::string bytes("8 b\0tes!", 8);
  auto p = client_->put("data", "store", "small", bytes);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->session, 0u) << "app scope: no session";
  auto g = client_->get("data", "store", "small");
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(checksum(*g), checksum(bytes));
  expect_error(client_->put("data", "store", "small", "again"), errc::invalid_argument, "already");
}

// The peak resident memory of the coordinator so far, KiB.
std::uint64_t peak_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

TEST_F(big_data_cluster_test, A256MiBObjectStreamsToItsNodeAndBack) {
  const std::string bytes = payload(256u << 20, 11);
  const std::uint64_t before_kib = peak_kib(coordinator_.proc.pid());  // (ASan's runtime alone is ~250 MiB)
  auto p = client_->put("data", "store", "big", bytes);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  checksum_buf sink;
  std::ostream out(&sink);
  auto n = client_->get_to("data", "store", "big", out);
  ASSERT_TRUE(n.ok()) << n.error().to_string();
  EXPECT_EQ(sink.size, bytes.size());
  EXPECT_EQ(sink.sum.hex(), checksum(bytes));
  // The coordinator never held it: its peak memory grew far less than the object.
  const std::uint64_t after_kib = peak_kib(coordinator_.proc.pid());
  EXPECT_GT(before_kib, 0u);
  EXPECT_LT(after_kib - before_kib, 64u << 10) << "the coordinator's peak resident memory grew by that many KiB";
}

// Puts into new sessions run on whichever node placement picks; each
// session's digest is kept in the app's scope, on the node holding it, even
// when it ran elsewhere.
TEST_F(data_cluster_test, PutsInNewSessionsRunAnywhereAndTheirKeptObjectsAreReadable) {
  std::map<std::string, std::string> outputs;
  for (int i = 0; i < 12; ++i) {
    std::string key = "obj-" + std::to_string(i), bytes = payload(1000 + i * 4099, i);
    auto p = client_->put("data", "in", key, bytes, put_scope::new_session);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    ASSERT_NE(p->session, 0u);
    auto r = client_->result_of(p->session, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->output, key + " " + std::to_string(bytes.size()) + " " + checksum(bytes));
    outputs[key] = r->output;
  }
  auto listing = client_->admin("sessions", {"--app", "data"});
  ASSERT_TRUE(listing.ok()) << listing.error().to_string();
  std::set<std::string> ran_on;
  auto sessions = nlohmann::json::parse(*listing);
  for (auto& s : sessions["sessions"]) ran_on.insert(s["node"].get<std::string>());
  EXPECT_GE(ran_on.size(), 2u) << "placement spread the sessions: " << *listing;
  for (auto& [key, output] : outputs) {
    auto kept = get_when_there("digests", key);
    ASSERT_TRUE(kept.ok()) << key << ": " << kept.error().to_string();
    EXPECT_EQ(*kept, output);
  }
  // A bucket without triggers: the session has nothing to run and fails.
  auto quiet = client_->put("data", "store", "q", "x", put_scope::new_session);
  ASSERT_TRUE(quiet.ok()) << quiet.error().to_string();
  expect_error(client_->result_of(quiet->session, 30s), errc::app_error, "no output");
}

TEST_F(data_cluster_test, AnAppScopedPutFiresTheAppScopedTrigger) {
  auto p = client_->put("data", "feed", "ev-1", "event one");
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  // Its firing starts a session on the owner; the digest lands in `digests`.
  auto kept = get_when_there("digests", "ev-1");
  ASSERT_TRUE(kept.ok()) << kept.error().to_string();
  EXPECT_EQ(*kept, "ev-1 9 " + checksum("event one"));
}

TEST_F(data_cluster_test, BadPutsAndGetsGetClearErrorsAndTheClusterServesOn) {
  expect_error(client_->put("nope", "store", "k", "x"), errc::not_found, "no app \"nope\"");
  expect_error(client_->put("data", "nobucket", "k", "x"), errc::not_found, "no bucket \"nobucket\"");
  expect_error(client_->get("data", "store", "missing"), errc::not_found, "no object \"store/missing\"");
  expect_error(client_->get("nope", "store", "k"), errc::not_found, "no app \"nope\"");
  std::istringstream nothing;
  expect_error(client_->put_stream("data", "store", "huge", nothing, 1ull << 30), errc::invalid_argument,
               "exceeds the store's capacity");

  // Straight to a node: it takes only what its coordinator sent there.
  std::uint64_t owner = owner_of("data");
  ASSERT_NE(owner, 0u);
  std::string not_owner;
  for (auto& n : {"n1", "n2", "n3"})  // node numbers follow join order, not names: ask each
    if (not_owner.empty()) {
      auto c = client::connect(node_address(n));
      ASSERT_TRUE(c.ok()) << c.error().to_string();
      auto p = c->put("data", "store", std::string("direct-") + n, "x");
      if (!p.ok()) {
        EXPECT_EQ(p.error().code(), errc::unavailable) << p.error().to_string();
        EXPECT_NE(p.error().message().find("put through the coordinator"), std::string::npos) << p.error().to_string();
        not_owner = n;
      }
      expect_error(c->put("data", "in", "k2", "x", put_scope::new_session), errc::invalid_argument,
                   "put through its coordinator");
      // (A synchronous invoke runs there, as the node's own session; an
      // async one must be kept by the coordinator.)
      expect_error(c->invoke("data", {}, 5s, true), errc::invalid_argument, "part of a cluster");
    }
  EXPECT_FALSE(not_owner.empty()) << "every node took an app-scoped put";

  auto ok = client_->put("data", "store", "after", "still here");
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  auto g = client_->get("data", "store", "after");
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(*g, "still here");
}

// A put into a new session whose node dies before the bytes arrive: the
// session has nothing to start again from, so it fails, saying so; it never
// re-runs without its data. The cluster serves on.
TEST_F(data_cluster_test, ASessionPutWhoseNodeIsLostFailsWithPutItAgain) {
  raw_client raw(address_);
  raw.send(request(schema::client_request::kind::hello, 1));
  ASSERT_TRUE(raw.receive().ok());
  auto q = request(schema::client_request::kind::put, 2);
  q.app = "data", q.bucket = "in", q.key = "lost", q.size = 10, q.new_session = true, q.timeout_ms = 60000;
  raw.send(q);
  auto redirect = raw.receive();
  ASSERT_TRUE(redirect.ok()) << redirect.error().to_string();
  ASSERT_EQ(redirect->what, schema::client_reply::kind::redirect);
  ASSERT_NE(redirect->session, 0u);
  std::string victim;
  for (auto& n : {"n1", "n2", "n3"})
    if (node_address(n) == redirect->text) victim = n;
  ASSERT_FALSE(victim.empty()) << "redirected to " << redirect->text << ", no node of this cluster";
  signal_node(victim, SIGKILL);
  expect_error(client_->result_of(redirect->session, 30s), errc::unavailable, "put it again");
  auto p = client_->put("data", "in", "again", "0123456789", put_scope::new_session);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  auto r = client_->result_of(p->session, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "again 10 " + checksum("0123456789"));
}

// A client that lost its coordinator before the answer sends the invocation
// again with the same request id: it gets the session that id started, never
// a second one. An id that started a session of another app (of the same
// shard: each remembers its own) is refused.
TEST_F(data_cluster_test, AnInvocationSentAgainWithItsRequestIdGetsTheSessionItStarted) {
  deploy("spread.yaml");
  deploy("slow_spread.yaml");
  // Request ids are remembered per shard: the check below needs both apps on one.
  ASSERT_EQ(core::shard_of("spread", 2), core::shard_of("slow_spread", 2));
  raw_client raw(address_);
  raw.send(request(schema::client_request::kind::hello, 1));
  ASSERT_TRUE(raw.receive().ok());
  auto invoke = [&](std::uint64_t id, const std::string& app, bool async) {
    auto q = request(schema::client_request::kind::invoke, id);
    q.app = app, q.args = {"once"}, q.timeout_ms = 30000, q.async = async, q.request = 0x5eed'0000'0000'0001;
    raw.send(q);
    return raw.receive();
  };
  auto first = invoke(2, "spread", false);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ASSERT_EQ(first->what, schema::client_reply::kind::session) << first->error.to_string();
  EXPECT_EQ(first->output, "<ONCE>");
  for (bool async : {false, true}) {
    auto again = invoke(3, "spread", async);
    ASSERT_TRUE(again.ok()) << again.error().to_string();
    ASSERT_EQ(again->what, schema::client_reply::kind::session) << again->error.to_string();
    EXPECT_EQ(again->session, first->session) << (async ? "async" : "sync") << ": a second session for one request";
    if (!async) {
      EXPECT_EQ(again->output, "<ONCE>");
    }
  }
  auto other = invoke(4, "slow_spread", false);
  ASSERT_TRUE(other.ok()) << other.error().to_string();
  ASSERT_EQ(other->what, schema::client_reply::kind::error);
  EXPECT_EQ(other->error.code(), errc::invalid_argument) << other->error.to_string();
  EXPECT_NE(other->error.message().find("already started a session of app \"spread\""), std::string::npos)
      << other->error.to_string();
  // The coordinator serves on: the whole chain ran once.
  auto st = client_->status_json();
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  auto j = nlohmann::json::parse(*st);
  int ok = 0;
  for (auto& sh : j["shards"]) ok += sh["sessions"]["ok"].get<int>();
  EXPECT_EQ(ok, 1) << *st;
}

TEST_F(data_cluster_test, CliPutAndGetThroughTheCoordinator) {
  const std::string bytes("bin\0ary\xff data\n", 14);
  auto p = run_program(TRAIL_CLI_PATH, {"--connect", address_, "put", "data", "store", "cli-key", "-"}, bytes);
  ASSERT_EQ(p.code, 0) << p.err;
  auto g = run_program(TRAIL_CLI_PATH, {"--connect", address_, "get", "data", "store", "cli-key"});
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out, bytes);
  auto s = run_program(TRAIL_CLI_PATH,
                       {"--connect", address_, "put", "data", "in", "cli-obj", "-", "--session", "--wait", "--json"}, bytes);
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(nlohmann::json::parse(s.out)["output"], "cli-obj 14 " + checksum(bytes)) << s.out;
}

// The client keeps its connection to a node a coordinator sent it to. When
// that node restarts on the same address, the next put finds the old
// connection closed and opens a new one: it never fails for it.
class one_node_data_test : public cluster_test {
 protected:
  int initial_nodes() const override { return 0; }
  void start_solo() {
    start_node("solo", {}, listen_);  // (what it says starts afresh)
    wait_for(nodes_.at("solo"), "joined ", 20s);
  }
  // Puts until the app's scope has its (new) owner; never "connection lost".
  void put_eventually(const std::string& key) {
    for (auto until = std::chrono::steady_clock::now() + 20s;;) {
      auto p = client_->put("data", "store", key, "x");
      if (p.ok()) return;
      ASSERT_EQ(p.error().message().find("connection to the node lost"), std::string::npos) << p.error().to_string();
      ASSERT_LT(std::chrono::steady_clock::now(), until) << p.error().to_string();
    }
  }
  std::string listen_ = "127.0.0.1:" + std::to_string(free_port());
};

TEST_F(one_node_data_test, APutAfterTheNodeRestartedOnItsAddressOpensANewConnection) {
  start_solo();
  ASSERT_TRUE(client_->deploy(data_manifest).ok());
  wait_until_held("data", 1);
  put_eventually("before");
  signal_node("solo", SIGKILL);
  start_solo();
  wait_until_held("data", 1);
  put_eventually("after");
  auto g = client_->get("data", "store", "after");
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(*g, "x");
}

}  // namespace
}  // namespace trail::testing
