// Every example app, deployed on a real standalone node and invoked as its
// README says, gives the output its README promises — through real executor
// processes and the real actors.
#include <fstream>
#include <sstream>

#include "node_fixture.hpp"

namespace trail::testing {
namespace {

struct readme {
  std::vector<std::string> invoke;  // app, args...
  std::string expected;
};

readme read_readme(const std::string& name) {
  std::ifstream in(std::string(TRAIL_EXAMPLES_SOURCE_DIR) + "/" + name + "/README.md");
  readme r;
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("Invoke: trail invoke ")) {
      std::istringstream words(line.substr(21));
      for (std::string w; words >> w;) r.invoke.push_back(w);
    } else if (line.starts_with("Expected output: ")) {
      r.expected = line.substr(17);
    }
  }
  return r;
}

class example_test : public node_test, public ::testing::WithParamInterface<std::string> {};

TEST_P(example_test, RunsEndToEndWithTheDocumentedOutput) {
  auto r = read_readme(GetParam());
  ASSERT_FALSE(r.invoke.empty()) << "README has no Invoke: line";
  deploy(GetParam());
  std::vector<std::string> args(r.invoke.begin() + 1, r.invoke.end());
  auto out = client_->invoke(r.invoke[0], args, 30s);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->output, r.expected);
}

INSTANTIATE_TEST_SUITE_P(Examples, example_test,
                         ::testing::Values("chain", "fanout", "batch", "window", "kofn", "wordcount", "join",
                                           "byname"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace trail::testing
