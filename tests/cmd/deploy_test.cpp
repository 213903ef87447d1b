// Bad manifests are rejected with clear errors, and the node keeps serving.
#include <fstream>

#include <nlohmann/json.hpp>

#include "node_fixture.hpp"

namespace trail::testing {
namespace {

namespace fs = std::filesystem;

class deploy_test : public node_test {
 protected:
  // Writes `yaml` as a manifest beside a copy of the chain example's library.
  std::string manifest(const std::string& yaml) {
    dir_ = fs::temp_directory_path() / ("trail-deploy-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    fs::copy_file(examples_dir + "/chain/libchain.so", dir_ / "libchain.so", fs::copy_options::overwrite_existing);
    auto path = dir_ / ("m" + std::to_string(n_++) + ".yaml");
    std::ofstream(path) << yaml;
    return path.string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    node_test::TearDown();
  }
  fs::path dir_;
  int n_ = 0;
};

const std::string good_head =
    "app: t\nlibrary: libchain.so\nentry: first\nfunctions:\n  - { name: first }\n  - { name: second }\n";

struct bad_case {
  std::string yaml;
  std::vector<std::string> says;  // all must appear in the error
};

TEST_F(deploy_test, AtLeastTenKindsOfBadManifestAreRejectedClearly) {
  std::vector<bad_case> cases{
      {"app: t\n  entry: [oops\n", {"line"}},
      {good_head + "buckets:\n  - name: a\n    triggers:\n      - { type: by_size, target: second }\n",
       {"buckets[0].triggers[0].type", "\"by_size\""}},
      {good_head + "buckets:\n  - name: a\n    triggers:\n      - { type: immediate }\n", {"target"}},
      {good_head + "buckets:\n  - name: a\n    triggers:\n      - { type: immediate, target: scond }\n",
       {"\"scond\""}},
      {good_head + "buckets:\n  - name: a\n    triggers:\n      - { type: by_batch_size, count: 0, target: second }\n",
       {"count", "\"0\""}},
      {good_head + "buckets:\n  - name: a\n    triggers:\n      - { type: immediate, target: second, colour: red }\n",
       {"colour"}},
      {good_head + "buckets:\n  - name: a\n    triggers:\n      - { type: by_set, keys: [x], target: second, scope: app }\n",
       {"scope", "\"app\""}},
      {"app: t\nlibrary: libnothere.so\nentry: first\nfunctions:\n  - { name: first }\n", {"libnothere.so"}},
      {"app: t\nlibrary: libchain.so\nentry: fourth\nfunctions:\n  - { name: fourth }\n", {"fourth"}},
      {"app: t\nlibrary: libchain.so\nentry: first\nfunctions:\n  - { name: first }\n  - { name: first }\n",
       {"duplicate", "\"first\""}},
      {"app: t\nlibrary: libchain.so\nfunctions:\n  - { name: first }\n", {"entry"}},
      {"app: t\nlibrary: libchain.so\nentry: nope\nfunctions:\n  - { name: first }\n", {"\"nope\""}},
      {good_head + "buckets:\n  - name: a\n    triggers:\n      - { type: redundant, k: 3, n: 2, target: second }\n",
       {"k"}},
      {"app: t\nlibrary: libchain.so\nentry: first\nfunctions:\n  - { name: first, timeout_ms: soon }\n",
       {"timeout_ms", "\"soon\""}},
  };
  for (auto& c : cases) {
    auto r = client_->deploy(manifest(c.yaml));
    ASSERT_FALSE(r.ok()) << "accepted:\n" << c.yaml;
    for (auto& part : c.says)
      EXPECT_NE(r.error().message().find(part), std::string::npos)
          << "error lacks '" << part << "': " << r.error().message() << "\nfor:\n" << c.yaml;
  }
  deploy("chain");
  auto ok = client_->invoke("chain", {"still", "serving"}, 30s);
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok->output, "<STILL SERVING>");
}

TEST_F(deploy_test, LibrariesMayBeNamedByAbsoluteOrRelativePaths) {
  auto m = manifest("app: t\nlibrary: libchain.so\nentry: first\nfunctions:\n"
                    "  - { name: first }\n  - { name: second, library: " + (dir_ / "libchain.so").string() + " }\n"
                    "  - { name: third, library: ../" + dir_.filename().string() + "/libchain.so }\n"
                    "buckets:\n  - { name: a, triggers: [ { type: immediate, target: second } ] }\n"
                    "  - { name: b, triggers: [ { type: immediate, target: third } ] }\n");
  auto r = client_->deploy(m);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto out = client_->invoke("t", {"abs", "rel"}, 30s);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->output, "<ABS REL>");
}

// Objects held by app-scoped trigger state outlive their sessions, but not
// their app: after an undeploy with nothing in flight, the store is empty.
TEST_F(deploy_test, UndeployReleasesWhatAppScopedTriggersHeld) {
  auto m = manifest(good_head + "buckets:\n  - name: a\n    triggers:\n"
                                "      - { type: by_batch_size, count: 3, scope: app, target: second }\n");
  ASSERT_TRUE(client_->deploy(m).ok());
  auto objects = [&] {
    auto s = client_->status_json();
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    return s.ok() ? nlohmann::json::parse(*s)["store"]["objects"].get<int>() : -1;
  };
  auto r = client_->invoke("t", {"held"}, 30s);
  ASSERT_FALSE(r.ok()) << "the entry writes but never outputs";
  EXPECT_NE(r.error().message().find("no output"), std::string::npos) << r.error().message();
  EXPECT_EQ(objects(), 1) << "the batch holds the object of an ended session";
  ASSERT_TRUE(client_->undeploy("t").ok());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (objects() != 0 && std::chrono::steady_clock::now() < deadline) {
  }
  EXPECT_EQ(objects(), 0) << "the retired version's bucket released it";
}

TEST_F(deploy_test, ALibraryThatIsNotAnElfIsRejected) {
  auto path = manifest("app: t\nlibrary: fake.so\nentry: f\nfunctions:\n  - { name: f }\n");
  std::ofstream(dir_ / "fake.so") << "not a library";
  auto r = client_->deploy(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("fake.so"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace trail::testing
