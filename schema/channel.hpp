// Messages between a node and its executor processes, and their byte codec.
//
// These travel through the shared-memory rings of shm/ring.hpp, one record per
// message. The encoding is a compact little-endian layout (not Cap'n Proto:
// these never leave the machine, and the hop from one function to the next
// pays for every microsecond). Decoding is bounds-checked: a truncated or
// malformed record yields an error, never a read past its end.
//
// Layout: u16 kind, then the fields of that kind in declaration order.
// Integers are fixed-width; strings and byte arrays are u32 length + bytes;
// lists are u32 count + elements. Adding a kind never renumbers old ones.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <trail/status.hpp>

namespace trail::schema {

// A sealed object handed to a function: where its bytes are in the store.
struct object_desc {
  std::uint64_t object = 0;  // the node's object id
  std::uint64_t offset = 0;  // byte offset of the payload in the store segment
  std::uint64_t size = 0;    // payload size in bytes
  std::string bucket;        // bucket name
  std::string key;           // key within the bucket
};

// -- node -> executor ---------------------------------------------------------

// Run one function. The executor owns nothing it is handed: the node keeps
// every reference and releases them when the invocation ends.
struct dispatch {
  std::uint64_t invocation = 0;      // node-unique id of this attempt
  std::uint64_t session = 0;         // session the invocation belongs to
  std::uint32_t attempt = 0;         // 0 for the first run, 1.. for re-runs
  std::string library;               // absolute path of the user library
  std::string function;              // function name inside it
  std::vector<std::string> args;     // invocation arguments (entry function)
  std::vector<object_desc> inputs;   // the objects that fired the trigger
  std::uint64_t arena_offset = 0;    // scratch block for small creates, no round trip
  std::uint64_t arena_size = 0;      // 0 = no scratch block; every create asks
  std::uint64_t inputs_offset = 0;   // when inputs_size > 0: `inputs` is empty and the
  std::uint64_t inputs_size = 0;     //   list is encode_objects()'d in the store here (large fan-ins)
};

// Answer to an alloc_request.
struct alloc_reply {
  std::uint64_t invocation = 0;
  std::uint16_t code = 0;       // trail::errc; 0 = ok
  std::string error;            // message when code != 0
  std::uint64_t object = 0;     // the created object's id
  std::uint64_t offset = 0;     // where to write it
  std::uint64_t capacity = 0;   // bytes reserved
};

// Answer to a get_request.
struct get_reply {
  std::uint64_t invocation = 0;
  bool found = false;
  object_desc object;  // valid when found
};

// Ask the executor to exit after the current invocation.
struct shutdown {};

// -- executor -> node ---------------------------------------------------------

// The executor is up and mapped the store; sent once after start.
struct ready {
  std::uint32_t pid = 0;
  std::uint32_t abi_version = 0;  // SDK ABI the executor implements
};

// Reserve `capacity` bytes for a new object (too big for the arena).
struct alloc_request {
  std::uint64_t invocation = 0;
  std::string bucket;
  std::string key;
  std::uint64_t capacity = 0;
};

// Seal and publish an object. `object` = 0 means it was carved from the
// dispatch's arena at `offset`; otherwise it is the id from an alloc_reply.
struct seal {
  std::uint64_t invocation = 0;
  std::uint64_t object = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::string bucket;
  std::string key;
};

// Look up a sealed object of the invocation's session by name.
struct get_request {
  std::uint64_t invocation = 0;
  std::string bucket;
  std::string key;
};

// The app's output; the bytes were sealed like an object (see seal).
struct output {
  std::uint64_t invocation = 0;
  std::uint64_t object = 0;  // as in seal
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

// ctx.announce(bucket, n).
struct announce {
  std::uint64_t invocation = 0;
  std::string bucket;
  std::uint64_t count = 0;
};

// ctx.done(bucket).
struct done {
  std::uint64_t invocation = 0;
  std::string bucket;
};

// The invocation finished: ok, or failed with the error text (an exception
// escaping user code, a library that failed to load, ...).
struct complete {
  std::uint64_t invocation = 0;
  std::uint16_t code = 0;  // trail::errc; 0 = ok
  std::string error;
};

using to_executor = std::variant<dispatch, alloc_reply, get_reply, shutdown>;
using to_node = std::variant<ready, alloc_request, seal, get_request, output,
                             announce, done, complete>;

// Appends the encoding of `m` to `out` (cleared first).
void encode(const to_executor& m, std::string& out);
void encode(const to_node& m, std::string& out);

// Decodes one record. Errors are invalid_argument, naming what was wrong.
result<to_executor> decode_to_executor(std::string_view bytes);
result<to_node> decode_to_node(std::string_view bytes);

// An object list on its own (a dispatch's inputs too many for one record).
void encode_objects(const std::vector<object_desc>& objects, std::string& out);
result<std::vector<object_desc>> decode_objects(std::string_view bytes);

// Limits that keep every record small enough for a ring.
inline constexpr std::size_t max_error_text = 4096;   // longer texts are cut
inline constexpr std::size_t max_name_length = 1024;  // bucket, key, function, path

}  // namespace trail::schema
