// Node-to-node control messages that carry structure (schema/cluster.capnp):
// forwarded work and the reports a worker node sends back to the session's
// home node. Plain structs <-> one flat Cap'n Proto array in a std::string.
//
// Nothing here throws: decode() turns every Cap'n Proto complaint (truncated,
// misaligned or hostile input) into invalid_argument, and checks limits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <trail/status.hpp>

namespace trail::schema {

// Objects up to this size travel inside the message (no pull round trip).
inline constexpr std::uint64_t max_inline_object = 64u << 10;
// Largest encoded control message decode() accepts.
inline constexpr std::size_t max_control_message = 16u << 20;

struct object_ref {
  std::uint64_t session = 0;
  std::string bucket;
  std::string key;
  std::uint64_t id = 0;     // in the store of the node that holds it
  std::uint64_t size = 0;
  bool has_inline = false;  // `bytes` is the whole payload
  std::string bytes;
};

struct work {
  std::uint64_t session = 0;
  std::uint64_t invocation = 0;
  std::uint32_t attempt = 0;
  std::string app;
  std::uint32_t version = 0;
  std::string function;
  std::vector<std::string> args;
  std::vector<object_ref> inputs;
  std::uint64_t home_number = 0;
  std::string home_data;    // home's data-path address
  std::uint32_t timeout_ms = 0;
};

struct report {
  enum class kind : std::uint8_t { sealed, output, announce, done, finished, app_object };
  kind what = kind::finished;
  std::uint64_t invocation = 0;
  std::uint64_t session = 0;
  std::uint64_t from_number = 0;
  std::uint64_t from_incarnation = 0;
  object_ref object;
  std::string data_address;
  std::string bucket;
  std::uint64_t count = 0;
  std::uint16_t code = 0;
  std::string message;
  std::string app;        // app_object
  std::uint32_t version = 0;
  std::uint32_t seq = 0;  // per invocation, from 0 (messages may take different routes)
};

std::string encode(const work& w);
std::string encode(const report& r);
// Errors: invalid_argument naming what was wrong.
result<work> decode_work(std::string_view bytes);
result<report> decode_report(std::string_view bytes);

}  // namespace trail::schema
