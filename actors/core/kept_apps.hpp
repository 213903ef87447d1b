// The apps a standalone node keeps across restarts (`trail-node --state-dir`):
// for each app its current version, its manifest as uploaded, and its
// libraries (as the manifest names them, and the file name of the
// content-addressed copy in the state dir). One JSON file, replaced whole on
// every change through a rename, so a node killed at any moment leaves the
// list before or after the change, never half of it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <trail/status.hpp>

namespace trail::core {

struct kept_library {
  std::string name;  // as the manifest names it
  std::string file;  // its stored copy, relative to the file's directory
};

struct kept_app {
  std::string app;
  std::uint32_t version = 0;
  std::string manifest;  // the uploaded text
  std::vector<kept_library> libraries;
};

class kept_apps {
 public:
  // Reads `file`; no file is an empty list. Errors: invalid_argument for a
  // file that is not such a list (naming the file).
  static result<kept_apps> load(std::filesystem::path file);

  const std::map<std::string, kept_app>& apps() const { return apps_; }
  // Records the app's current version (replacing the one before) and saves.
  status keep(kept_app a);
  // Forgets the app and saves. Forgetting an app not kept is no change.
  status forget(const std::string& app);

 private:
  status save() const;

  std::filesystem::path file_;
  std::map<std::string, kept_app> apps_;
};

}  // namespace trail::core
