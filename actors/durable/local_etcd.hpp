// A one-member etcd on loopback, as trail's own tools start one for a
// cluster of several coordinators (trail-bench throughput --coordinators,
// failure scenarios with `cluster up --coordinators N`): Debian's
// etcd-server, its data under a directory of the caller's.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <trail/status.hpp>

namespace trail::durable {

inline constexpr const char* etcd_binary = "/usr/bin/etcd";  // Debian's etcd-server

// A port on 127.0.0.1 that was free a moment ago (0: none), from below the
// kernel's ephemeral range, so that no process given a port by the kernel
// takes it before it is used; one that names it still may.
int free_loopback_port();
// `n` such ports, all different (0 for any that could not be had).
std::vector<int> free_loopback_ports(std::size_t n);

struct local_etcd {
  std::string endpoint;           // HOST:PORT of its client port (what --etcd takes)
  std::vector<std::string> args;  // for etcd_binary
};

// A member named `name` on free loopback ports, its data in `dir`, logging errors only.
local_etcd plan_local_etcd(const std::string& name, const std::filesystem::path& dir);

// Waits until the etcd at `endpoint` answers a read (it takes a moment to
// elect itself). Errors: unavailable, once `within` passed.
status await_etcd(const std::string& endpoint, std::chrono::milliseconds within);

}  // namespace trail::durable
