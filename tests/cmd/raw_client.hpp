// A raw client-wire connection for tests that speak the wire themselves
// (malformed frames, a put left half done): no client library in between.
#pragma once

#include <gtest/gtest.h>

#include "actors/net/socket.hpp"
#include "actors/types.hpp"
#include "schema/client.hpp"
#include "schema/frame_buffer.hpp"

namespace trail::testing {

using namespace std::chrono_literals;

// A raw connection to the node's gateway.
class raw_client {
 public:
  explicit raw_client(const std::string& address) {
    auto s = net::connect_to(address, io());
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    if (s.ok()) sock_ = std::move(*s);
  }
  net::io_limits io() const { return {&stop_, 10s}; }

  void send_bytes(const std::string& bytes) {
    iovec part = net::io_part(bytes.data(), bytes.size());
    EXPECT_TRUE(sock_.write({&part, 1}, io()).ok());
  }
  void send(schema::client_request q) {
    std::string out;
    schema::encode(q, out);
    send_bytes(out);
  }
  // The next reply; an error status when the connection closed first.
  result<schema::client_reply> receive() {
    for (;;) {
      auto f = in_.next();
      if (!f) return f.error();
      if (!f->empty()) return schema::decode_reply(*f);
      auto room = in_.space();
      iovec into = net::io_part(room.data(), room.size());
      auto n = sock_.read_at_least({&into, 1}, 1, io());
      if (!n) return n.error();
      in_.commit(*n);
    }
  }
  void close() { sock_.close(); }

 private:
  net::stop_signal stop_;
  net::socket sock_;
  schema::frame_buffer in_{schema::max_client_frame};
};

inline schema::client_request request(schema::client_request::kind k, std::uint64_t id) {
  schema::client_request q;
  q.what = k;
  q.id = id;
  q.version = actors::protocol_version;
  return q;
}

}  // namespace trail::testing
