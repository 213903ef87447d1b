// A cluster with a secret (README "Security"), against real binaries: every
// connection between its members proves the secret before anything else is
// read. A node without it cannot join; a stranger that dials the
// coordinator's CAF control port, its node wire or a node's data path
// without the handshake, with another secret, or replaying a recorded one,
// is closed with one log line, and the cluster serves on. An invoke token
// given to the coordinator alone holds on every node. (The whole cluster
// suite also runs with a secret: ctest's cluster.with_secret.)
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "../cluster/cluster_fixture.hpp"
#include "../support/temp_dir.hpp"
#include "actors/net/control.hpp"
#include "actors/net/frame_io.hpp"
#include "actors/net/handshake.hpp"
#include "../support/data_bytes.hpp"
#include "actors/cluster_types.hpp"
#include "actors/types.hpp"
#include "schema/cluster.hpp"

namespace trail::testing {
namespace {

class auth_cluster_test : public cluster_test {
 protected:
  int initial_nodes() const override { return 2; }
  void SetUp() override {
    ASSERT_TRUE(net::create_key(secret_).ok());
    ::setenv("TRAIL_SECRET_FILE", secret_.c_str(), 1);  // the coordinator, nodes and client take it from there
    cluster_test::SetUp();
  }
  void TearDown() override {
    cluster_test::TearDown();
    ::unsetenv("TRAIL_SECRET_FILE");
  }

  net::key secret() const { return *net::load_key(secret_); }

  // The coordinator's control ports, asked with the secret.
  net::coordinator_ports ports() {
    net::credentials cred{secret(), net::role::admin};
    auto p = net::control_address(address_, 5s, actors::protocol_version, &cred);
    EXPECT_TRUE(p.ok()) << p.error().to_string();
    return p.ok() ? *p : net::coordinator_ports{};
  }

  // A node's data-path address, from the coordinator's status.
  std::string data_address(const std::string& node) {
    auto st = client_->status_json();
    EXPECT_TRUE(st.ok()) << st.error().to_string();
    auto j = nlohmann::json::parse(*st);
    for (auto& n : j["nodes"])
      if (n["name"] == node) return n["data"];
    ADD_FAILURE() << "no node " << node << " in " << *st;
    return "";
  }

  net::socket dial(const std::string& address) {
    auto s = net::connect_to(address, io());
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    return s.ok() ? std::move(*s) : net::socket();
  }
  net::io_limits io() const { return {&stop_, 10s}; }

  void send(net::socket& s, const std::string& bytes) {
    iovec part = net::io_part(bytes.data(), bytes.size());
    ASSERT_TRUE(s.write({&part, 1}, io()).ok());
  }
  // The far end closed `s` without sending a byte (not: stayed silent). A
  // close with our bytes unread reaches us as a reset.
  void expect_closed(net::socket& s) {
    std::byte b[1];
    status st = s.read(b, io());
    EXPECT_TRUE(st.message() == "connection closed by the peer" || st.message() == "recv: Connection reset by peer")
        << st.to_string();
  }

  void still_serving() {
    auto r = client_->invoke("chain", {"still", "here"}, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->output, "<STILL HERE>");
  }

