#include "actors/core/address_list.hpp"

#include <gtest/gtest.h>

namespace trail::core {
namespace {

using list = std::vector<std::string>;

TEST(split_list, EveryPieceInOrder) {
  EXPECT_EQ(split_list("127.0.0.1:7400"), list{"127.0.0.1:7400"});
  EXPECT_EQ(split_list("a:1,b:2,[::1]:3"), (list{"a:1", "b:2", "[::1]:3"}));
}

TEST(split_list, EmptyPiecesAreKeptForTheCallerToRefuse) {
  EXPECT_EQ(split_list(""), list{""});
  EXPECT_EQ(split_list("a:1,"), (list{"a:1", ""}));
  EXPECT_EQ(split_list(",,b:2"), (list{"", "", "b:2"}));
}

TEST(rotated_list, StartsAtTheGivenOneAndWrapsAround) {
  EXPECT_EQ(rotated_list("a:1,b:2,c:3", 0), "a:1,b:2,c:3");
  EXPECT_EQ(rotated_list("a:1,b:2,c:3", 1), "b:2,c:3,a:1");
  EXPECT_EQ(rotated_list("a:1,b:2,c:3", 4), "b:2,c:3,a:1");
  EXPECT_EQ(rotated_list("a:1", 3), "a:1");
}

TEST(with_more, AppendsWhatTheListLacksInOrder) {
  EXPECT_EQ(with_more("a:1", {"b:2", "a:1", "c:3", "b:2"}), "a:1,b:2,c:3");
  EXPECT_EQ(with_more("a:1,b:2", {}), "a:1,b:2");
  EXPECT_EQ(with_more("", {"b:2"}), "b:2");
  EXPECT_EQ(with_more("a:1", {""}), "a:1");
}

TEST(wildcard_address, EveryInterfaceOnly) {
  for (const char* a : {"0.0.0.0:7400", ":7400", "[::]:7400", "[]:7400"}) EXPECT_TRUE(wildcard_address(a)) << a;
  for (const char* a : {"127.0.0.1:7400", "10.0.0.1:7400", "[::1]:7400", "localhost:7400", "host0:7400"})
    EXPECT_FALSE(wildcard_address(a)) << a;
}

TEST(reachable_at, AWildcardHostBecomesTheOneReached) {
  EXPECT_EQ(reachable_at("0.0.0.0:7400", "10.0.0.1"), "10.0.0.1:7400");
  EXPECT_EQ(reachable_at("[::]:7400", "[fd00::1]"), "[fd00::1]:7400");
  EXPECT_EQ(reachable_at(":7400", "10.0.0.1"), "10.0.0.1:7400");
  EXPECT_EQ(reachable_at("10.0.0.2:7400", "10.0.0.1"), "10.0.0.2:7400") << "a real host stays";
  EXPECT_EQ(reachable_at("0.0.0.0:7400", ""), "0.0.0.0:7400") << "nothing to put there";
}

TEST(loopback_only, LoopbackAddressesAndTheNameOnly) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"}) EXPECT_TRUE(loopback_only(h)) << h;
  for (const char* h : {"0.0.0.0", "", "::", "[::]", "10.0.0.1", "128.0.0.1", "127.example.com", "example.com", "[::1"})
    EXPECT_FALSE(loopback_only(h)) << h;
}

TEST(unguarded_listener_warning, SaidForEveryHostBeyondLoopback) {
  EXPECT_EQ(unguarded_listener_warning("trail-node", "127.0.0.1"), "");
  auto w = unguarded_listener_warning("trail-node", "0.0.0.0");
  EXPECT_NE(w.find("trail-node: warning: no secret, and 0.0.0.0 is reachable from the network"), std::string::npos) << w;
  EXPECT_EQ(w.find("listening on"), std::string::npos) << "what scripts wait for: " << w;
  EXPECT_NE(w.find("--secret-file"), std::string::npos) << w;
  EXPECT_NE(unguarded_listener_warning("trail-coordinator", "").find("no secret, and every interface is reachable"), std::string::npos);
}

}  // namespace
}  // namespace trail::core
