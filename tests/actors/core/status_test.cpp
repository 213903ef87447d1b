// The one error vocabulary (include/trail/status.hpp): how a failure is told.
#include <trail/status.hpp>

#include <set>
#include <string_view>

#include <gtest/gtest.h>

namespace trail {
namespace {

TEST(Status, EveryCodeHasItsOwnName) {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(last_errc); ++c) names.insert(to_string(static_cast<errc>(c)));
  EXPECT_EQ(names.size(), static_cast<std::size_t>(last_errc) + 1);
  EXPECT_EQ(to_string(errc::deadline_exceeded), "deadline exceeded");
  EXPECT_EQ(status::app_error("function 'f' threw").to_string(), "app error: function 'f' threw");
}

TEST(Status, PrefixedKeepsTheCodeAndSaysWhatWasBeingDone) {
  auto s = status::overloaded("store full").prefixed("put of b/k");
  EXPECT_EQ(s.code(), errc::overloaded);
  EXPECT_EQ(s.message(), "put of b/k: store full");
  EXPECT_TRUE(status{}.prefixed("put of b/k").ok()) << "ok stays ok";
}

}  // namespace
}  // namespace trail
