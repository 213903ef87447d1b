// Who may talk to a node (README "Security"), against real binaries: a node
// started with --secret-file refuses clients without the secret, with a
// wrong one, or replaying another connection's handshake; an invoke-only
// token may invoke and read but not deploy, undeploy, put into an app's
// scope or run admin commands (a cluster's members: auth_cluster_test.cpp).
// Every refusal leaves the process serving the others.
#include <sys/stat.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "../support/data_bytes.hpp"
#include "../support/temp_dir.hpp"
#include "actors/net/auth.hpp"
#include "node_fixture.hpp"
#include "raw_client.hpp"

namespace trail::testing {
namespace {


template <class T>
void expect_refused(const result<T>& r, const std::string& says) {
  ASSERT_FALSE(r.ok()) << "expected a refusal saying '" << says << "'";
  EXPECT_EQ(r.error().code(), errc::invalid_argument) << r.error().to_string();
  EXPECT_NE(r.error().message().find(says), std::string::npos) << r.error().to_string();
}

class auth_test : public node_test {
 protected:
  void SetUp() override {
    // The node creates both keys on its first start; the fixture's own client proves with the secret.
    ::setenv("TRAIL_SECRET_FILE", secret_.c_str(), 1);
    start_node({"--secret-file", secret_.string(), "--invoke-token-file", token_.string()});
    ::unsetenv("TRAIL_SECRET_FILE");
    if (HasFatalFailure()) return;
    auto r = client_->deploy(data_manifest);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
  void TearDown() override {
    ::unsetenv("TRAIL_SECRET_FILE");
    node_test::TearDown();
  }

  void still_serving() {
    auto r = client_->invoke("data", {}, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->output, "no input");
  }

  temp_dir dir_;
  std::filesystem::path secret_ = dir_.path() / "secret", token_ = dir_.path() / "token";
};

TEST_F(auth_test, TheNodeCreatedItsKeysReadableByItsOwnerOnly) {
  for (auto& f : {secret_, token_}) {
    struct stat st {};
    ASSERT_EQ(::stat(f.c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
    EXPECT_TRUE(net::load_key(f).ok()) << f;
  }
}

TEST_F(auth_test, NoKeyOrAWrongKeyIsRefusedAndTheNodeServesOn) {
  expect_refused(client::connect(address_), "requires authentication");
  auto wrong = dir_.path() / "wrong";
  ASSERT_TRUE(net::create_key(wrong).ok());
  expect_refused(client::connect(address_, key_file{wrong}), "authentication failed: wrong proof");
  // The token is not the secret.
  expect_refused(client::connect(address_, key_file{token_}), "authentication failed: wrong proof");
  auto ok = client::connect(address_, key_file{secret_});
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  // Each refused proof is one line in the node's log, saying why.
  auto logs = ok->admin("logs", {});
  ASSERT_TRUE(logs.ok()) << logs.error().to_string();
  const auto lines = nlohmann::json::parse(*logs)["lines"];
  int refusals = 0;
  for (auto& l : lines) refusals += l["text"].get<std::string>().find("authentication failed: wrong proof") != std::string::npos;
  EXPECT_EQ(refusals, 2) << lines.dump(1);
  auto r = ok->invoke("data", {}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  still_serving();
}

TEST_F(auth_test, AnUnsafeOrMissingKeyFileIsAClearErrorBeforeAnythingIsSent) {
  auto open = dir_.path() / "open";
  std::ofstream(open) << std::string(64, 'a') << "\n";
  ::chmod(open.c_str(), 0644);
  auto r = client::connect(address_, key_file{open});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("chmod 600"), std::string::npos) << r.error().to_string();
  EXPECT_FALSE(client::connect(address_, key_file{dir_.path() / "none"}).ok());
  // A node refuses to start with it.
  auto node = run_program(TRAIL_NODE_PATH, {"--standalone", "--listen", "127.0.0.1:0", "--secret-file", open.string()});
  EXPECT_NE(node.code, 0);
  EXPECT_NE(node.err.find("chmod 600"), std::string::npos) << node.err;
}

// Raw frames: what a client must not get away with.
TEST_F(auth_test, RequestsBeforeProofAReplayedProofAndBigFramesAreRefused) {
  {  // a request before any handshake
    raw_client raw(address_);
    auto q = request(schema::client_request::kind::apps, 1);
    raw.send(q);
    auto r = raw.receive();
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->error.message().find("a request before authentication"), std::string::npos) << r->error.to_string();
    EXPECT_FALSE(raw.receive().ok()) << "the connection is closed";
  }
  // A good handshake on one connection ...
  auto secret = net::load_key(secret_);
  ASSERT_TRUE(secret.ok());
  raw_client first(address_);
  first.send(request(schema::client_request::kind::hello, 1));
  auto challenge = first.receive();
  ASSERT_TRUE(challenge.ok());
  ASSERT_EQ(challenge->what, schema::client_reply::kind::challenge);
  auto auth = request(schema::client_request::kind::auth, 2);
  auth.role = "admin", auth.nonce = net::fresh_nonce();
  auth.proof = net::client_proof(*secret, net::role::admin, challenge->nonce, auth.nonce);
  first.send(auth);
  auto ok = first.receive();
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->what, schema::client_reply::kind::auth_ok);
  EXPECT_TRUE(net::same(ok->proof, net::server_proof(*secret, net::role::admin, auth.nonce, challenge->nonce)));
  {  // ... replayed on another: its challenge differs, so the proof does not hold
    raw_client second(address_);
    second.send(request(schema::client_request::kind::hello, 1));
    auto other = second.receive();
    ASSERT_TRUE(other.ok());
    EXPECT_NE(other->nonce, challenge->nonce);
    second.send(auth);
    auto r = second.receive();
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->error.message().find("wrong proof"), std::string::npos) << r->error.to_string();
  }
  {  // a server's proof sent back as a client's
    raw_client third(address_);
    third.send(request(schema::client_request::kind::hello, 1));
    auto c3 = third.receive();
    ASSERT_TRUE(c3.ok());
    auto mirror = request(schema::client_request::kind::auth, 2);
    mirror.role = "admin", mirror.nonce = net::fresh_nonce();
    mirror.proof = net::server_proof(*secret, net::role::admin, mirror.nonce, c3->nonce);
    third.send(mirror);
    auto r = third.receive();
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->error.message().find("wrong proof"), std::string::npos) << r->error.to_string();
  }
  {  // a big frame before proof
    raw_client big(address_);
    auto q = request(schema::client_request::kind::deploy, 1);
    q.manifest = std::string(64 << 10, 'x');
    big.send(q);
    auto r = big.receive();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->what, schema::client_reply::kind::error);
    EXPECT_FALSE(big.receive().ok()) << "the connection is closed";
  }
  still_serving();
}

TEST_F(auth_test, AnInvokeTokenInvokesAndReadsButDoesNotAdminister) {
  ASSERT_TRUE(client_->put("data", "store", "k", "v").ok());
  auto c = client::connect(address_, key_file{token_, true});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  auto r = c->invoke("data", {}, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto g = c->get("data", "store", "k");
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(*g, "v");
  auto p = c->put("data", "in", "obj", "bytes", put_scope::new_session);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_TRUE(c->result_of(p->session, 30s).ok());
  expect_refused(c->deploy(data_manifest), "permission denied");
  expect_refused(c->undeploy("data"), "permission denied");
  expect_refused(c->put("data", "store", "k2", "v"), "permission denied");
  expect_refused(c->admin("sessions"), "permission denied");
  EXPECT_EQ(*client_->apps(), (std::vector<std::string>{"data v1"})) << "nothing changed";
  still_serving();
}

}  // namespace
}  // namespace trail::testing
