#include "actors/durable/etcd.hpp"

#include <cctype>
#include <thread>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "actors/core/address_list.hpp"

namespace trail::durable {
namespace {

using json = nlohmann::json;

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::int64_t as_int(const json& j, const char* field) {
  if (!j.contains(field)) return 0;
  const json& v = j[field];
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) return std::stoll(v.get<std::string>());  // the gateway writes int64 as strings
  return 0;
}

// A key-value etcd answered, its key without the namespace `ns` (within()).
result<kv> kv_of(const json& j, const std::string& ns) {
  auto key = base64_decode(j.value("key", ""));
  auto value = base64_decode(j.value("value", ""));
  if (!key || !value) return status::internal("etcd answered an undecodable key or value");
  if (!key->starts_with(ns)) return status::internal("etcd answered key '" + *key + "' from outside " + ns);
  return kv{key->substr(ns.size()), std::move(*value), as_int(j, "mod_revision")};
}

json op_json(const write_op& op, const std::string& ns) {
  auto key = base64_encode(ns + op.key);
  if (op.what == write_op::kind::put) return {{"request_put", {{"key", key}, {"value", base64_encode(op.value)}}}};
  if (op.what == write_op::kind::erase) return {{"request_delete_range", {{"key", key}}}};
  return {{"request_delete_range", {{"key", key}, {"range_end", base64_encode(prefix_end(ns + op.key))}}}};
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t n = (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) | std::uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(alphabet[(n >> s) & 63]);
  }
  if (std::size_t left = in.size() - i; left > 0) {
    std::uint32_t n = std::uint8_t(in[i]) << 16;
    if (left == 2) n |= std::uint8_t(in[i + 1]) << 8;
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(left == 2 ? alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

result<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return status::invalid("base64 of a length that is not a multiple of 4");
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    std::uint32_t n = 0;
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        ++pad;
        n <<= 6;
        continue;
      }
      int v = sextet(c);
      if (v < 0 || pad > 0) return status::invalid("not base64");
      n = (n << 6) | static_cast<std::uint32_t>(v);
    }
    out.push_back(static_cast<char>((n >> 16) & 255));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 255));
    if (pad < 1) out.push_back(static_cast<char>(n & 255));
  }
  return out;
}

result<std::string> cluster_prefix(std::string_view text) {
  std::string out(text);
  if (out.empty()) return out;
  if (out.back() != '/') out.push_back('/');
  auto refuse = [&](const std::string& why) {
    return status::invalid("etcd prefix '" + std::string(text) + "': " + why +
                           " (segments of letters, digits, '.', '_' and '-', separated by '/', e.g. clusters/prod/)");
  };
  std::size_t start = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    if (c == '/') {
      auto segment = std::string_view(out).substr(start, i - start);
      if (segment.empty()) return refuse("an empty segment");
      if (segment == "..") return refuse("a '..' segment");
      start = i + 1;
    } else if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return refuse("a character that is not allowed");
    }
  }
  return out;
}

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<std::uint8_t>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<std::uint8_t>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key (etcd's convention)
}

// Kept-alive connections (a fresh TCP connection per call cost more than
// etcd's own work on loopback), with Nagle off: a request's header and body
// go out at once.
struct etcd::connections {
  std::vector<std::unique_ptr<httplib::Client>> to;  // by endpoint index

  httplib::Client& at(const std::vector<std::string>& endpoints, std::size_t i) {
    if (to.size() < endpoints.size()) to.resize(endpoints.size());
    if (!to[i]) {
      auto colon = endpoints[i].rfind(':');
      to[i] = std::make_unique<httplib::Client>(endpoints[i].substr(0, colon), std::stoi(endpoints[i].substr(colon + 1)));
      to[i]->set_keep_alive(true);
      to[i]->set_tcp_nodelay(true);
    }
    return *to[i];
  }
};

etcd::etcd(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), conns_(std::make_unique<connections>()), timeout_(timeout) {}
etcd::etcd(etcd&&) noexcept = default;
etcd& etcd::operator=(etcd&&) noexcept = default;
etcd::~etcd() = default;

