// TLS as trail's wires use it (actors/net/tls.hpp): two engines pumped into
// each other byte for byte, then the blocking helpers over loopback, with
// certificates made by scripts/tls-certs.
#include "actors/net/tls.hpp"
#include "actors/net/tls_relay.hpp"

#include <gtest/gtest.h>

#include <future>

#include "../support/tls_files.hpp"

namespace trail::net {
namespace {

using namespace std::chrono_literals;
using testing::tls_files;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// Moves `from`'s cipher output into `to`; returns what crossed.
std::string pump(tls_engine& from, tls_engine& to) {
  std::string wire;
  from.take_output(wire);
  to.feed(bytes_of(wire));
  return wire;
}

// Runs both handshakes to their end, or to the first error (returned).
status shake(tls_engine& client, tls_engine& server) {
  for (int round = 0; round < 10; ++round) {
    auto c = client.handshake();
    if (!c) return c.error();
    pump(client, server);
    auto s = server.handshake();
    if (!s) return s.error();
    pump(server, client);
    if (*c && *s) return {};
  }
  return status::internal("no end to the handshake");
}

std::string read_all(tls_engine& e) {
  std::string got;
  std::byte buf[1024];
  for (;;) {
    auto n = e.read(buf);
    EXPECT_TRUE(n.ok()) << n.error().to_string();
    if (!n.ok() || *n == 0) return got;
    got.append(reinterpret_cast<const char*>(buf), *n);
  }
}

struct tls_test : ::testing::Test {
  tls_files files;
  std::shared_ptr<tls_context> server_ctx() {
    auto c = tls_context::server(files.cert(), files.key());
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    return c.ok() ? *c : nullptr;
  }
  std::shared_ptr<tls_context> client_ctx(const std::filesystem::path& ca) {
    auto c = tls_context::client(ca);
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    return c.ok() ? *c : nullptr;
  }
};

TEST_F(tls_test, AClientTrustingTheCaTalksBothWaysAndTheWireCarriesNoPlaintext) {
  tls_engine client(client_ctx(files.ca())), server(server_ctx());
  ASSERT_TRUE(shake(client, server).ok());
  EXPECT_TRUE(client.established());
  EXPECT_TRUE(server.established());
  const std::string ask = "invoke wordcount 'the quick brown fox' PLAINTEXT-MARKER";
  ASSERT_TRUE(client.write(bytes_of(ask)).ok());
  std::string wire = pump(client, server);
  EXPECT_EQ(wire.find("PLAINTEXT-MARKER"), std::string::npos) << "the cipher bytes hold the plaintext";
  EXPECT_EQ(read_all(server), ask);
  const std::string answer(100000, 'x');  // larger than one TLS record
  ASSERT_TRUE(server.write(bytes_of(answer)).ok());
  pump(server, client);
  EXPECT_EQ(read_all(client), answer);
}

TEST_F(tls_test, AClientRefusesAServerItsCaDidNotSign) {
  tls_engine client(client_ctx(files.other_ca())), server(server_ctx());
  status st = shake(client, server);
  EXPECT_EQ(st.code(), errc::invalid_argument) << st.to_string();
  EXPECT_NE(st.message().find("certificate"), std::string::npos) << st.to_string();
  EXPECT_FALSE(client.established());
}

TEST_F(tls_test, AServerRefusesBytesThatAreNotTls) {
  tls_engine server(server_ctx());
  server.feed(bytes_of(std::string("\0\0\0\0\x10\0\0\0hello, trail", 20)));
  auto r = server.handshake();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::invalid_argument) << r.error().to_string();
}

TEST_F(tls_test, BadFilesAreClearErrors) {
  auto missing = tls_context::server(files.cert().string() + ".missing", files.key());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("--tls-cert"), std::string::npos) << missing.error().to_string();
  auto mismatched = tls_context::server(files.cert(), files.stranger_key());
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.error().message().find("is not the key of"), std::string::npos) << mismatched.error().to_string();
  auto no_ca = tls_context::client(files.ca().string() + ".missing");
  ASSERT_FALSE(no_ca.ok());
  EXPECT_NE(no_ca.error().message().find("--tls-ca"), std::string::npos) << no_ca.error().to_string();
}

