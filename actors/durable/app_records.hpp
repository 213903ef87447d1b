// How a coordinator keeps its deployed apps in etcd, so that they outlive
// it (README "Coordinators and etcd"):
//
//   trail/apps/<app>                        the app's record (JSON): version, manifest, and
//                                           each library's name, size and chunk count
//   trail/libs/<app>/v<N>/<lib>/<chunk>     a library's bytes, in chunks (etcd caps a
//                                           request at 1.5 MiB)
//   trail/versions/<app>                    the latest version number ever given
//
// A deploy writes the chunks first and the record last, so a record always
// names chunks that are there; a record whose chunks do not add up is
// skipped with an error (never half an app).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <trail/status.hpp>

#include "actors/durable/etcd.hpp"

namespace trail::durable {

inline constexpr std::size_t library_chunk = 768u << 10;

struct stored_app {
  std::string app;
  std::uint32_t version = 0;
  std::string manifest;
  std::vector<std::string> names, bytes;  // each library as the manifest names it, and its bytes
};

// -- pure: keys and records -------------------------------------------------------------
std::string app_key(const std::string& app);
std::string version_key(const std::string& app);
std::string library_prefix(const std::string& app, std::uint32_t version);
std::string chunk_key(const std::string& app, std::uint32_t version, std::size_t library, std::size_t chunk);
std::string encode_record(const stored_app& a);  // without the bytes: their sizes and chunk counts
struct record {
  std::string app;
  std::uint32_t version = 0;
  std::string manifest;
  std::vector<std::string> names;
  std::vector<std::uint64_t> sizes, chunks;
};
result<record> decode_record(const std::string& text);
// The libraries of `r` from its chunks (kvs under library_prefix, in key order).
result<std::vector<std::string>> join_libraries(const record& r, const std::vector<kv>& chunks);

// -- against etcd -------------------------------------------------------------------------
status save_app(etcd& db, const stored_app& a);
status forget_app(etcd& db, const std::string& app);
// Every kept app; `skipped` gets one line per record that could not be read back.
result<std::vector<stored_app>> load_apps(etcd& db, std::vector<std::string>& skipped);
// The latest version number ever given to each app (also of undeployed ones).
result<std::vector<std::pair<std::string, std::uint32_t>>> load_versions(etcd& db);

}  // namespace trail::durable