result<etcd> etcd::open(const std::string& endpoints, std::chrono::milliseconds timeout) {
  std::vector<std::string> list;
  for (auto& one : core::split_list(endpoints)) {
    if (one.rfind("http://", 0) == 0) one = one.substr(7);
    auto colon = one.rfind(':');
    if (one.empty() || colon == std::string::npos || colon == 0 || colon + 1 == one.size() ||
        one.find_first_not_of("0123456789", colon + 1) != std::string::npos)
      return status::invalid("invalid etcd endpoint '" + one + "': expected HOST:PORT[,HOST:PORT...]");
    list.push_back(one);
  }
  return etcd(std::move(list), timeout);
}

result<std::string> etcd::call(const std::string& path, const std::string& body) {
  // Round after round over the endpoints until one answers or the time is
  // up: a member that died takes a few hundred ms to be noticed as leader
  // and replaced, and a request in between must not fail.
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  std::string why;
  for (;;) {
    auto r = call_once(path, body, deadline, why);
    if (r || r.error().code() != errc::unavailable) return r;
    if (std::chrono::steady_clock::now() + retry_pause >= deadline)
      return status::unavailable("etcd is unavailable (" + why + ")");
    std::this_thread::sleep_for(retry_pause);
  }
}

namespace {

// What went wrong with a request, in words (httplib names only the step: "Connection").
std::string describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection: return "cannot connect";
    case httplib::Error::ConnectionTimeout: return "connect timed out";
    case httplib::Error::Read: return "no answer (the connection was closed, or the request timed out)";
    case httplib::Error::Write: return "cannot send (the connection was closed)";
    default: return httplib::to_string(e);
  }
}

}  // namespace

result<std::string> etcd::call_once(const std::string& path, const std::string& body,
                                    std::chrono::steady_clock::time_point deadline, std::string& why) {
  for (std::size_t n = 0; n < endpoints_.size(); ++n) {
    std::size_t i = (preferred_ + n) % endpoints_.size();
    const std::string& ep = endpoints_[i];
    httplib::Client& http = conns_->at(endpoints_, i);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto secs = left.count() / 1000, usecs = (left.count() % 1000) * 1000;
    http.set_connection_timeout(secs, usecs);
    http.set_read_timeout(secs, usecs);
    http.set_write_timeout(secs, usecs);
    auto res = http.Post(path, body, "application/json");
    if (!res) {
      why = ep + ": " + describe(res.error());
      continue;
    }
    if (res->status == 200) {
      preferred_ = i;
      return res->body;
    }
    auto err = json::parse(res->body, nullptr, false);
    std::string message = err.is_object() ? err.value("message", err.value("error", res->body)) : res->body;
    // gRPC codes the gateway passes on: 3 invalid argument, 5 not found, 14 unavailable
    // (no leader, no quorum). Another member may do better for the latter.
    int code = err.is_object() ? static_cast<int>(as_int(err, "code")) : 0;
    if (code == 3 || res->status == 400) return status::invalid("etcd refused " + path + ": " + message);
    if (code == 5) return status::not_found("etcd: " + message);  // e.g. a lease that ran out
    why = ep + ": " + message;
  }
  return status::unavailable(why);
}

std::string etcd::at(const std::string& key) const { return base64_encode(ns_ + key); }

status etcd::put(const std::string& key, const std::string& value) {
  if (fence_) return write_all({{write_op::kind::put, key, value}});
  auto r = call("/v3/kv/put", json{{"key", at(key)}, {"value", base64_encode(value)}}.dump());
  return r ? status{} : r.error();
}

result<std::optional<kv>> etcd::get(const std::string& key) {
  auto r = call("/v3/kv/range", json{{"key", at(key)}}.dump());
  if (!r) return r.error();
  auto j = json::parse(*r, nullptr, false);
  if (!j.is_object()) return status::internal("etcd answered a range with something that is not JSON");
  if (!j.contains("kvs") || j["kvs"].empty()) return std::optional<kv>{};
  auto one = kv_of(j["kvs"][0], ns_);
  if (!one) return one.error();
  return std::optional<kv>{std::move(*one)};
}

