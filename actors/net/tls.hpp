// TLS for trail's own wires (OpenSSL, TLS 1.3 only), as a byte pump: a
// tls_engine takes the cipher bytes that arrived and gives back plaintext,
// takes plaintext and gives back cipher bytes to send. No sockets inside
// (memory BIOs), so the loop-driven servers (the gateway) and the blocking
// users (the client library) share it; tls_handshake/tls_write/
// tls_read_at_least run it over a blocking-style net::socket.
//
// Trust is the cluster's: servers show a certificate chain signed by the
// cluster's CA (--tls-cert/--tls-key), clients check it against that CA
// (--tls-ca). Addresses are not checked against names: any certificate the
// CA signed is a trail server. No session tickets, no renegotiation.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include <trail/status.hpp>

#include "actors/net/socket.hpp"

namespace trail::net {

class tls_context {
 public:
  // A server's: its certificate chain and private key (PEM files).
  // Errors: invalid_argument naming the file and what is wrong with it.
  static result<std::shared_ptr<tls_context>> server(const std::filesystem::path& cert, const std::filesystem::path& key);
  // A client's: the CA certificate (PEM) that signed the servers'.
  static result<std::shared_ptr<tls_context>> client(const std::filesystem::path& ca);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  struct impl;
  impl& raw() const { return *impl_; }

 private:
  explicit tls_context(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

class tls_engine {
 public:
  // A server's or a client's side, as `ctx` is.
  explicit tls_engine(std::shared_ptr<tls_context> ctx);
  ~tls_engine();
  tls_engine(const tls_engine&) = delete;
  tls_engine& operator=(const tls_engine&) = delete;

  // Cipher bytes from the peer.
  void feed(std::span<const std::byte> cipher);
  // Drives the handshake with what was fed; true once it is done.
  // Errors: invalid_argument (not TLS, a certificate the CA did not sign,
  // no common protocol: the reason OpenSSL gives).
  result<bool> handshake();
  bool established() const { return established_; }
  // Plaintext the peer sent, up to into.size() bytes; 0: none complete yet.
  // Errors: unavailable (the peer closed the TLS stream), invalid_argument
  // (a broken stream). REQUIRES: established().
  result<std::size_t> read(std::span<std::byte> into);
  // Encrypts all of `plain` into the output. REQUIRES: established().
  status write(std::span<const std::byte> plain);
  // Cipher bytes waiting to be sent, moved (appended) to `out`.
  bool has_output() const;
  void take_output(std::string& out);

 private:
  std::shared_ptr<tls_context> ctx_;
  struct state;
  std::unique_ptr<state> s_;
  bool established_ = false;
};

// Over a socket, blocking-style (each wait bounded by io.timeout), for one
// thread at a time. tls_handshake runs the handshake to its end;
// tls_write sends every byte of `parts`; tls_read_at_least reads at least
// `at_least` plaintext bytes into `parts`, and whatever else is decrypted
// already, up to their size.
status tls_handshake(socket& s, tls_engine& e, const io_limits& io);
status tls_write(socket& s, tls_engine& e, std::span<const iovec> parts, const io_limits& io);
result<std::size_t> tls_read_at_least(socket& s, tls_engine& e, std::span<const iovec> parts, std::size_t at_least,
                                      const io_limits& io);

// TLS on the members' wires (the node wire, the data path, the CAF control
// port): each member serves with its certificate (`server`) and checks the
// member it dials against the cluster's CA (`client`). Both or neither.
struct member_tls {
  std::shared_ptr<tls_context> server, client;
  explicit operator bool() const { return server && client; }
};

// The CA a client checks servers against: `ca`, else TRAIL_TLS_CA, if set
// (none: plain TCP). A file that cannot be read is an error.
result<std::shared_ptr<tls_context>> client_tls_from_env(const std::string& ca = "");
// A server's TLS: `cert` and `key` (--tls-cert/--tls-key), else
// TRAIL_TLS_CERT and TRAIL_TLS_KEY; none when neither is given, an error
// when only one is, or either file is bad.
result<std::shared_ptr<tls_context>> server_tls_from(std::string cert, std::string key);

// A cluster member's TLS (a node of a cluster, a coordinator): its server
// side from `cert`/`key` as server_tls_from, its client side from `ca` as
// client_tls_from_env. Every wire between members is TLS or none is, so a
// member has both or neither: one without the other is an error naming the
// missing flag.
result<member_tls> member_tls_from(const std::string& cert, const std::string& key, const std::string& ca);

}  // namespace trail::net
