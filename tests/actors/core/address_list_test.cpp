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

}  // namespace
}  // namespace trail::core
