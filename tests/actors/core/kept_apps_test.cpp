#include "actors/core/kept_apps.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "../../support/temp_dir.hpp"

namespace trail::core {
namespace {

using trail::testing::temp_dir;

kept_app app(const std::string& name, std::uint32_t version) {
  return {name, version, "app: " + name + "\n", {{"lib" + name + ".so", "0123abcd.so"}}};
}

TEST(KeptApps, NoFileIsAnEmptyList) {
  temp_dir dir;
  auto k = kept_apps::load(dir.path() / "apps.json");
  ASSERT_TRUE(k.ok()) << k.error().to_string();
  EXPECT_TRUE(k->apps().empty());
}

TEST(KeptApps, WhatIsKeptIsWhatTheNextLoadReads) {
  temp_dir dir;
  auto k = kept_apps::load(dir.path() / "apps.json");
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(k->keep(app("chain", 1)).ok());
  ASSERT_TRUE(k->keep(app("wordcount", 3)).ok());
  ASSERT_TRUE(k->keep(app("chain", 2)).ok()) << "a new version replaces the one before";
  auto again = kept_apps::load(dir.path() / "apps.json");
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  ASSERT_EQ(again->apps().size(), 2u);
  const kept_app& c = again->apps().at("chain");
  EXPECT_EQ(c.version, 2u);
  EXPECT_EQ(c.manifest, "app: chain\n");
  ASSERT_EQ(c.libraries.size(), 1u);
  EXPECT_EQ(c.libraries[0].name, "libchain.so");
  EXPECT_EQ(c.libraries[0].file, "0123abcd.so");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "apps.json.tmp")) << "written through a rename";
}

TEST(KeptApps, AForgottenAppIsNotReadBack) {
  temp_dir dir;
  auto k = kept_apps::load(dir.path() / "apps.json");
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(k->keep(app("chain", 1)).ok());
  ASSERT_TRUE(k->keep(app("join", 1)).ok());
  ASSERT_TRUE(k->forget("chain").ok());
  ASSERT_TRUE(k->forget("never-kept").ok());
  auto again = kept_apps::load(dir.path() / "apps.json");
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->apps().size(), 1u);
  EXPECT_TRUE(again->apps().contains("join"));
}

TEST(KeptApps, AFileItDidNotWriteIsAClearError) {
  temp_dir dir;
  for (std::string text : {"not json", "{\"apps\": 3}", "{\"apps\": [{\"app\": \"a\"}]}", "[]"}) {
    std::ofstream(dir.path() / "apps.json") << text;
    auto k = kept_apps::load(dir.path() / "apps.json");
    ASSERT_FALSE(k.ok()) << text;
    EXPECT_EQ(k.error().code(), errc::invalid_argument) << text;
    EXPECT_NE(k.error().message().find("apps.json"), std::string::npos) << k.error().to_string();
  }
}

TEST(KeptApps, AFailedSaveIsAnErrorNotASilentLoss) {
  temp_dir dir;
  auto k = kept_apps::load(dir.path() / "missing-dir" / "apps.json");
  ASSERT_TRUE(k.ok());
  status s = k->keep(app("chain", 1));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("apps.json"), std::string::npos) << s.to_string();
}

}  // namespace
}  // namespace trail::core
