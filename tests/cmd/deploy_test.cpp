// Bad manifests are rejected with clear errors, and the node keeps serving.
#include <fstream>

#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "actors/registry.hpp"
#include "node_fixture.hpp"
#include "raw_client.hpp"

namespace trail::testing {
namespace {

namespace fs = std::filesystem;

class deploy_test : public node_test {
 protected:
  // The manifests' directory, with a copy of the chain example's library in
  // it, exists before any test body builds a path from it.
  void SetUp() override {
    node_test::SetUp();
    fs::copy_file(examples_dir + "/chain/libchain.so", dir_.path() / "libchain.so");
  }
  // Writes `yaml` as a manifest in dir().
  std::string manifest(const std::string& yaml) {
    return dir_.write("m" + std::to_string(n_++) + ".yaml", yaml).string();
  }
  const fs::path& dir() const { return dir_.path(); }

  temp_dir dir_;
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
                    "  - { name: first }\n  - { name: second, library: " + (dir() / "libchain.so").string() + " }\n"
                    "  - { name: third, library: ../" + dir().filename().string() + "/libchain.so }\n"
                    "buckets:\n  - { name: a, triggers: [ { type: immediate, target: second } ] }\n"
                    "  - { name: b, triggers: [ { type: immediate, target: third } ] }\n");
  auto r = client_->deploy(m);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto out = client_->invoke("t", {"abs", "rel"}, 30s);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->output, "<ABS REL>");
}

// The node checks what a deploy names and carries where it lands, not only the
// client library: a deploy sent straight to its wire with an unsafe app or
// bucket name, or a library one byte over the limit, is refused clearly and
// deploys nothing.
TEST_F(deploy_test, TheNodeItselfRefusesUnsafeNamesAndOversizeLibraries) {
  std::ifstream in(examples_dir + "/chain/libchain.so", std::ios::binary);
  const std::string lib{std::istreambuf_iterator<char>(in), {}};
  ASSERT_FALSE(lib.empty());
  const std::string uploaded = (fs::path(actors::upload_root) / "libchain.so").string();
  raw_client raw(address_);
  raw.send(request(schema::client_request::kind::hello, 1));
  ASSERT_TRUE(raw.receive().ok());
  std::uint64_t id = 1;
  auto deploy_raw = [&](const std::string& manifest, std::string bytes) {
    auto q = request(schema::client_request::kind::deploy, ++id);
    q.manifest = manifest;
    q.names = {uploaded};
    q.libraries = {std::move(bytes)};
    raw.send(std::move(q));
    return raw.receive();
  };
  const std::string fns = "library: libchain.so\nentry: first\nfunctions:\n  - { name: first }\n";
  const std::vector<std::pair<std::string, std::string>> unsafe{
      {"app: ..\n" + fns, "\"..\""},
      {"app: a/b\n" + fns, "\"a/b\""},
      {"app: \"a\\0b\"\n" + fns, "\"a\\x00b\""},
      {"app: t\n" + fns + "buckets:\n  - name: x/y\n", "\"x/y\""},
      {"app: t\n" + fns + "buckets:\n  - name: ..\n", "\"..\""},
      {"app: t\n" + fns + "buckets:\n  - name: \"a\\0b\"\n", "\"a\\x00b\""},
  };
  for (auto& [yaml, says] : unsafe) {
    auto r = deploy_raw(yaml, lib);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ(r->what, schema::client_reply::kind::error) << "deployed:\n" << yaml;
    EXPECT_EQ(r->error.code(), errc::invalid_argument) << r->error.to_string();
    EXPECT_NE(r->error.message().find(says), std::string::npos) << r->error.message() << "\nfor:\n" << yaml;
  }
  auto big = deploy_raw("app: t\n" + fns, std::string(actors::max_library_bytes + 1, '\x7f'));
  ASSERT_TRUE(big.ok()) << big.error().to_string();
  ASSERT_EQ(big->what, schema::client_reply::kind::error);
  EXPECT_EQ(big->error.code(), errc::invalid_argument);
  EXPECT_NE(big->error.message().find("larger than " + std::to_string(actors::max_library_bytes)), std::string::npos)
      << big->error.message();
  auto apps = client_->apps();
  ASSERT_TRUE(apps.ok()) << apps.error().to_string();
  EXPECT_TRUE(apps->empty()) << "nothing was deployed";
  deploy("chain");
  auto ok = client_->invoke("chain", {"still", "serving"}, 30s);
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
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
  dir_.write("fake.so", "not a library");
  auto r = client_->deploy(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("fake.so"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace trail::testing