TEST_F(tls_test, TheBlockingHelpersRunOverLoopback) {
  stop_signal stop;
  io_limits io{&stop, 5s};
  auto l = listen_on("127.0.0.1", 0);
  ASSERT_TRUE(l.ok());
  auto sctx = server_ctx();
  auto served = std::async(std::launch::async, [&]() -> std::string {
    auto s = accept_from(*l, stop);
    if (!s) return "accept: " + s.error().message();
    tls_engine e(sctx);
    if (status st = tls_handshake(*s, e, io); !st.ok()) return "handshake: " + st.message();
    std::string got(5, '\0');
    const iovec into[] = {io_part(got.data(), got.size())};
    auto n = tls_read_at_least(*s, e, into, 5, io);
    if (!n) return "read: " + n.error().message();
    const iovec back[] = {io_part(got.data(), got.size())};
    if (status st = tls_write(*s, e, back, io); !st.ok()) return "write: " + st.message();
    return got;
  });
  auto s = connect_to(l->local_address(), io);
  ASSERT_TRUE(s.ok());
  tls_engine e(client_ctx(files.ca()));
  ASSERT_TRUE(tls_handshake(*s, e, io).ok());
  const std::string hello = "hello";
  const iovec out[] = {io_part(hello.data(), 2), io_part(hello.data() + 2, 3)};
  ASSERT_TRUE(tls_write(*s, e, out, io).ok());
  std::string echo(5, '\0');
  const iovec into[] = {io_part(echo.data(), echo.size())};
  auto n = tls_read_at_least(*s, e, into, 5, io);
  ASSERT_TRUE(n.ok()) << n.error().to_string();
  EXPECT_EQ(echo, "hello");
  EXPECT_EQ(served.get(), "hello");
}

}  // namespace
// The relay (tls_relay.hpp): a plaintext socket on one side, TLS on the
// other, both ways, a large write included; closing the plaintext side
// closes the TLS connection.
TEST_F(tls_test, ARelayCarriesPlaintextThroughTlsBothWaysAndClosesWithItsSide) {
  auto l = listen_on("127.0.0.1", 0);
  ASSERT_TRUE(l.ok());
  stop_signal stop;
  io_limits io{&stop, std::chrono::seconds(10)};
  auto server_side = std::async(std::launch::async, [&]() -> result<stream> {
    auto s = accept_from(*l, stop);
    if (!s) return s.error();
    return stream::over(std::move(*s), io, server_ctx());
  });
  auto dialed = stream::connect(l->local_address(), io, client_ctx(files.ca()));
  ASSERT_TRUE(dialed.ok()) << dialed.error().to_string();
  auto served = server_side.get();
  ASSERT_TRUE(served.ok()) << served.error().to_string();
  auto relay = tls_relay::start(std::move(*dialed));
  ASSERT_TRUE(relay.ok()) << relay.error().to_string();
  socket& local = relay->second;

  const std::string ask(300000, 'q');  // larger than the relay's buffers take in one go
  const iovec out[] = {io_part(ask.data(), ask.size())};
  auto writer = std::async(std::launch::async, [&] { return local.write(out, io); });
  std::string got(ask.size(), '\0');
  const iovec in[] = {io_part(got.data(), got.size())};
  auto n = served->read_at_least(in, got.size(), io);
  ASSERT_TRUE(n.ok()) << n.error().to_string();
  EXPECT_TRUE(writer.get().ok());
  EXPECT_EQ(got, ask);

  const std::string answer = "answered through TLS";
  const iovec back[] = {io_part(answer.data(), answer.size())};
  ASSERT_TRUE(served->write(back, io).ok());
  std::string heard(answer.size(), '\0');
  ASSERT_TRUE(local.read(std::as_writable_bytes(std::span(heard.data(), heard.size())), io).ok());
  EXPECT_EQ(heard, answer);

  local.close();
  std::byte b;
  const iovec one[] = {io_part(&b, 1)};
  EXPECT_FALSE(served->read_at_least(one, 1, io).ok()) << "the TLS side stayed open";
}

}  // namespace trail::net
