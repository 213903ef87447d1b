// The app versions a node knows: the one catalogue (registry, scheduler and
// cluster half all ask it).
//
// Each app has a current version (what new sessions start on) until it is
// undeployed. In a cluster, older versions stay reachable by number, so that
// work of sessions started on them (sent here by other nodes) still finds
// them; standalone, an old version lives only as long as its sessions hold
// it. Versions are shared_ptrs: the last holder stops their bucket actors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/types.hpp"

namespace trail::actors::sched {

class catalogue {
 public:
  // `keep_versions`: older versions stay reachable by number (cluster).
  explicit catalogue(bool keep_versions) : keep_versions_(keep_versions) {}

  // `v` becomes its app's current version.
  void add(app_ref v);
  // The app has no current version any more (nor, in a cluster, older
  // ones). False if it had none.
  bool remove(const std::string& app);

  app_ref current(const std::string& app) const;
  app_ref version(const std::string& app, std::uint32_t version) const;
  // A current version by its node-unique id (app-scoped fires start sessions on it).
  app_ref by_uid(std::uint64_t uid) const;
  // "name vN" of each current version, by name.
  std::vector<std::string> listing() const;

 private:
  bool keep_versions_;
  std::map<std::string, app_ref> current_;
  std::unordered_map<std::uint64_t, app_ref> by_uid_;                 // current versions
  std::map<std::pair<std::string, std::uint32_t>, app_ref> versions_;  // keep_versions_ only
};

}  // namespace trail::actors::sched
