// The app manifest (issue 3 §4): the model, its YAML parser and validator.
//
// Pure: no CAF, no shared memory, and libraries are never loaded —
// `check_libraries` reads their ELF symbol tables as plain files.
//
// Every error is `invalid_argument` (or `not_found` for missing files) and
// names the field's path and quotes the offending value, with the YAML
// position when known:
//   manifest line 7, column 9: buckets[0].triggers[0].type: unknown trigger
//   type "by_size" (expected one of: immediate, by_name, ...)
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <trail/status.hpp>

#include "actors/core/trigger.hpp"

namespace trail::core {

// Limits enforced by the parser.
inline constexpr std::uint32_t max_timeout_ms = 24 * 3600 * 1000;  // one day
inline constexpr std::uint32_t max_retries = 100;
inline constexpr std::size_t max_app_name = 128;               // characters
inline constexpr std::uintmax_t max_manifest_bytes = 1 << 20;  // load_manifest, parse_manifest

// One function of an app.
struct function_spec {
  std::string name;                  // a C identifier: the library exports `trail_function_<name>`
  std::string library;               // absolute, lexically normal path; the function's own
                                     // `library:` overrides the app's; relative paths are
                                     // taken from the manifest's directory
  std::uint32_t timeout_ms = 30000;  // per attempt, 1..max_timeout_ms
  std::uint32_t retries = 2;         // re-runs after the first attempt, 0..max_retries
  std::string node;                  // placement hint (`node: n2`); empty: anywhere
};

// A bucket and the triggers watching it.
struct bucket_spec {
  std::string name;                    // non-empty, no NUL; unique within the app
  std::vector<trigger_spec> triggers;  // each passes core::validate(); targets
                                       // name functions of the app; at most one
                                       // dynamic_group or dynamic_join
  // `keep: app`: every object sealed into the bucket, by any session, is also
  // kept in the app's scope (read back with `trail get`, kept until undeploy,
  // first seal of a key wins) -- how a function publishes results.
  bool keep_app = false;
};

// A parsed and validated manifest. Invariants after parse_manifest: names
// are unique (functions, buckets, and trigger names app-wide); `entry` and
// every trigger target name a function; every trigger has a name (default
// "<bucket>/<index>").
struct app_manifest {
  std::string app;                       // [A-Za-z0-9_.-]+, not "." or "..", at most max_app_name
  std::string entry;                     // the function `trail invoke` starts
  std::vector<function_spec> functions;  // non-empty, in manifest order
  std::vector<bucket_spec> buckets;      // in manifest order; may be empty

  // The function called `name`; nullptr when there is none. The pointer
  // lives as long as `functions` is not modified.
  const function_spec* function(std::string_view name) const;
};

// Parses and validates `yaml_text`; relative library paths are resolved
// against `manifest_dir` (itself made absolute against the current directory).
// Errors start with "manifest".
result<app_manifest> parse_manifest(std::string_view yaml_text,
                                    const std::filesystem::path& manifest_dir);

// Reads `file` (at most max_manifest_bytes) and parses it with the file's
// directory as manifest_dir. Errors start with `manifest "<file>"`.
result<app_manifest> load_manifest(const std::filesystem::path& file);

// Checks that every function's library exists, is an ELF64 shared object for
// this machine and exports `trail_function_<name>`. Reads the dynamic symbol
// table with plain file I/O; never loads the library. Errors name the
// function's path (functions[i]) and quote the library path.
status check_libraries(const app_manifest& m);

}  // namespace trail::core