result<std::vector<kv>> etcd::range(const std::string& prefix) {
  auto r = call("/v3/kv/range", json{{"key", at(prefix)}, {"range_end", base64_encode(prefix_end(ns_ + prefix))}}.dump());
  if (!r) return r.error();
  auto j = json::parse(*r, nullptr, false);
  if (!j.is_object()) return status::internal("etcd answered a range with something that is not JSON");
  std::vector<kv> out;
  for (auto& e : j.value("kvs", json::array())) {
    auto one = kv_of(e, ns_);
    if (!one) return one.error();
    out.push_back(std::move(*one));
  }
  return out;
}

status etcd::erase_prefix(const std::string& prefix) {
  if (fence_) return write_all({{write_op::kind::erase_prefix, prefix, {}}});
  auto r = call("/v3/kv/deleterange",
                json{{"key", at(prefix)}, {"range_end", base64_encode(prefix_end(ns_ + prefix))}}.dump());
  return r ? status{} : r.error();
}

status etcd::write_all(const std::vector<write_op>& ops) {
  if (ops.size() > 128) return status::invalid("a transaction of " + std::to_string(ops.size()) + " writes (at most 128)");
  if (fenced_) return status::unavailable("fenced: this coordinator no longer holds " + fence_->first);
  json success = json::array();
  for (auto& op : ops) success.push_back(op_json(op, ns_));
  json txn{{"success", success}};
  if (fence_)
    txn["compare"] = json::array({{{"target", "VALUE"}, {"result", "EQUAL"}, {"key", at(fence_->first)},
                                   {"value", base64_encode(fence_->second)}}});
  auto r = call("/v3/kv/txn", txn.dump());
  if (!r) return r.error();
  if (!fence_) return {};
  auto j = json::parse(*r, nullptr, false);
  if (!j.is_object()) return status::internal("etcd answered a transaction with something that is not JSON");
  if (j.value("succeeded", false)) return {};
  fenced_ = true;
  return status::unavailable("fenced: this coordinator no longer holds " + fence_->first + " (its lease ran out)");
}

void etcd::fence_on(std::string key, std::string value) { fence_.emplace(std::move(key), std::move(value)); }

result<std::int64_t> etcd::grant_lease(std::chrono::seconds ttl) {
  auto r = call("/v3/lease/grant", json{{"TTL", ttl.count()}}.dump());
  if (!r) return r.error();
  auto j = json::parse(*r, nullptr, false);
  std::int64_t id = j.is_object() ? as_int(j, "ID") : 0;
  if (id == 0) return status::internal("etcd granted a lease without an ID: " + *r);
  return id;
}

result<std::int64_t> etcd::keep_alive(std::int64_t lease) {
  auto r = call("/v3/lease/keepalive", json{{"ID", std::to_string(lease)}}.dump());
  if (!r) return r.error();
  auto j = json::parse(*r, nullptr, false);
  if (!j.is_object() || !j.contains("result")) return status::internal("etcd answered a keepalive with: " + *r);
  std::int64_t left = as_int(j["result"], "TTL");  // absent once the lease is gone
  if (left <= 0) return status::not_found("lease " + std::to_string(lease) + " ran out");
  return left;
}

status etcd::revoke_lease(std::int64_t lease) {
  auto r = call("/v3/kv/lease/revoke", json{{"ID", std::to_string(lease)}}.dump());
  return r ? status{} : r.error();
}

result<etcd::claim_outcome> etcd::claim(const std::string& key, const std::string& value, std::int64_t lease) {
  json txn{
      {"compare", json::array({{{"target", "CREATE"}, {"result", "EQUAL"}, {"key", at(key)},
                                {"create_revision", "0"}}})},
      {"success", json::array({{{"request_put",
                                 {{"key", at(key)}, {"value", base64_encode(value)},
                                  {"lease", std::to_string(lease)}}}}})},
      {"failure", json::array({{{"request_range", {{"key", at(key)}}}}})}};
  auto r = call("/v3/kv/txn", txn.dump());
  if (!r) return r.error();
  auto j = json::parse(*r, nullptr, false);
  if (!j.is_object()) return status::internal("etcd answered a claim with something that is not JSON");
  if (j.value("succeeded", false)) return claim_outcome{true, value};
  claim_outcome out;
  for (auto& resp : j.value("responses", json::array()))
    if (resp.contains("response_range"))
      for (auto& e : resp["response_range"].value("kvs", json::array()))
        if (auto one = kv_of(e, ns_)) out.holder = one->value;
  return out;
}
}  // namespace trail::durable
