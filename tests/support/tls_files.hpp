// A cluster's TLS files for a test, made by scripts/tls-certs (as a user
// makes them) in a temp dir: ca.pem, and per name NAME.pem and NAME.key.
// other_ca() is a second, unrelated CA, for certificates no one should trust.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace trail::testing {

class tls_files {
 public:
  explicit tls_files(const std::vector<std::string>& names = {"trail"}) {
    make(dir_.path() / "cluster", names);
    make(dir_.path() / "other", {"stranger"});
  }
  std::filesystem::path ca() const { return dir_.path() / "cluster" / "ca.pem"; }
  std::filesystem::path cert(const std::string& name = "trail") const { return dir_.path() / "cluster" / (name + ".pem"); }
  std::filesystem::path key(const std::string& name = "trail") const { return dir_.path() / "cluster" / (name + ".key"); }
  std::filesystem::path other_ca() const { return dir_.path() / "other" / "ca.pem"; }
  std::filesystem::path stranger_cert() const { return dir_.path() / "other" / "stranger.pem"; }
  std::filesystem::path stranger_key() const { return dir_.path() / "other" / "stranger.key"; }

 private:
  static void make(const std::filesystem::path& dir, const std::vector<std::string>& names) {
    std::string cmd = std::string("'") + TRAIL_SCRIPTS_DIR + "/tls-certs' '" + dir.string() + "'";
    for (auto& n : names) cmd += " '" + n + "'";
    cmd += " >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  temp_dir dir_;
};

}  // namespace trail::testing
