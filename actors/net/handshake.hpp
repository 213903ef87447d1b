// The cluster members' handshake: how a node or coordinator that opens a
// raw connection to another (the node wire, the data path, the CAF control
// port) proves it holds the cluster secret, and learns the other does too,
// before either reads a frame. Fixed-size raw bytes, nothing decoded first:
//
//   dialer   -> acceptor: "trail-m1" | dialer nonce (32)
//   acceptor -> dialer:   acceptor nonce (32) | server_proof(dialer nonce, acceptor nonce)
//   dialer   -> acceptor: client_proof(acceptor nonce, dialer nonce)
//
// (proofs: auth.hpp, HMAC-SHA256 with the secret, role admin). Each side's
// nonce is fresh per connection, so a recorded handshake replays nowhere.
// The dialer may send its first frames right behind its proof; feed() says
// how many of the bytes given were the handshake's.
//
// member_handshake is the pure core: bytes in, bytes out, no sockets, so
// the loop-driven wire (peers.cpp) and the blocking data path share it.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include <trail/status.hpp>

#include "actors/net/auth.hpp"
#include "actors/net/socket.hpp"
#include "actors/net/tls.hpp"

namespace trail::net {

class member_handshake {
 public:
  enum class side : std::uint8_t { dialer, acceptor };
  static constexpr std::size_t greeting_bytes = 8 + 32, answer_bytes = 64, proof_bytes = 32;

  member_handshake(side s, const key& secret);

  // Bytes to send now; the caller sends them all and clears the string.
  std::string& output() { return out_; }
  // Takes received bytes; returns how many belonged to the handshake (any
  // rest is the peer's first frames). invalid_argument: not a member's
  // handshake, or a wrong proof (the peer lacks the secret); the caller
  // closes the connection. A mismatched greeting fails at its first byte.
  result<std::size_t> feed(std::span<const std::byte> bytes);
  // Bytes still wanted before the next step (0 once done).
  std::size_t wanted() const { return done() ? 0 : expect_ - in_.size(); }
  bool done() const { return step_ == step::done; }

 private:
  enum class step : std::uint8_t { greeting, answer, proof, done };
  status complete();  // in_ holds expect_ bytes: check them and go on

  side side_;
  key secret_;
  step step_;
  std::size_t expect_;
  std::string in_, out_, own_nonce_, peer_nonce_;
};

// How a member's connections are guarded: the secret's handshake (none:
// no handshake), under it TLS (none: plain TCP).
struct member_security {
  std::optional<key> secret;
  member_tls tls;
};

// The error of a connection that broke off during the handshake.
status closed_during_handshake(const std::string& peer, const status& why);

// Runs a handshake to its end on a blocking-style connection (a socket or
// a stream, TLS or not): sends, then reads exactly what it wants, until
// done. Errors: invalid_argument (the peer has no or another secret),
// unavailable (the network; the peer closed, e.g. because it refused our
// proof, or went silent for io.timeout).
template <class Connection>
status run_handshake(Connection& c, const io_limits& io, member_handshake& h) {
  for (;;) {
    if (auto& out = h.output(); !out.empty()) {
      const iovec part[] = {io_part(out.data(), out.size())};
      if (status st = c.write(part, io); !st.ok()) return st;
      out.clear();
    }
    if (h.done()) return {};
    std::string buf(h.wanted(), '\0');
    const iovec part[] = {io_part(buf.data(), buf.size())};
    if (auto got = c.read_at_least(part, buf.size(), io); !got) return closed_during_handshake(c.peer_address(), got.error());
    if (auto used = h.feed(std::as_bytes(std::span(buf.data(), buf.size()))); !used) return used.error();
  }
}
template <class Connection>
status dial_handshake(Connection& c, const io_limits& io, const key& secret) {
  member_handshake h(member_handshake::side::dialer, secret);
  return run_handshake(c, io, h);
}
template <class Connection>
status accept_handshake(Connection& c, const io_limits& io, const key& secret) {
  member_handshake h(member_handshake::side::acceptor, secret);
  return run_handshake(c, io, h);
}

}  // namespace trail::net
