// registry actor: a node's deployments, and the front door of a standalone
// node (its gateway speaks for it; see the client protocol in types.hpp).
//
// It stores uploaded libraries content-addressed (a library is never
// overwritten while an executor may have it mapped), numbers versions,
// spawns a bucket actor per bucket with triggers, and hands each new version
// to the scheduler, which keeps the catalogue: invocations start on the
// current version, so a redeploy only affects sessions that start after it.
// Invocations, results, status, apps, undeploys, puts and gets go to the scheduler.
//
// With a kept-apps file, each standalone deploy and undeploy is recorded
// there before it is answered, and the apps listed are deployed again (same
// versions, same stored libraries) when the registry starts.
#pragma once

#include <filesystem>

#include <caf/all.hpp>

#include "actors/loop.hpp"
#include "actors/types.hpp"

namespace trail::actors {

// The largest library a deploy may upload (a node's and a coordinator's limit).
inline constexpr std::size_t max_library_bytes = 256u << 20;

struct registry_options {
  std::filesystem::path library_dir;  // where uploaded libraries are stored (created)
  std::size_t max_library_bytes = trail::actors::max_library_bytes;
  // Where a standalone node lists its deployed apps, to deploy them again when
  // it starts with the same state dir (core/kept_apps.hpp); empty: nowhere.
  std::filesystem::path kept_apps_file;
};

// Stores uploaded libraries content-addressed under `dir` and parses the
// manifest against them (functions' libraries resolved to the stored copies,
// their exports checked without loading them). Errors name libraries as the
// user did.
result<core::app_manifest> prepare_upload(const std::filesystem::path& dir, std::size_t max_library_bytes,
                                          const std::string& manifest, const std::vector<std::string>& names,
                                          const std::vector<std::string>& bytes);

// Spawns the registry on `loop` (its bucket actors run there too).
caf::actor spawn_registry(node_loop& loop, registry_options opts, caf::actor scheduler);

}  // namespace trail::actors
