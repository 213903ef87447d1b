#include "actors/net/stream.hpp"

namespace trail::net {

result<stream> stream::connect(const std::string& address, const io_limits& io, std::shared_ptr<tls_context> tls) {
  auto s = connect_to(address, io);
  if (!s) return s.error();
  return over(std::move(*s), io, std::move(tls));
}

result<stream> stream::over(socket s, const io_limits& io, std::shared_ptr<tls_context> tls) {
  stream out(std::move(s));
  if (tls) {
    out.tls_ = std::make_unique<tls_engine>(std::move(tls));
    if (status st = tls_handshake(out.sock_, *out.tls_, io); !st.ok()) return st;
  }
  return out;
}

status stream::write(std::span<const iovec> parts, const io_limits& io) {
  return tls_ ? tls_write(sock_, *tls_, parts, io) : sock_.write(parts, io);
}

result<std::size_t> stream::read_at_least(std::span<const iovec> parts, std::size_t at_least, const io_limits& io) {
  return tls_ ? tls_read_at_least(sock_, *tls_, parts, at_least, io) : sock_.read_at_least(parts, at_least, io);
}

}  // namespace trail::net
