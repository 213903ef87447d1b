// A connection with TLS on it or not, blocking-style (each wait bounded by
// io_limits): what every blocking user of trail's wires reads and writes —
// the client library, nodes asking a coordinator where to join, the data
// path, the CAF control relay. Plain, it is the socket's own calls (the
// data path's zero-copy sendmsg/recvmsg); with TLS, the same calls through
// a tls_engine (tls.hpp).
#pragma once

#include <memory>
#include <span>
#include <string>

#include <trail/status.hpp>

#include "actors/net/socket.hpp"
#include "actors/net/tls.hpp"

namespace trail::net {

class stream {
 public:
  stream() = default;
  // A connection of ours: plain.
  explicit stream(socket s) : sock_(std::move(s)) {}
  // Connects to "host:port" within io.timeout, then as over().
  static result<stream> connect(const std::string& address, const io_limits& io,
                                std::shared_ptr<tls_context> tls = nullptr);
  // A connected socket, as a stream: with `tls`, runs the TLS handshake
  // first, as the context's side (a client's or a server's). Errors:
  // unavailable, invalid_argument (a peer that does not speak TLS, a
  // certificate the CA did not sign: OpenSSL's reason).
  static result<stream> over(socket s, const io_limits& io, std::shared_ptr<tls_context> tls);

  // As socket::write / socket::read_at_least (at most 4 parts).
  status write(std::span<const iovec> parts, const io_limits& io);
  result<std::size_t> read_at_least(std::span<const iovec> parts, std::size_t at_least, const io_limits& io);

  void close() { sock_.close(); }
  // Gives up the descriptor (the caller closes it). REQUIRES: !encrypted().
  int release() { return sock_.release(); }
  bool valid() const { return sock_.valid(); }
  bool encrypted() const { return tls_ != nullptr; }
  int fd() const { return sock_.fd(); }
  std::string local_address() const { return sock_.local_address(); }
  std::string peer_address() const { return sock_.peer_address(); }
  // Bytes or the end of the stream are waiting (on the socket: plaintext
  // TLS already decrypted is not counted).
  bool readable() const { return sock_.readable(); }

 private:
  friend class tls_relay;  // pumps the engine itself
  socket sock_;
  std::unique_ptr<tls_engine> tls_;
};

}  // namespace trail::net
