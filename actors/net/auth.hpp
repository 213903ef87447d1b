// Who may talk to a trail process: a cluster secret (everything) and an
// optional invoke-only token, each a file of 64 hex characters (32 random
// bytes) readable by its owner only (README "Security").
//
// The client wire's handshake (schema/client.capnp), when the server has a
// secret: the client says hello; the server answers with a challenge (its
// protocol version and a fresh 32-byte nonce); the client sends auth: its
// own fresh nonce, the role it claims ("admin" with the secret, "invoke"
// with the token) and HMAC-SHA256(key, "trail-client" | role | server nonce
// | client nonce); the server checks it against the role's key and answers
// with its own proof, HMAC-SHA256(key, "trail-server" | role | client nonce
// | server nonce), which the client checks. Nothing else is read before.
// A proof from another connection never verifies (the server's nonce is
// new on every connection), nor does a server's proof sent back as a
// client's (the labels differ). Comparisons take constant time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <trail/status.hpp>

#include "schema/client.hpp"

namespace trail::net {

enum class role : std::uint8_t { admin, invoke };
std::string to_string(role r);
std::optional<role> role_of(std::string_view s);

// A key as read from its file (the file's 64 hex characters).
struct key {
  std::string bytes;
};

// Reads a secret or token file. invalid_argument: group/other may read it,
// or its content is not 64 hex characters; not_found: no such file.
result<key> load_key(const std::filesystem::path& file);
// Writes a new random key to `file` (mode 0600, refusing to replace one),
// and returns it.
result<key> create_key(const std::filesystem::path& file);
// load_key, or create_key when the file does not exist yet.
result<key> load_or_create_key(const std::filesystem::path& file);

std::string fresh_nonce();  // 32 random bytes
std::string client_proof(const key& k, role r, std::string_view server_nonce, std::string_view client_nonce);
std::string server_proof(const key& k, role r, std::string_view client_nonce, std::string_view server_nonce);
bool same(std::string_view a, std::string_view b);  // constant time for equal lengths

// A key sealed under the cluster's secret, for a member to hand another
// member over a connection that may not be encrypted (a coordinator hands
// its invoke token to joining nodes): AES-256-GCM under
// HMAC-SHA256(secret, "trail-key-wrap"), a fresh 12-byte IV, the 16-byte tag
// after the ciphertext. unwrap_key: invalid_argument when it was not sealed
// under this secret, or was changed on the way.
std::string wrap_key(const key& secret, const key& payload);
result<key> unwrap_key(const key& secret, std::string_view wrapped);

// What a server accepts: the secret, and maybe an invoke-only token.
struct server_keys {
  key secret;
  std::optional<key> invoke_token;
  const key* for_role(role r) const { return r == role::admin ? &secret : invoke_token ? &*invoke_token : nullptr; }
};

// What a client proves with.
struct credentials {
  key k;
  role as = role::admin;
};
// From the environment: TRAIL_SECRET_FILE (admin), else TRAIL_TOKEN_FILE
// (invoke), else none. A named file that cannot be read is an error.
result<std::optional<credentials>> credentials_from_env();

// The client side of the handshake. `ask` sends one request and returns its
// reply. Without credentials, a server that wants them is a clear error. A
// coordinator standing by answers hello with a redirect to the one that
// holds the shards: unavailable (what it says), and its address (empty if
// it knows none) in `*redirect` when given.
// (The reply that ends it names the other coordinators, from one that
// serves; `ask` sees every reply, so the client library takes them there.)
using ask_fn = std::function<result<schema::client_reply>(schema::client_request)>;
status client_handshake(const ask_fn& ask, std::uint32_t version, const credentials* cred,
                        std::string* redirect = nullptr);

}  // namespace trail::net
