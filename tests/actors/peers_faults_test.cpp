// The node wire's fault points (actors/net/faults.hpp in actors/peers.cpp):
// two real peers actors on one node loop talk over loopback TCP; the test
// plays the receiving node's scheduler and sees which frames arrive, when,
// and in what order.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>
#include <optional>

#include "actors/cluster_types.hpp"
#include "actors/loop.hpp"
#include "actors/net/faults.hpp"
#include "actors/peers.hpp"
#include "actors/types.hpp"

namespace trail::actors {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

struct peers_faults_test : ::testing::Test {
  peers_faults_test() {
    cfg.set("scheduler.max-threads", 2);
    cfg.set("logger.verbosity", caf::atom("quiet"));
  }

  void SetUp() override {
    loop.start();
    sender_faults.learn(2, "n2", "", "");
    receiver_faults.learn(1, "n1", "", "");
    auto a = spawn_peers(loop, "127.0.0.1", caf::actor_cast<caf::actor>(*sink), &sender_faults);
    auto b = spawn_peers(loop, "127.0.0.1", caf::actor_cast<caf::actor>(*sink), &receiver_faults);
    ASSERT_TRUE(a.ok() && b.ok());
    sender = a->first, receiver = b->first;
    receiver_address = b->second;
    caf::anon_send(sender, cluster_atom::value, std::uint64_t{1}, std::uint64_t{11});
    caf::anon_send(receiver, cluster_atom::value, std::uint64_t{2}, std::uint64_t{22});
    caf::anon_send(sender, peer_atom::value, std::uint64_t{2}, b->second);
  }

  ~peers_faults_test() override {
    for (auto& a : {sender, receiver})
      if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sink.reset();  // a live scoped actor counts as running
    sys.await_all_actors_done();
    loop.stop();
  }

  void send(std::uint64_t session) {
    caf::anon_send(sender, peer_out{2, schema::release_session{session}});
  }

  // The session of the next release_session frame the receiver hands on, or 0 after `wait`.
  std::uint64_t next(std::chrono::milliseconds wait = 5000ms) {
    std::uint64_t got = 0;
    bool done = false;
    while (!done)
      (*sink)->receive(
          [&](peer_in& m) {
            EXPECT_EQ(m.from, 1u);
            if (auto* r = std::get_if<schema::release_session>(&m.message)) got = r->session, done = true;
          },
          [&](lost_atom, std::uint64_t) {},
          caf::after(wait) >> [&] { done = true; });
    return got;
  }

  // Waits (up to 5 s) until `f` counted `n` of `what` ("dropped", "delayed"):
  // the wire actor handled the frames sent before.
  static void wait_counted(net::faults& f, const char* what, std::uint64_t n) {
    auto deadline = clock::now() + 5s;
    while (clock::now() < deadline) {
      auto j = nlohmann::json::parse(*f.arm({"list"}));
      if (j["injected"][what].get<std::uint64_t>() >= n) return;
      std::this_thread::yield();
    }
    FAIL() << "the fault points never counted " << n << " " << what;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  node_loop loop{sys};
  net::faults sender_faults{1}, receiver_faults{2};
  std::optional<caf::scoped_actor> sink{std::in_place, sys};  // the receiving node's scheduler
  caf::actor sender, receiver;
  std::string receiver_address;
};

TEST_F(peers_faults_test, UnarmedFramesArriveInOrder) {
  for (std::uint64_t s = 1; s <= 20; ++s) send(s);
  for (std::uint64_t s = 1; s <= 20; ++s) ASSERT_EQ(next(), s);
}

// A node's wire may have frames to send before the node knows its number
// (it refuses work that came before its join was answered): they wait, and
// arrive from that number, never from 0 (the coordinator's).
TEST_F(peers_faults_test, FramesSentBeforeTheNodeKnowsItsNumberWaitAndComeFromIt) {
  auto early = spawn_peers(loop, "127.0.0.1", caf::actor_cast<caf::actor>(*sink));
  ASSERT_TRUE(early.ok());
  caf::anon_send(early->first, peer_atom::value, std::uint64_t{2}, receiver_address);
  caf::anon_send(early->first, peer_out{2, schema::release_session{41}});
  caf::anon_send(early->first, cluster_atom::value, std::uint64_t{1}, std::uint64_t{33});
  EXPECT_EQ(next(), 41u);  // (next() checks that it came from node 1)
  caf::anon_send_exit(early->first, caf::exit_reason::user_shutdown);
}

TEST_F(peers_faults_test, ADelayHoldsEveryFrameAndKeepsTheirOrder) {
  ASSERT_TRUE(sender_faults.arm({"delay", "n2", "100ms"}).ok());
  auto start = clock::now();
  for (std::uint64_t s = 1; s <= 20; ++s) send(s);
  ASSERT_EQ(next(), 1u);
  EXPECT_GE(clock::now() - start, 100ms);
  for (std::uint64_t s = 2; s <= 20; ++s) ASSERT_EQ(next(), s);
  // Healed while frames are held: later frames wait behind them, never overtake.
  for (std::uint64_t s = 21; s <= 25; ++s) send(s);
  wait_counted(sender_faults, "delayed", 25);
  ASSERT_TRUE(sender_faults.arm({"heal"}).ok());
  for (std::uint64_t s = 26; s <= 30; ++s) send(s);
  for (std::uint64_t s = 21; s <= 30; ++s) ASSERT_EQ(next(), s);
}

TEST_F(peers_faults_test, ATotalLossLosesWholeFramesAndTheStreamGoesOn) {
  send(1);
  ASSERT_EQ(next(), 1u);
  ASSERT_TRUE(sender_faults.arm({"drop", "n2", "100%"}).ok());
  for (std::uint64_t s = 2; s <= 6; ++s) send(s);
  wait_counted(sender_faults, "dropped", 5);
  ASSERT_TRUE(sender_faults.arm({"heal"}).ok());
  send(7);
  EXPECT_EQ(next(), 7u) << "the lost frames never arrive; the connection still carries frames";
}

TEST_F(peers_faults_test, APartitionArmedOnTheReceiverLosesWhatArrives) {
  send(1);
  ASSERT_EQ(next(), 1u);
  ASSERT_TRUE(receiver_faults.arm({"partition", "n1"}).ok());
  for (std::uint64_t s = 2; s <= 4; ++s) send(s);
  wait_counted(receiver_faults, "dropped", 3);
  ASSERT_TRUE(receiver_faults.arm({"heal"}).ok());
  send(5);
  EXPECT_EQ(next(), 5u);
}

}  // namespace
}  // namespace trail::actors
