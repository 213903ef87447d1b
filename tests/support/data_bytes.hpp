// Bytes for data in/out tests: deterministic payloads and the FNV-1a
// checksum the `digest` test function (tests/apps/flaky) computes.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <streambuf>
#include <string>
#include <string_view>

#include <trail/status.hpp>

namespace trail::testing {

// FNV-1a 64, as the `digest` test function computes it.
struct fnv1a {
  std::uint64_t h = 14695981039346656037ull;
  void add(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<std::uint8_t>(p[i])) * 1099511628211ull;
  }
  std::string hex() const {
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
  }
};

inline std::string checksum(std::string_view s) {
  fnv1a f;
  f.add(s.data(), s.size());
  return f.hex();
}

// Takes what a get writes and keeps only its size and checksum.
class checksum_buf : public std::streambuf {
 public:
  fnv1a sum;
  std::uint64_t size = 0;

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    sum.add(s, static_cast<std::size_t>(n));
    size += static_cast<std::uint64_t>(n);
    return n;
  }
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    char ch = traits_type::to_char_type(c);
    return xsputn(&ch, 1), c;
  }
};

// `n` bytes, each a function of its offset and the seed.
inline std::string payload(std::size_t n, std::uint64_t seed) {
  std::string out(n, '\0');
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(out.data() + i, &x, 8);
  }
  for (std::size_t i = n - n % 8; i < n; ++i) out[i] = static_cast<char>(i * 31 + seed);
  return out;
}

// The app those tests deploy (tests/apps/flaky/data.yaml).
inline const std::string data_manifest = std::string(TRAIL_TEST_APPS_DIR) + "/flaky/data.yaml";

// `r` failed with `code`, saying `says`.
template <class T>
void expect_error(const result<T>& r, errc code, const std::string& says) {
  ASSERT_FALSE(r.ok()) << "expected " << to_string(code) << " saying '" << says << "'";
  EXPECT_EQ(r.error().code(), code) << r.error().to_string();
  EXPECT_NE(r.error().message().find(says), std::string::npos) << r.error().to_string();
}

}  // namespace trail::testing
