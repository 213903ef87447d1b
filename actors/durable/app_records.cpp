#include "actors/durable/app_records.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace trail::durable {
namespace {

using json = nlohmann::json;

const std::string apps_prefix = "trail/apps/", versions_prefix = "trail/versions/", libs_prefix = "trail/libs/";

}  // namespace

std::string app_key(const std::string& app) { return apps_prefix + app; }
std::string version_key(const std::string& app) { return versions_prefix + app; }
std::string library_prefix(const std::string& app, std::uint32_t version) {
  return libs_prefix + app + "/v" + std::to_string(version) + "/";
}
std::string chunk_key(const std::string& app, std::uint32_t version, std::size_t library, std::size_t chunk) {
  char tail[48];
  std::snprintf(tail, sizeof tail, "%04zu/%08zu", library, chunk);  // fixed width: key order is chunk order
  return library_prefix(app, version) + tail;
}

std::string encode_record(const stored_app& a) {
  json libs = json::array();
  for (std::size_t i = 0; i < a.names.size(); ++i) {
    std::uint64_t size = a.bytes[i].size();
    libs.push_back({{"name", a.names[i]}, {"size", size}, {"chunks", (size + library_chunk - 1) / library_chunk}});
  }
  return json{{"app", a.app}, {"version", a.version}, {"manifest", a.manifest}, {"libraries", libs}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

result<record> decode_record(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j["app"].is_string() || !j["version"].is_number_unsigned() || !j["manifest"].is_string() ||
      !j["libraries"].is_array())
    return status::invalid("not an app record");
  record r;
  r.app = j["app"];
  r.version = j["version"];
  r.manifest = j["manifest"];
  for (auto& l : j["libraries"]) {
    if (!l.is_object() || !l["name"].is_string() || !l["size"].is_number_unsigned() || !l["chunks"].is_number_unsigned())
      return status::invalid("an app record with a malformed library entry");
    r.names.push_back(l["name"]);
    r.sizes.push_back(l["size"]);
    r.chunks.push_back(l["chunks"]);
  }
  return r;
}

result<std::vector<std::string>> join_libraries(const record& r, const std::vector<kv>& chunks) {
  std::vector<std::string> out(r.names.size());
  std::vector<std::uint64_t> seen(r.names.size(), 0);
  for (auto& c : chunks) {
    bool mine = false;
    for (std::size_t i = 0; i < r.names.size() && !mine; ++i)
      if (c.key == chunk_key(r.app, r.version, i, seen[i])) {
        out[i] += c.value;
        ++seen[i];
        mine = true;
      }
    if (!mine) return status::invalid("unexpected chunk " + c.key);
  }
  for (std::size_t i = 0; i < r.names.size(); ++i)
    if (seen[i] != r.chunks[i] || out[i].size() != r.sizes[i])
      return status::invalid("library " + r.names[i] + " of " + r.app + " v" + std::to_string(r.version) + ": " +
                             std::to_string(out[i].size()) + " of " + std::to_string(r.sizes[i]) + " bytes kept");
  return out;
}

status save_app(etcd& db, const stored_app& a) {
  auto previous = db.get(app_key(a.app));
  if (!previous) return previous.error();
  if (status s = db.erase_prefix(library_prefix(a.app, a.version)); !s.ok()) return s;  // a failed earlier try
  for (std::size_t i = 0; i < a.bytes.size(); ++i)
    for (std::size_t c = 0, at = 0; at < a.bytes[i].size(); ++c, at += library_chunk)
      if (status s = db.put(chunk_key(a.app, a.version, i, c), a.bytes[i].substr(at, library_chunk)); !s.ok()) return s;
  std::vector<write_op> commit{{write_op::kind::put, app_key(a.app), encode_record(a)},
                               {write_op::kind::put, version_key(a.app), std::to_string(a.version)}};
  if (status s = db.write_all(commit); !s.ok()) return s;
  if (*previous)  // the version it replaces: its chunks go (best effort: a leftover is only space)
    if (auto old = decode_record((*previous)->value); old && old->version != a.version)
      (void)db.erase_prefix(library_prefix(a.app, old->version));
  return {};
}

status forget_app(etcd& db, const std::string& app) {
  return db.write_all({{write_op::kind::erase, app_key(app), {}}, {write_op::kind::erase_prefix, libs_prefix + app + "/", {}}});
}

result<std::vector<stored_app>> load_apps(etcd& db, std::vector<std::string>& skipped) {
  auto records = db.range(apps_prefix);
  if (!records) return records.error();
  std::vector<stored_app> out;
  for (auto& kv : *records) {
    auto r = decode_record(kv.value);
    if (!r) {
      skipped.push_back(kv.key + ": " + r.error().message());
      continue;
    }
    auto chunks = db.range(library_prefix(r->app, r->version));
    if (!chunks) return chunks.error();
    auto libs = join_libraries(*r, *chunks);
    if (!libs) {
      skipped.push_back(kv.key + ": " + libs.error().message());
      continue;
    }
    out.push_back({r->app, r->version, r->manifest, r->names, std::move(*libs)});
  }
  return out;
}

result<std::vector<std::pair<std::string, std::uint32_t>>> load_versions(etcd& db) {
  auto kvs = db.range(versions_prefix);
  if (!kvs) return kvs.error();
  std::vector<std::pair<std::string, std::uint32_t>> out;
  for (auto& kv : *kvs) {
    try {
      out.emplace_back(kv.key.substr(versions_prefix.size()), static_cast<std::uint32_t>(std::stoul(kv.value)));
    } catch (...) {
    }
  }
  return out;
}

}  // namespace trail::durable