  temp_dir dir_;
  std::filesystem::path secret_ = dir_.path() / "secret";
  net::stop_signal stop_;
};

class token_cluster_test : public auth_cluster_test {
 protected:
  std::vector<std::string> coordinator_extra() const override { return {"--invoke-token-file", token_.string()}; }
  std::filesystem::path token_ = dir_.path() / "token";  // the coordinator creates it
};

// A token client's direct invokes, puts and gets go to a node, which never
// saw the token file: the coordinator handed it the token when it joined.
// Deploys and app-scoped puts stay refused.
TEST_F(token_cluster_test, AnInvokeTokenGivenToTheCoordinatorHoldsOnItsNodes) {
  ASSERT_TRUE(client_->deploy(data_manifest).ok());
  wait_until_held("data", 2);
  ASSERT_TRUE(client_->put("data", "store", "k", "v").ok());
  auto c = client::connect(address_, key_file{token_, true});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  auto r = c->invoke("data", {}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "no input");
  EXPECT_TRUE(actors::node_of_session(r->session).has_value()) << "not run by the node directly: " << r->session;
  auto g = c->get("data", "store", "k");
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(*g, "v");
  auto p = c->put("data", "in", "obj", "bytes", put_scope::new_session);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  auto ended = c->result_of(p->session, 30s);
  ASSERT_TRUE(ended.ok()) << ended.error().to_string();
  for (auto refused : {c->deploy(data_manifest).error(), c->put("data", "store", "k2", "v").error()}) {
    EXPECT_EQ(refused.code(), errc::invalid_argument) << refused.to_string();
    EXPECT_NE(refused.message().find("permission denied"), std::string::npos) << refused.to_string();
  }
}

TEST_F(auth_cluster_test, ANodeWithoutTheSecretCannotJoin) {
  ASSERT_TRUE(client_->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/chain/chain.yaml").ok());
  wait_until_held("chain", 2);
  ::unsetenv("TRAIL_SECRET_FILE");
  start_node("intruder");
  ::setenv("TRAIL_SECRET_FILE", secret_.c_str(), 1);
  auto& m = nodes_.at("intruder");
  wait_for(m, "requires authentication", 20s);
  auto st = client_->status_json();
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  auto j = nlohmann::json::parse(*st);
  EXPECT_EQ(j["nodes"].size(), 2u) << *st;
  still_serving();
}

TEST_F(auth_cluster_test, ACafPeerWithoutTheHandshakeCannotReachTheControlPort) {
  ASSERT_TRUE(client_->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/chain/chain.yaml").ok());
  auto p = ports();
  auto colon = p.caf.rfind(':');
  auto port = static_cast<std::uint16_t>(std::stoi(p.caf.substr(colon + 1)));
  {  // a CAF node of its own, as a fake trail node would be: BASP never starts
    caf::actor_system_config cfg;
    cfg.load<caf::io::middleman>();
    caf::actor_system sys{cfg};
    auto front = sys.middleman().remote_actor(p.caf.substr(0, colon), port);
    EXPECT_FALSE(front) << "CAF reached the coordinator's front without the secret";
  }
  wait_for(coordinator_, "refusing a control connection", 20s);
  // Bytes that are not the handshake are refused at once.
  auto s = dial(p.caf);
  send(s, std::string("\0\0\0\x10garbage", 11));
  expect_closed(s);
  still_serving();
}

TEST_F(auth_cluster_test, TheNodeWireRefusesAFakeNodesFramesAndAnotherSecret) {
  ASSERT_TRUE(client_->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/chain/chain.yaml").ok());
  auto wire = ports().wire;
  {  // a node's hello, as a node without the secret would send it
    auto s = dial(wire);
    std::string hello;
    schema::encode(schema::peer_message{schema::peer_hello{7, 1}}, hello);
    send(s, hello);
    expect_closed(s);
  }
  wait_for(coordinator_, "refusing the connection from", 20s);
  {  // the handshake with another secret: the coordinator's proof is not ours, and ours is refused
    auto s = dial(wire);
    auto other = dir_.path() / "other";
    ASSERT_TRUE(net::create_key(other).ok());
    status st = net::dial_handshake(s, io(), *net::load_key(other));
    EXPECT_EQ(st.code(), errc::invalid_argument) << st.to_string();
  }
  still_serving();
}

TEST_F(auth_cluster_test, ADataPullWithoutTheSecretOrReplayingAHandshakeIsRefused) {
  ASSERT_TRUE(client_->deploy(std::string(TRAIL_EXAMPLES_DIR) + "/chain/chain.yaml").ok());
  auto data = data_address("n1");
  schema::frame f;
  schema::pull_request pull;
  pull.transfer = 1;
  pull.session = 1;
  pull.bucket = "b";
  pull.key = "k";
  ASSERT_TRUE(schema::encode(schema::transfer_message{pull}, f).ok());
  std::string request(reinterpret_cast<const char*>(f.bytes().data()), f.size());
  {  // a pull with no handshake
    auto s = dial(data);
    send(s, request);
    expect_closed(s);
  }
  wait_for(nodes_.at("n1"), "refusing data connection", 20s);

  // With the secret the same pull is answered (no such object): the
  // handshake is all that stood in the way. Its bytes are recorded.
  std::string greeting, proof;
  {
    auto s = dial(data);
    net::member_handshake h(net::member_handshake::side::dialer, secret());
    greeting = h.output();
    send(s, std::exchange(h.output(), {}));
    std::string answer(net::member_handshake::answer_bytes, '\0');
    ASSERT_TRUE(s.read(std::as_writable_bytes(std::span(answer.data(), answer.size())), io()).ok());
    ASSERT_TRUE(h.feed(std::as_bytes(std::span(answer.data(), answer.size()))).ok());
    ASSERT_TRUE(h.done());
    proof = h.output();
    send(s, proof + request);
    net::frame_reader in(1 << 20);
    net::stream plain(std::move(s));
    auto reply = in.read(plain, io(), 10s);
    ASSERT_TRUE(reply.ok()) << reply.error().to_string();
    auto m = schema::decode(*reply);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    EXPECT_TRUE(std::holds_alternative<schema::object_header>(*m));
  }
  {  // the recorded greeting and proof, replayed on a new connection
    auto s = dial(data);
    send(s, greeting);
    std::string answer(net::member_handshake::answer_bytes, '\0');
    ASSERT_TRUE(s.read(std::as_writable_bytes(std::span(answer.data(), answer.size())), io()).ok());
    send(s, proof + request);
    expect_closed(s);
  }
  still_serving();
}

}  // namespace
}  // namespace trail::testing
