// The client wire (schema/client.capnp) and its codec: requests of clients
// and joining nodes, and the replies of nodes and coordinators.
//
// Frames are Cap'n Proto flat arrays; `frame_size` tells a reader how many
// bytes the frame starting at a prefix needs. Decoding is bounds-checked and
// never throws: malformed or truncated input is invalid_argument, naming what
// was wrong. Payloads (arguments, outputs, libraries) are copied once into
// the plain structs; none of this is on the function-to-function hot path —
// except the bytes of put and get, which stay views (`bytes` below): into the
// caller's memory when encoding, into the frame when decoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <trail/status.hpp>

namespace trail::schema {

// The largest frame either side accepts: a deploy with libraries up to the
// registry's limit (256 MiB) fits; an output is at most 64 MiB.
inline constexpr std::size_t max_client_frame = 320u << 20;
// The most bytes one putData or data frame carries: objects larger than this
// travel in several frames, so neither side ever holds a whole large object
// in a frame.
inline constexpr std::size_t max_put_chunk = 4u << 20;

struct client_request {
  enum class kind : std::uint8_t { hello, invoke, result, deploy, status, apps, undeploy, control, admin,
                                   put, put_data, get, auth, member };
  std::uint64_t id = 0;
  kind what = kind::hello;
  std::uint32_t version = 0;            // hello
  std::string app;                      // invoke, undeploy, put, get; admin: the command; member: the node's address
  std::string bucket, key;              // put, get
  std::uint64_t size = 0;               // put: the object's size
  bool new_session = false;             // put: in a new session's scope
  std::uint64_t put = 0;                // put_data: the id of the put it continues
  std::span<const std::byte> bytes;     // put_data: a view (of the caller's memory, or of the decoded frame)
  bool last = false;                    // put_data: the object is complete
  std::vector<std::string> args;        // invoke; admin: the command's words
  std::uint32_t timeout_ms = 0;         // invoke, result, put
  bool async = false;                   // invoke
  bool direct = false;                  // invoke (synchronous): the client follows a redirect to a node
  std::uint64_t request = 0;            // invoke: the client's id for it, the same when sent again (0: none)
  std::uint64_t session = 0;            // result; put (to a cluster node): the coordinator's session for it
  std::string manifest;                 // deploy
  std::vector<std::string> names;       // deploy
  std::vector<std::string> libraries;   // deploy (same length as names)
  std::string nonce, role, proof;       // auth
};

struct client_reply {
  enum class kind : std::uint8_t { error, hello, session, text, apps, control, data, redirect, challenge, auth_ok };
  std::uint64_t id = 0;
  kind what = kind::error;
  status error;                         // error (never ok)
  std::uint32_t version = 0;            // hello, challenge
  std::string nonce;                    // challenge
  std::string proof;                    // auth_ok
  std::uint64_t session = 0;            // session; redirect: the put's session there (0: app scope)
  std::string output;                   // session
  std::uint64_t size = 0;               // data: the whole object's size
  std::span<const std::byte> bytes;     // data: a view (of the sender's memory, or of the decoded frame)
  bool last = false;                    // data: the object is complete
  std::string text;                     // text; control: the CAF address; redirect: the node's (or holder's) address
  std::string why;                      // redirect of a hello: what the coordinator standing by says
  std::string wire;                     // control: the node-wire address
  std::vector<std::string> apps;        // apps
  std::vector<std::string> coordinators;  // the other coordinators: at the handshake, and after they change (client.capnp)
  // With several partitions (sent as coordinators is): each one's holder
  // ("" while none), shards per partition, and the sender's partition.
  std::vector<std::string> partitions;
  std::uint32_t partition_shards = 0;
  std::uint32_t partition = 0;
};

// Appends the frame of `m` to `out`.
void encode(const client_request& m, std::string& out);
void encode(const client_reply& m, std::string& out);

// Decodes one whole frame. REQUIRES: `bytes` is 8-byte aligned. The `bytes`
// views of the result point into the frame: valid while it is.
result<client_request> decode_request(std::span<const std::byte> bytes);
result<client_reply> decode_reply(std::span<const std::byte> bytes);

// The size of the frame that starts with `prefix` (REQUIRES: 8-byte aligned),
// as far as the prefix tells: while the result exceeds prefix.size(), read
// more and ask again. invalid_argument when it announces more than `limit`
// bytes or too many segments (drop the connection: the stream cannot be
// resynchronised).
result<std::size_t> client_frame_size(std::span<const std::byte> prefix, std::size_t limit = max_client_frame);

}  // namespace trail::schema
