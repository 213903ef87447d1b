// Loud checks that stay on in release builds (kj/debug.h style), for trail's
// own code at every layer (not part of the function SDK).
//   TRAIL_ASSERT(cond, values...)   a bug in trail itself
//   TRAIL_REQUIRE(cond, values...)  the caller broke a precondition
// Both print the condition, the location and the values, then abort.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace trail::detail {

template <class... Ts>
[[noreturn]] void check_failed(const char* kind, const char* cond, const char* file, int line,
                               const Ts&... values) {
  std::ostringstream os;
  os << kind << " failed: " << cond << " at " << file << ":" << line;
  if constexpr (sizeof...(values) > 0) {
    os << " —";
    ((os << ' ' << values), ...);
  }
  std::fprintf(stderr, "%s\n", os.str().c_str());
  std::abort();
}

}  // namespace trail::detail

#define TRAIL_ASSERT(cond, ...)                                                          \
  do {                                                                                   \
    if (__builtin_expect(!(cond), 0))                                                    \
      ::trail::detail::check_failed("assertion", #cond, __FILE__, __LINE__ __VA_OPT__(, ) \
                                        __VA_ARGS__);                                    \
  } while (0)

#define TRAIL_REQUIRE(cond, ...)                                                           \
  do {                                                                                     \
    if (__builtin_expect(!(cond), 0))                                                      \
      ::trail::detail::check_failed("requirement", #cond, __FILE__, __LINE__ __VA_OPT__(, ) \
                                        __VA_ARGS__);                                      \
  } while (0)
