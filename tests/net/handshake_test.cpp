// The members' handshake (actors/net/handshake.hpp): the pure core, byte by
// byte, and the blocking runner over real loopback sockets.
#include "actors/net/handshake.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace trail::net {
namespace {

using namespace std::chrono_literals;
using side = member_handshake::side;

key key_of(char c) { return key{std::string(64, c)}; }

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// Moves one side's pending output into the other; returns the other's error, if any.
status pass(member_handshake& from, member_handshake& to, std::string tail = {}) {
  std::string wire = std::exchange(from.output(), {}) + tail;
  auto used = to.feed(bytes_of(wire));
  if (!used) return used.error();
  EXPECT_EQ(*used, wire.size() - tail.size()) << "the handshake took bytes that were a frame's";
  return {};
}

TEST(member_handshake, SameSecretCompletesInThreeMessagesAndLeavesTheFirstFrameAlone) {
  member_handshake d(side::dialer, key_of('a')), a(side::acceptor, key_of('a'));
  EXPECT_EQ(d.output().size(), member_handshake::greeting_bytes);
  EXPECT_TRUE(a.output().empty());
  ASSERT_TRUE(pass(d, a).ok());
  EXPECT_EQ(a.output().size(), member_handshake::answer_bytes);
  ASSERT_TRUE(pass(a, d).ok());
  EXPECT_TRUE(d.done());
  EXPECT_FALSE(a.done());
  ASSERT_TRUE(pass(d, a, "first frame").ok());  // the proof, with a frame right behind it
  EXPECT_TRUE(a.done());
  EXPECT_EQ(a.wanted(), 0u);
}

TEST(member_handshake, BytesMayArriveOneAtATime) {
  member_handshake d(side::dialer, key_of('a')), a(side::acceptor, key_of('a'));
  auto trickle = [](member_handshake& from, member_handshake& to) {
    std::string wire = std::exchange(from.output(), {});
    for (char c : wire) {
      auto used = to.feed(bytes_of(std::string(1, c)));
      ASSERT_TRUE(used.ok());
      ASSERT_EQ(*used, 1u);
    }
  };
  trickle(d, a);
  trickle(a, d);
  trickle(d, a);
  EXPECT_TRUE(d.done());
  EXPECT_TRUE(a.done());
}

TEST(member_handshake, ADialerWithAnotherSecretIsRefusedAndLearnsTheAcceptorIsNotItsPeer) {
  member_handshake d(side::dialer, key_of('a')), a(side::acceptor, key_of('b'));
  ASSERT_TRUE(pass(d, a).ok());
  status st = pass(a, d);  // the acceptor's proof fails the dialer's check first
  EXPECT_EQ(st.code(), errc::invalid_argument);
  EXPECT_NE(st.message().find("did not prove"), std::string::npos) << st.message();
  EXPECT_FALSE(d.done());
}

TEST(member_handshake, AnAcceptorRefusesAProofMadeWithAnotherSecret) {
  member_handshake d(side::dialer, key_of('a')), a(side::acceptor, key_of('a'));
  ASSERT_TRUE(pass(d, a).ok());
  ASSERT_TRUE(pass(a, d).ok());
  std::string forged = d.output();
  forged[0] = static_cast<char>(forged[0] ^ 1);
  auto used = a.feed(bytes_of(forged));
  ASSERT_FALSE(used.ok());
  EXPECT_NE(used.error().message().find("wrong proof"), std::string::npos);
  EXPECT_FALSE(a.done());
}

TEST(member_handshake, ARecordedHandshakeReplayedToANewAcceptorIsRefused) {
  member_handshake d(side::dialer, key_of('a')), a(side::acceptor, key_of('a'));
  std::string greeting = d.output();
  ASSERT_TRUE(pass(d, a).ok());
  ASSERT_TRUE(pass(a, d).ok());
  std::string proof = d.output();
  ASSERT_TRUE(pass(d, a).ok());
  ASSERT_TRUE(a.done());

  member_handshake again(side::acceptor, key_of('a'));  // a fresh nonce of its own
  ASSERT_TRUE(again.feed(bytes_of(greeting)).ok());
  auto used = again.feed(bytes_of(proof));
  ASSERT_FALSE(used.ok());
  EXPECT_EQ(used.error().code(), errc::invalid_argument);
}

TEST(member_handshake, TheAcceptorsOwnProofSentBackIsNotADialersProof) {
  member_handshake a(side::acceptor, key_of('a'));
  member_handshake d(side::dialer, key_of('a'));
  ASSERT_TRUE(pass(d, a).ok());
  std::string answer = a.output();  // nonce | server proof: mirror its proof back
  auto used = a.feed(bytes_of(answer.substr(32)));
  EXPECT_FALSE(used.ok());
}

TEST(member_handshake, AStrangerIsRefusedAtItsFirstByte) {
  member_handshake a(side::acceptor, key_of('a'));
  auto used = a.feed(bytes_of("\x10\0\0\0"));  // a frame's length prefix, as a peer without the secret sends
  ASSERT_FALSE(used.ok());
  EXPECT_NE(used.error().message().find("not a cluster member"), std::string::npos);
  member_handshake b(side::acceptor, key_of('a'));
  EXPECT_TRUE(b.feed(bytes_of("trail")).ok());  // a right prefix waits for more
  EXPECT_EQ(b.wanted(), member_handshake::greeting_bytes - 5);
}

// The blocking runner over loopback: both ends at once.
std::pair<status, status> over_loopback(const key& dialer, const key& acceptor) {
  stop_signal stop;
  io_limits io{&stop, 5s};
  auto l = listen_on("127.0.0.1", 0);
  EXPECT_TRUE(l.ok());
  auto accepted = std::async(std::launch::async, [&] {
    auto s = accept_from(*l, stop);
    if (!s) return s.error();
    return accept_handshake(*s, io, acceptor);
  });
  auto s = connect_to(l->local_address(), io);
  EXPECT_TRUE(s.ok());
  status dialed = dial_handshake(*s, io, dialer);
  s->close();  // a refused dialer's acceptor must not wait for a proof
  return {dialed, accepted.get()};
}

TEST(member_handshake, RunsOverRealSockets) {
  auto [d, a] = over_loopback(key_of('a'), key_of('a'));
  EXPECT_TRUE(d.ok()) << d.to_string();
  EXPECT_TRUE(a.ok()) << a.to_string();
  auto [d2, a2] = over_loopback(key_of('a'), key_of('c'));
  EXPECT_EQ(d2.code(), errc::invalid_argument) << d2.to_string();
  EXPECT_FALSE(a2.ok());
}

}  // namespace
}  // namespace trail::net
