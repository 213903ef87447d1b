// A small etcd v3 client over etcd's JSON gateway (HTTP/1.1 on the client
// port: POST /v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn; keys
// and values base64). Why the gateway and not gRPC: etcd 3.4 serves it on
// the same port with no extra setup, it needs one header-only HTTP client
// (cpp-httplib) instead of a gRPC toolchain and etcd's .proto files, and the
// coordinator's writes are rare (deploys, undeploys) and small next to an
// HTTP round trip's cost.
//
// Blocking calls; one client per thread. A call tries the endpoints, the
// one that answered last first, round after round until one answers or
// `timeout` is up (a member's loss and the election after it cost a
// request nothing). Every error is a trail::status:
// unavailable when no endpoint answered in time (or etcd has no quorum), invalid
// argument for what etcd refused as malformed (e.g. a value over its request
// size limit), internal for an answer this client cannot read.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <trail/status.hpp>

namespace trail::durable {

struct kv {
  std::string key, value;
  std::int64_t mod_revision = 0;
};

// A write of a transaction.
struct write_op {
  enum class kind : std::uint8_t { put, erase, erase_prefix } what = kind::put;
  std::string key, value;
};

class etcd {
 public:
  // `endpoints`: "host:port,host:port,..." (etcd's client URLs, http).
  // Nothing is contacted yet.
  static result<etcd> open(const std::string& endpoints, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  etcd(etcd&&) noexcept;
  etcd& operator=(etcd&&) noexcept;
  ~etcd();

  status put(const std::string& key, const std::string& value);
  result<std::optional<kv>> get(const std::string& key);
  // Every key starting with `prefix`, in key order.
  result<std::vector<kv>> range(const std::string& prefix);
  status erase_prefix(const std::string& prefix);
  // All of `ops` or none (etcd's txn with no comparison); at most 128 ops.
  status write_all(const std::vector<write_op>& ops);

  // -- leases and fencing --------------------------------------------------------
  // A lease of `ttl` (etcd deletes the keys put with it when it runs out).
  result<std::int64_t> grant_lease(std::chrono::seconds ttl);
  // Renews it; returns the seconds it has left. not_found: it ran out (or
  // was revoked).
  result<std::int64_t> keep_alive(std::int64_t lease);
  status revoke_lease(std::int64_t lease);
  // Puts key=value with `lease` if no one holds `key`. Returns whether it
  // did, and otherwise what the key holds (its holder's value).
  struct claim_outcome {
    bool won = false;
    std::string holder;
  };
  result<claim_outcome> claim(const std::string& key, const std::string& value, std::int64_t lease);
  // From now on every write of this client (put, erase_prefix, write_all)
  // happens only while `key` holds `value`, checked in the same transaction:
  // once it does not, the write is refused (unavailable, "fenced: ...") and
  // fenced() turns true for good.
  void fence_on(std::string key, std::string value);
  bool fenced() const { return fenced_; }

  // From now on every key this client names lives under `prefix` (a
  // cluster's namespace, --etcd-prefix): it is put before every key sent
  // (fencing's and claims' too) and taken off every key answered, so a
  // range or an erase_prefix never reaches past it. Leases are etcd-wide.
  void within(std::string prefix) { ns_ = std::move(prefix); }

  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  etcd(std::vector<std::string> endpoints, std::chrono::milliseconds timeout);
  // POSTs `body` (JSON) to `path` on the first endpoint that answers,
  // trying again until the timeout is up.
  result<std::string> call(const std::string& path, const std::string& body);
  // One round over the endpoints; `why`: what the last one said.
  result<std::string> call_once(const std::string& path, const std::string& body,
                                std::chrono::steady_clock::time_point deadline, std::string& why);
  static constexpr std::chrono::milliseconds retry_pause{100};
  std::vector<std::string> endpoints_;
  struct connections;  // one kept-alive HTTP connection per endpoint, opened when first used
  std::unique_ptr<connections> conns_;
  std::chrono::milliseconds timeout_;
  std::size_t preferred_ = 0;  // the endpoint that answered last
  std::optional<std::pair<std::string, std::string>> fence_;  // (key, value) every write checks
  bool fenced_ = false;
  std::string ns_;  // within(): put before every key
  std::string at(const std::string& key) const;  // the key as sent: namespaced, base64
};

// What --etcd-prefix may be: segments of letters, digits, '.', '_' and '-'
// separated by '/' (none empty or "..", so "a/../b" and "/a" are refused);
// a '/' is added at the end when missing, so that cluster "prod" never
// sees the keys of "prod2". Empty stays empty (keys at etcd's root).
result<std::string> cluster_prefix(std::string_view text);

// The key just past every key starting with `prefix` (etcd's range_end).
std::string prefix_end(const std::string& prefix);
std::string base64_encode(std::string_view in);
result<std::string> base64_decode(std::string_view in);

}  // namespace trail::durable
