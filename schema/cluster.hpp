// Node-to-node messages (schema/cluster.capnp): forwarded work, the reports
// a worker node sends back to the session's home node, and the frames of the
// node-to-node wire that carry them. Plain structs <-> flat Cap'n Proto arrays.
//
// Nothing here throws: decode() turns every Cap'n Proto complaint (truncated,
// misaligned or hostile input) into invalid_argument, and checks limits.
#pragma once

#include <cstdint>
#include <string>
#include <span>
#include <string_view>
#include <variant>
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

// -- the node-to-node wire ------------------------------------------------------

struct peer_hello {
  std::uint64_t number = 0;
  std::uint64_t incarnation = 0;
};
struct refused {
  std::uint64_t invocation = 0;
  std::uint16_t code = 0;  // trail::errc
  std::string message;
};
struct release_session {
  std::uint64_t session = 0;
};
struct lent_object {
  std::uint64_t object = 0;
};
struct run_session {
  std::uint64_t session = 0;
  std::string app;
  std::uint32_t version = 0;
  std::vector<std::string> args;
  std::uint32_t timeout_ms = 0;
};
struct session_ended {
  std::uint64_t session = 0;
  bool ok = false;
  std::string output;
  std::uint16_t code = 0;  // trail::errc when !ok
  std::string message;
};
using peer_message =
    std::variant<peer_hello, work, refused, report, release_session, lent_object, run_session, session_ended>;

// The number a coordinator says hello as on the node wire.
inline constexpr std::uint64_t coordinator_number = 0;

// Frames larger than this break a node-to-node connection.
inline constexpr std::size_t max_peer_frame = 4u << 20;

// Appends the frame of `m` to `out`.
void encode(const peer_message& m, std::string& out);
// Decodes one frame. REQUIRES: 8-byte aligned. Errors: invalid_argument.
result<peer_message> decode_peer(std::span<const std::byte> bytes);

}  // namespace trail::schema
