#include "shm/async_log.hpp"

#include <gtest/gtest.h>

#include <string>

namespace trail::shm {
namespace {

std::string contents(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  return out;
}

TEST(AsyncLog, WritesEveryLineInOrder) {
  std::FILE* f = std::tmpfile();
  {
    async_log log(f);
    for (int i = 0; i < 1000; ++i) log.post("line " + std::to_string(i));
  }
  std::string expected;
  for (int i = 0; i < 1000; ++i) expected += "line " + std::to_string(i) + "\n";
  EXPECT_EQ(contents(f), expected);
  std::fclose(f);
}

TEST(AsyncLog, BeyondItsCapacityLinesAreDroppedAndCounted) {
  std::FILE* f = std::tmpfile();
  {
    async_log log(f, 0);  // nothing may wait: every line is dropped
    log.post("a");
    log.post("b");
  }
  EXPECT_NE(contents(f).find("log lines dropped"), std::string::npos) << contents(f);
  std::fclose(f);
}

}  // namespace
}  // namespace trail::shm
