// How the coordinator holding the shards lists its nodes in etcd (issue 11:
// members are durable state), for operators (`etcdctl get --prefix
// trail/nodes/`) and for whatever reads the cluster without asking a
// coordinator:
//
//   trail/nodes/<name>   {"number", "incarnation", "wire", "data", "client", "executors",
//                         "coordinator"}: written when the node joins the holder, erased
//                         when it leaves (dead, fenced, replaced by a newer incarnation)
//
// A coordinator that stops, cleanly or not, leaves its nodes listed; the one
// that starts holding the shards next clears them first, and the nodes of
// its predecessor rejoin it and are listed again.
#pragma once

#include <cstdint>
#include <string>

#include <trail/status.hpp>

namespace trail::durable {

inline constexpr const char* nodes_prefix = "trail/nodes/";

struct stored_node {
  std::string name;
  std::uint64_t number = 0;       // its number with this coordinator
  std::uint64_t incarnation = 0;
  std::string wire, data, client;  // its addresses: node wire, data path, client wire
  std::uint32_t executors = 0;
  std::string coordinator;         // the address of the coordinator it joined
};

std::string node_key(const std::string& name);
std::string encode_node(const stored_node& n);
result<stored_node> decode_node(const std::string& key, const std::string& text);

}  // namespace trail::durable
