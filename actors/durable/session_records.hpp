// How a coordinator keeps accepted sessions in etcd, so that a session it
// answered survives it (README "What survives a coordinator"):
//
//   trail/sessions/<id, 16 hex digits>   {"app", "args" (base64 each), "timeout_ms"}: written
//                                        before the session's id is answered, erased when it ends
//   trail/shards/<index>/reserved        session ids of that shard are below this; a shard
//                                        started again numbers from there, never reusing an id
//                                        a client may still hold
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <trail/status.hpp>

#include "actors/durable/etcd.hpp"

namespace trail::durable {

struct stored_session {
  std::uint64_t id = 0;
  std::string app;
  std::vector<std::string> args;
  std::uint32_t timeout_ms = 0;
};

// -- pure ----------------------------------------------------------------------------
std::string session_key(std::uint64_t id);
std::string reserved_key(std::uint32_t shard);
std::string encode_session(const stored_session& s);
result<stored_session> decode_session(const std::string& key, const std::string& text);

// -- against etcd ----------------------------------------------------------------------
// `skipped` gets one line per record that cannot be read.
result<std::vector<stored_session>> load_sessions(etcd& db, std::vector<std::string>& skipped);
result<std::map<std::uint32_t, std::uint64_t>> load_reserved(etcd& db);

}  // namespace trail::durable
