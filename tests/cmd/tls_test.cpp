// TLS on the client wire (README "Security"), against a real standalone
// node with --tls-cert/--tls-key and certificates from scripts/tls-certs:
// a tap between client and node (a relay that keeps every byte) sees no
// plaintext of a deploy, an invoke, a put or a get — and, as a check that
// the tap works, sees it all without TLS. A client without the CA, or with
// another CA, is refused with a clear error, and the node serves on.
#include "../support/tcp_capture.hpp"
#include "../support/tls_files.hpp"
#include "node_fixture.hpp"

namespace trail::testing {
namespace {

class tls_test : public node_test {
 protected:
  void SetUp() override {}  // each test starts its node

  void start(bool tls) {
    if (tls) {
      ::setenv("TRAIL_TLS_CA", files_.ca().c_str(), 1);  // the fixture's client checks the node with it
      start_node({"--tls-cert", files_.cert().string(), "--tls-key", files_.key().string()});
    } else {
      start_node();
    }
  }
  void TearDown() override {
    ::unsetenv("TRAIL_TLS_CA");
    node_test::TearDown();
  }

  // Deploys, invokes, puts and gets through a tap; returns what it saw.
  std::string session_through_tap() {
    tcp_capture tap(address_);
    auto c = client::connect(tap.address());
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    if (!c.ok()) return "";
    EXPECT_TRUE(c->deploy(example("chain")).ok());
    auto r = c->invoke("chain", {"zebra", "quokka"}, 30s);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (r.ok()) {
      EXPECT_EQ(r->output, "<ZEBRA QUOKKA>");
    }
    EXPECT_TRUE(c->deploy(TRAIL_TEST_APPS_DIR "/flaky/data.yaml").ok());
    auto p = c->put("data", "store", "k", "okapi-payload-okapi");
    EXPECT_TRUE(p.ok()) << p.error().to_string();
    auto g = c->get("data", "store", "k");
    EXPECT_TRUE(g.ok()) << g.error().to_string();
    if (g.ok()) {
      EXPECT_EQ(*g, "okapi-payload-okapi");
    }
    return tap.bytes();
  }

  tls_files files_;
};

TEST_F(tls_test, ATapOnTheWireSeesNoPlaintextWithTlsAndAllOfItWithout) {
  start(false);
  std::string plain = session_through_tap();
  for (std::string word : {"zebra", "ZEBRA", "okapi-payload", "chain"})
    EXPECT_NE(plain.find(word), std::string::npos) << "the tap missed '" << word << "' on a plain connection";
  TearDown();

  start(true);
  std::string cipher = session_through_tap();
  EXPECT_GT(cipher.size(), 10000u) << "the library upload crossed the tap";
  for (std::string word : {"zebra", "ZEBRA", "quokka", "okapi-payload", "chain"})
    EXPECT_EQ(cipher.find(word), std::string::npos) << "'" << word << "' crossed the wire in plaintext";
}

TEST_F(tls_test, ClientsWithoutTheCaOrWithAnotherAreRefusedAndTheNodeServesOn) {
  start(true);
  ::unsetenv("TRAIL_TLS_CA");
  auto plain = client::connect(address_, 3s);
  ASSERT_FALSE(plain.ok()) << "a client without TLS was served";
  ::setenv("TRAIL_TLS_CA", files_.other_ca().c_str(), 1);
  auto stranger = client::connect(address_, 3s);
  ASSERT_FALSE(stranger.ok()) << "a client trusting another CA was served";
  EXPECT_EQ(stranger.error().code(), errc::invalid_argument) << stranger.error().to_string();
  EXPECT_NE(stranger.error().message().find("certificate"), std::string::npos) << stranger.error().to_string();
  ::setenv("TRAIL_TLS_CA", files_.ca().c_str(), 1);
  auto ok = client::connect(address_);
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  ASSERT_TRUE(ok->deploy(example("chain")).ok());
  auto r = ok->invoke("chain", {"still", "here"}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "<STILL HERE>");
  // The refusals left a line each in the node's log.
  std::string said = startup_ + drain_output();
  EXPECT_NE(said.find("closing a TLS connection"), std::string::npos) << said;
}

TEST_F(tls_test, AServerNeedsBothItsCertificateAndItsKey) {
  auto r = run_program(TRAIL_NODE_PATH, {"--standalone", "--listen", "127.0.0.1:0", "--tls-cert", files_.cert().string()});
  EXPECT_NE(r.code, 0);
  EXPECT_NE((r.out + r.err).find("TLS needs both --tls-cert and --tls-key"), std::string::npos) << r.out << r.err;
  r = run_program(TRAIL_NODE_PATH, {"--standalone", "--listen", "127.0.0.1:0", "--tls-cert", files_.cert().string(),
                                    "--tls-key", files_.stranger_key().string()});
  EXPECT_NE(r.code, 0);
  EXPECT_NE((r.out + r.err).find("is not the key of"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace trail::testing
