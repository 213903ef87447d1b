#include "actors/durable/session_records.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace trail::durable {
namespace {

using json = nlohmann::json;

const std::string sessions_prefix = "trail/sessions/", shards_prefix = "trail/shards/",
                  results_prefix = "trail/results/";

std::string hex_key(const std::string& prefix, std::uint64_t id) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(id));
  return prefix + hex;
}

result<std::uint64_t> id_of(const std::string& prefix, const std::string& key) {
  if (key.rfind(prefix, 0) != 0 || key.size() != prefix.size() + 16) return status::invalid("not a key of " + prefix);
  try {
    return std::stoull(key.substr(prefix.size()), nullptr, 16);
  } catch (...) {
    return status::invalid("not a key of " + prefix);
  }
}

}  // namespace

std::string session_key(std::uint64_t id) { return hex_key(sessions_prefix, id); }
std::string result_key(std::uint64_t id) { return hex_key(results_prefix, id); }

std::string encode_result(const stored_result& r) {
  json j{{"ok", r.ok}};
  if (r.request) j["request"] = r.request;
  if (r.ok) {
    j["size"] = r.output_size;
    if (r.output.size() <= max_kept_output) j["output"] = base64_encode(r.output);
  } else {
    j["code"] = r.code;
    j["message"] = r.message;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

result<stored_result> decode_result(const std::string& key, const std::string& text) {
  auto id = id_of(results_prefix, key);
  if (!id) return id.error();
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j["ok"].is_boolean()) return status::invalid("not a result record");
  stored_result r;
  r.id = *id;
  r.ok = j["ok"];
  if (j.contains("request") && !j["request"].is_number_unsigned()) return status::invalid("a result record with a malformed request id");
  r.request = j.value("request", std::uint64_t{0});
  if (r.ok) {
    r.output_size = j.value("size", std::uint64_t{0});
    if (j.contains("output")) {
      auto bytes = j["output"].is_string() ? base64_decode(j["output"].get<std::string>())
                                           : result<std::string>(status::invalid("not base64"));
      if (!bytes) return status::invalid("a result record with a malformed output");
      r.output = std::move(*bytes);
    }
  } else {
    r.code = j.value("code", std::uint16_t{0});
    // A failure is never ok; a code this build does not know reads as internal.
    if (r.code == 0 || r.code > static_cast<std::uint16_t>(last_errc)) r.code = static_cast<std::uint16_t>(errc::internal);
    r.message = j.value("message", std::string());
  }
  return r;
}

std::string reserved_key(std::uint32_t shard) { return shards_prefix + std::to_string(shard) + "/reserved"; }

std::string encode_session(const stored_session& s) {
  json args = json::array();
  for (auto& a : s.args) args.push_back(base64_encode(a));  // arguments are bytes, JSON text is not
  json j{{"app", s.app}, {"args", args}, {"timeout_ms", s.timeout_ms}};
  if (s.request) j["request"] = s.request;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

result<stored_session> decode_session(const std::string& key, const std::string& text) {
  if (key.rfind(sessions_prefix, 0) != 0) return status::invalid("not a session key: " + key);
  stored_session s;
  try {
    s.id = std::stoull(key.substr(sessions_prefix.size()), nullptr, 16);
  } catch (...) {
    return status::invalid("not a session key: " + key);
  }
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j["app"].is_string() || !j["args"].is_array() || !j["timeout_ms"].is_number_unsigned())
    return status::invalid("not a session record");
  s.app = j["app"];
  s.timeout_ms = j["timeout_ms"];
  if (j.contains("request") && !j["request"].is_number_unsigned()) return status::invalid("a session record with a malformed request id");
  s.request = j.value("request", std::uint64_t{0});
  for (auto& a : j["args"]) {
    if (!a.is_string()) return status::invalid("a session record with a malformed argument");
    auto bytes = base64_decode(a.get<std::string>());
    if (!bytes) return status::invalid("a session record with a malformed argument");
    s.args.push_back(std::move(*bytes));
  }
  return s;
}

namespace {
// Every record under `prefix`, decoded; `skipped` gets those that cannot be.
template <class Record>
result<std::vector<Record>> load_all(etcd& db, const std::string& prefix,
                                     result<Record> (*decode)(const std::string&, const std::string&),
                                     std::vector<std::string>& skipped) {
  auto kvs = db.range(prefix);
  if (!kvs) return kvs.error();
  std::vector<Record> out;
  for (auto& kv : *kvs) {
    auto r = decode(kv.key, kv.value);
    if (r) out.push_back(std::move(*r));
    else skipped.push_back(kv.key + ": " + r.error().message());
  }
  return out;
}
}  // namespace

result<std::vector<stored_session>> load_sessions(etcd& db, std::vector<std::string>& skipped) {
  return load_all(db, sessions_prefix, decode_session, skipped);
}

result<std::vector<stored_result>> load_results(etcd& db, std::vector<std::string>& skipped) {
  return load_all(db, results_prefix, decode_result, skipped);
}

result<std::map<std::uint32_t, std::uint64_t>> load_reserved(etcd& db) {
  auto kvs = db.range(shards_prefix);
  if (!kvs) return kvs.error();
  std::map<std::uint32_t, std::uint64_t> out;
  for (auto& kv : *kvs) {
    unsigned shard = 0;
    unsigned long long upto = 0;
    if (std::sscanf(kv.key.c_str(), "trail/shards/%u/reserved", &shard) == 1 &&
        std::sscanf(kv.value.c_str(), "%llu", &upto) == 1)
      out[shard] = upto;
  }
  return out;
}

}  // namespace trail::durable
