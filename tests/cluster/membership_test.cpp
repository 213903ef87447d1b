// Joining, leaving and misbehaving: nodes that join late get every
// deployment, restarted nodes rejoin, invocations wait for a node, a lost
// coordinator gives clients "unavailable" and its nodes rejoin a new one, and
// malformed cluster messages are rejected while everything keeps running.
#include <caf/io/all.hpp>

#include "actors/cluster_types.hpp"
#include "actors/control_gate.hpp"
#include "actors/types.hpp"
#include "actors/net/control.hpp"
#include "actors/net/handshake.hpp"
#include "actors/net/socket.hpp"
#include "actors/net/stream.hpp"
#include "cluster_fixture.hpp"

namespace trail::testing {
namespace {

std::set<std::string> ran_on(const std::vector<execution>& runs, const std::string& function) {
  std::set<std::string> out;
  for (auto& e : runs)
    if (e.function == function) out.insert(e.node);
  return out;
}

TEST_F(cluster_test, ANodeThatJoinsLaterGetsTheDeploymentsAndWork) {
  deploy("late.yaml");
  start_node("n4");
  wait_for(nodes_.at("n4"), "joined ", 20s);
  wait_until_held("late", 4);
  auto r = client_->invoke("late", {}, 10s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "tick");
  EXPECT_EQ(ran_on(executions(), "tick"), std::set<std::string>{"n4"});
}

TEST_F(cluster_test, ARestartedNodeRejoinsUnderItsName) {
  deploy("spread.yaml");
  signal_node("n2", SIGKILL);
  wait_for(coordinator_, "node n2 (#", 10s);  // declared dead
  start_node("n2");
  wait_for(nodes_.at("n2"), "joined ", 20s);
  wait_until_held("spread", 3);
  auto r = client_->invoke("spread", {"again"}, 10s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<AGAIN>");
  EXPECT_EQ(ran_on(executions(), "middle"), std::set<std::string>{"n2"});
}

class no_node_test : public cluster_test {
 protected:
  int initial_nodes() const override { return 0; }
};

TEST_F(no_node_test, AnInvocationWaitsForANodeThatCanRunIt) {
  deploy("ticks.yaml");  // accepted: nodes that join later get it
  auto r = client_->invoke("ticks", {}, 20s, /*async=*/true);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  start_node("n1");
  wait_for(nodes_.at("n1"), "joined ", 20s);
  auto out = client_->result_of(r->session, 20s);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->output, "tick");
}

TEST_F(no_node_test, AnInvocationThatFindsNoNodeInTimeFailsUnavailable) {
  deploy("ticks.yaml");
  auto r = client_->invoke("ticks", {}, 300ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::unavailable) << r.error().to_string();
  EXPECT_NE(r.error().message().find("no node"), std::string::npos) << r.error().to_string();
}

TEST_F(cluster_test, WithoutItsCoordinatorAClientGetsUnavailableAndNodesRejoinANewOne) {
  coordinator_.expect_clean_exit = false;
  (void)coordinator_.proc.kill_and_reap();  // gone, its port too, before it starts again
  auto r = client_->invoke("anything", {}, 2s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::unavailable) << r.error().to_string();
  // The nodes keep running, drop what they had and retry until a coordinator answers.
  start_coordinator_again();
  deploy("spread.yaml");
  auto out = client_->invoke("spread", {"back"}, 10s);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->output, "<BACK>");
}

// A node listening on every interface (--listen 0.0.0.0) is known to the
// cluster by the address it reaches the coordinator from, not by 0.0.0.0,
// which means nothing on another machine; work reaches it there.
TEST_F(cluster_test, ANodeOnEveryInterfaceIsKnownByTheAddressTheCoordinatorSees) {
  start_node("wild", {}, "0.0.0.0:0");
  wait_for(nodes_.at("wild"), "joined ", 20s);
  auto st = client_->status_json();
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  auto j = nlohmann::json::parse(*st);
  bool seen = false;
  for (auto& n : j["nodes"]) {
    if (n["name"] != "wild") continue;
    seen = true;
    EXPECT_EQ(n["address"].get<std::string>().rfind("127.0.0.1:", 0), 0u) << n.dump();
    EXPECT_EQ(n["data"].get<std::string>().rfind("127.0.0.1:", 0), 0u) << n.dump();
  }
  ASSERT_TRUE(seen) << *st;
  deploy("spread.yaml");
  wait_until_held("spread", 4);
  for (int i = 0; i < 8; ++i) {
    auto out = client_->invoke("spread", {"wide"}, 30s);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    EXPECT_EQ(out->output, "<WIDE>");
  }
}

// A peer that joins as a node and then sends garbage: every receiver rejects
// it, says so in its log, and keeps serving.
TEST_F(cluster_test, MalformedClusterMessagesAreRejectedAndLogged) {
  deploy("spread.yaml");
  caf::actor_system_config cfg;
  actors::configure(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  // As a joining node does (with the cluster's secret, if it has one).
  auto cred = net::credentials_from_env();
  ASSERT_TRUE(cred.ok()) << cred.error().to_string();
  auto tls = net::client_tls_from_env();
  ASSERT_TRUE(tls.ok()) << tls.error().to_string();
  auto control = net::control_address(address_, 5s, actors::protocol_version, *cred ? &**cred : nullptr, *tls);
  ASSERT_TRUE(control.ok()) << control.error().to_string();
  auto colon = control->caf.rfind(':');
  auto port = static_cast<std::uint16_t>(std::stoi(control->caf.substr(colon + 1)));
  caf::scoped_actor self{sys};
  caf::expected<caf::actor> front{caf::sec::runtime_error};
  std::unique_ptr<net::tls_relay> relay;  // (TLS) carries the control connection, as long as the test runs
  if (*cred || *tls) {
    std::optional<net::key> secret;
    if (*cred) secret = (*cred)->k;
    auto dialed = actors::dial_control(sys, control->caf, secret, *tls, 5s);
    ASSERT_TRUE(dialed.ok()) << dialed.error().to_string();
    relay = std::move(dialed->relay);
    self->request(actors::basp_broker(sys), 5s, caf::connect_atom::value, std::move(dialed->scribe), port)
        .receive([&](const caf::node_id&, caf::strong_actor_ptr& p, const std::set<std::string>&) {
                   front = caf::actor_cast<caf::actor>(p);
                 },
                 [&](caf::error& e) { front = std::move(e); });
  } else {
    front = sys.middleman().remote_actor(control->caf.substr(0, colon), port);
  }
  ASSERT_TRUE(front) << sys.render(front.error());
  // A join of another protocol version is refused.
  self->request(*front, 5s, actors::join_atom::value, actors::protocol_version + 1, std::string("intruder"),
                std::uint64_t{1}, std::string("127.0.0.1:1"), std::string("127.0.0.1:2"), std::string("127.0.0.1:3"), std::uint32_t{1},
                caf::actor_cast<caf::actor>(self), caf::actor_cast<caf::actor>(self), caf::actor_cast<caf::actor>(self))
      .receive([](std::uint64_t) { FAIL() << "joined with a wrong protocol version"; },
               [](caf::error& e) { EXPECT_NE(e, caf::error{}); });
  // Messages of the wrong shape, and heartbeats of a node that never joined.
  self->request(*front, 5s, actors::beat_atom::value, std::string("not a number"))
      .receive([] { FAIL() << "a malformed heartbeat was accepted"; },
               [](caf::error& e) { EXPECT_EQ(e, caf::sec::unexpected_message); });
  self->send(*front, actors::beat_atom::value, std::uint64_t{999}, std::uint64_t{1}, std::uint32_t{0}, std::uint32_t{0},
             std::uint64_t{0});
  self->receive([](actors::fenced_atom, const std::string& why) { EXPECT_FALSE(why.empty()); },
                caf::after(5s) >> [] { FAIL() << "a heartbeat of an unknown node was not refused"; });
  // Join properly, learn the nodes' schedulers, and send them garbage.
  std::uint64_t number = 0;
  self->request(*front, 5s, actors::join_atom::value, actors::protocol_version, std::string("intruder"), std::uint64_t{1},
                std::string("127.0.0.1:1"), std::string("127.0.0.1:2"), std::string("127.0.0.1:3"), std::uint32_t{1}, caf::actor_cast<caf::actor>(self),
                caf::actor_cast<caf::actor>(self), caf::actor_cast<caf::actor>(self))
      .receive([&](std::uint64_t n) { number = n; }, [](caf::error& e) { FAIL() << caf::to_string(e); });
  ASSERT_NE(number, 0u);
  std::vector<std::string> wires;  // the nodes' node-to-node wire addresses
  for (int i = 0; i < 3; ++i)
    self->receive([&](actors::peer_atom, std::uint64_t, const std::string&, const caf::actor&, const std::string&,
                      const std::string& wire, bool) { wires.push_back(wire); },
                  caf::after(5s) >> [] { FAIL() << "no peer announced"; });
  ASSERT_EQ(wires.size(), 3u);
  net::stop_signal never;
  net::io_limits io{&never, 5s};
  for (auto& w : wires) {
    // Garbage on the wire, then a frame that announces 2 GiB.
    for (std::string junk : {std::string(64, '\x7f'), std::string("\0\0\0\0\0\0\0\x40", 8)}) {
      auto sock = net::stream::connect(w, io, *tls);  // a member's garbage: past TLS and the handshake, the
      ASSERT_TRUE(sock.ok()) << sock.error().to_string();  // frames are what is checked
      if (*cred) {
        status shook = net::dial_handshake(*sock, io, (*cred)->k);
        ASSERT_TRUE(shook.ok()) << shook.to_string();
      }
      iovec part = net::io_part(junk.data(), junk.size());
      ASSERT_TRUE(sock->write({&part, 1}, io).ok());
      std::byte b;
      iovec into = net::io_part(&b, 1);
      EXPECT_FALSE(sock->read_at_least({&into, 1}, 1, io).ok()) << "the node closes a connection that speaks garbage";
    }
  }
  drain_all();
  for (auto& [name, m] : nodes_) wait_for(m, "rejected a frame", 10s);  // (logged off the loop thread)
  EXPECT_NE(coordinator_.said.find("rejected an unexpected message"), std::string::npos) << coordinator_.said;
  // Everyone still serves.
  auto out = client_->invoke("spread", {"still", "fine"}, 10s);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->output, "<STILL FINE>");
}

}  // namespace
}  // namespace trail::testing
