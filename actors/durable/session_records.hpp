// How a coordinator keeps accepted sessions in etcd, so that a session it
// answered survives it (README "What survives a coordinator"):
//
//   trail/sessions/<id, 16 hex digits>   {"app", "args" (base64 each), "timeout_ms", "request"}: written
//                                        before the session's id is answered, erased when it ends
//   trail/results/<id, 16 hex digits>    {"ok", "output" (base64), "code", "message", "request"}: written when
//                                        the session ends (its record erased in the same
//                                        transaction), erased when its shard forgets it; an
//                                        output over max_kept_output is kept as its size only
//   trail/shards/<index>/reserved        session ids of that shard are below this; a shard
//                                        started again numbers from there, never reusing an id
//                                        a client may still hold
//
// "request" is the client's id for the invocation that started the session
// (absent: none): a client that sends it again to the next coordinator gets
// this session, never a second one.
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
  std::uint64_t request = 0;  // the client's id for the invocation (0: none)
};

// How a session ended, as kept for `trail result` across a coordinator change.
struct stored_result {
  std::uint64_t id = 0;
  bool ok = false;
  std::string output;            // (ok) its output; empty when too big to keep
  std::uint64_t output_size = 0;  // (ok) its size
  std::uint16_t code = 0;        // (failed) errc
  std::string message;           // (failed)
  std::uint64_t request = 0;     // the client's id for the invocation (0: none)
};
// Outputs larger than this are not kept (etcd takes requests of 1.5 MiB at most).
constexpr std::size_t max_kept_output = 64u << 10;

// -- pure ----------------------------------------------------------------------------
std::string result_key(std::uint64_t id);
std::string encode_result(const stored_result& r);
result<stored_result> decode_result(const std::string& key, const std::string& text);
std::string session_key(std::uint64_t id);
std::string reserved_key(std::uint32_t shard);
std::string encode_session(const stored_session& s);
result<stored_session> decode_session(const std::string& key, const std::string& text);

// -- against etcd ----------------------------------------------------------------------
// `skipped` gets one line per record that cannot be read.
result<std::vector<stored_session>> load_sessions(etcd& db, std::vector<std::string>& skipped);
result<std::map<std::uint32_t, std::uint64_t>> load_reserved(etcd& db);
result<std::vector<stored_result>> load_results(etcd& db, std::vector<std::string>& skipped);

}  // namespace trail::durable
