// Addresses as the binaries take them. split_list: "A,B,C" -> {"A", "B",
// "C"}: the address lists that --coordinator, --connect and --etcd take
// (HOST:PORT[,HOST:PORT...]); with_more appends to one, rotated_list turns one. loopback_only:
// whether a --listen host is reachable from this machine only;
// wildcard_address: whether an address is one to listen on, not to
// connect to, and reachable_at replaces such a host by a real one. Pure.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace trail::core {

// "localhost", an IPv4 address in 127.0.0.0/8, or ::1 (bracketed or not).
// Anything else — a real address, 0.0.0.0, ::, an empty host (every
// interface), a name — may be reachable from the network.
inline bool loopback_only(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  std::string h(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, h.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// What `who` ("trail-node", "trail-coordinator") says at start when it
// listens on `host` without a secret: anyone who reaches it may deploy code
// and run it. Empty when it listens on loopback only.
inline std::string unguarded_listener_warning(std::string_view who, std::string_view host) {
  if (loopback_only(host)) return {};
  // (Not worded "listening on": scripts and tests wait for that line.)
  return std::string(who) + ": warning: no secret, and " +
         (host.empty() ? std::string("every interface") : std::string(host)) +
         " is reachable from the network: anyone who can reach it can deploy code and run it as this user "
         "(give every member --secret-file; README \"Security\")";
}

inline std::vector<std::string> split_list(std::string_view list, char sep = ',') {
  std::vector<std::string> out;
  for (std::size_t at = 0;;) {
    auto end = list.find(sep, at);
    out.emplace_back(list.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (end == std::string_view::npos) return out;
    at = end + 1;
  }
}

// `list` rotated left by `by` (mod its length): "a,b,c" by 1 -> "b,c,a". So
// node i of a partitioned cluster is given the holder of partition i % K first.
inline std::string rotated_list(std::string_view list, std::size_t by) {
  auto all = split_list(list);
  std::rotate(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(by % all.size()), all.end());
  std::string out;
  for (auto& a : all) out += (out.empty() ? "" : ",") + a;
  return out;
}

// `list` with each of `more` it lacks appended, in order: "a:1" and
// {"b:2", "a:1"} -> "a:1,b:2".
inline std::string with_more(std::string list, const std::vector<std::string>& more) {
  if (more.empty()) return list;
  auto have = split_list(list);
  for (auto& m : more) {
    if (m.empty() || std::find(have.begin(), have.end(), m) != have.end()) continue;
    if (!list.empty()) list += ',';
    list += m;
    have.push_back(m);
  }
  return list;
}

// HOST:PORT whose host means every interface ("", 0.0.0.0, ::): where a
// server listens, not where a client on another machine can reach it.
inline bool wildcard_address(std::string_view address) {
  auto host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host.empty() || host == "0.0.0.0" || host == "::";
}

// `address` as it is reached from where it was named: a wildcard host
// becomes `host` (the one its server was reached at, or this end's host on
// that connection): "0.0.0.0:7400", "10.0.0.1" -> "10.0.0.1:7400". Any
// other address, or an empty `host`, is returned as it is.
inline std::string reachable_at(const std::string& address, std::string_view host) {
  if (host.empty() || !wildcard_address(address)) return address;
  return std::string(host) + address.substr(address.rfind(':'));
}

}  // namespace trail::core
