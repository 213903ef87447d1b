#include "actors/net/control.hpp"

#include "actors/core/address_list.hpp"

#include "actors/net/socket.hpp"
#include "actors/net/stream.hpp"
#include "schema/client.hpp"
#include "schema/frame_buffer.hpp"

namespace trail::net {

result<coordinator_ports> control_address(const std::string& address, std::chrono::milliseconds timeout,
                                          std::uint32_t version, const credentials* cred,
                                          std::shared_ptr<tls_context> tls) {
  stop_signal never;
  io_limits io{&never, timeout};
  auto sock = stream::connect(address, io, std::move(tls));
  if (!sock) return sock.error();
  schema::frame_buffer in(64 << 10);
  std::uint64_t next_id = 1;
  // One request, and its reply (errors as errors).
  auto ask = [&](schema::client_request q) -> result<schema::client_reply> {
    q.id = next_id++;
    std::string out;
    schema::encode(q, out);
    iovec part = io_part(out.data(), out.size());
    if (status s = sock->write({&part, 1}, io); !s.ok()) return s;
    for (;;) {
      auto frame = in.next();
      if (!frame) return frame.error();
      if (!frame->empty()) {
        auto r = schema::decode_reply(*frame);
        if (!r) return r.error();
        if (r->what == schema::client_reply::kind::error) return r->error;
        return std::move(*r);
      }
      auto room = in.space();
      iovec into = io_part(room.data(), room.size());
      auto n = sock->read_at_least({&into, 1}, 1, io);
      if (!n) return n.error();
      in.commit(*n);
    }
  };
  if (status s = client_handshake(ask, version, cred); !s.ok()) return s;
  schema::client_request q;
  q.what = schema::client_request::kind::control;
  auto r = ask(q);
  if (!r) return r.error();
  if (r->what != schema::client_reply::kind::control || r->text.rfind(':') == std::string::npos ||
      r->wire.rfind(':') == std::string::npos)
    return status::invalid(address + " gave no control addresses");
  std::string local = sock->local_address();
  // A coordinator listening on every interface names its ports on a
  // wildcard host: they are at the host its gateway was reached at.
  std::string there = address.substr(0, address.rfind(':'));
  return coordinator_ports{core::reachable_at(r->text, there), core::reachable_at(r->wire, there),
                           local.substr(0, local.rfind(':'))};
}

}  // namespace trail::net
