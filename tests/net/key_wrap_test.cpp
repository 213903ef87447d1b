// Sealing a key under the cluster's secret (net::wrap_key): what a
// coordinator hands its nodes opens with the same secret only, and not once
// changed on the way; two seals of one key differ (a fresh IV each).
#include <gtest/gtest.h>

#include "actors/net/auth.hpp"

namespace trail::net {
namespace {

key random_key() { return key{fresh_nonce()}; }

TEST(KeyWrap, OpensWithTheSameSecretOnly) {
  key secret = random_key(), token = random_key();
  std::string sealed = wrap_key(secret, token);
  EXPECT_EQ(sealed.find(token.bytes), std::string::npos) << "the token is in the clear";
  auto opened = unwrap_key(secret, sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->bytes, token.bytes);
  auto other = unwrap_key(random_key(), sealed);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), errc::invalid_argument);
  EXPECT_NE(wrap_key(secret, token), sealed) << "the same IV twice";
}

TEST(KeyWrap, AChangedOrTruncatedSealIsRefused) {
  key secret = random_key(), token = random_key();
  std::string sealed = wrap_key(secret, token);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string changed = sealed;
    changed[i] = static_cast<char>(changed[i] ^ 1);
    EXPECT_FALSE(unwrap_key(secret, changed).ok()) << "byte " << i;
  }
  for (std::size_t n : {std::size_t{0}, std::size_t{28}, sealed.size() - 1})
    EXPECT_FALSE(unwrap_key(secret, sealed.substr(0, n)).ok()) << n << " bytes";
}

}  // namespace
}  // namespace trail::net
