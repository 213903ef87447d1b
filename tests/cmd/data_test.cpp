// Data in and out against a real standalone node: objects put into an app's
// buckets (client library and the `trail` binary) and read back, of 8 B and
// 256 MiB, with checksums; puts that fire triggers; and bad input, after
// which the node serves on.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <streambuf>

#include <nlohmann/json.hpp>

#include "../support/data_bytes.hpp"
#include "node_fixture.hpp"

namespace trail::testing {
namespace {

class data_test : public node_test {
 protected:
  void SetUp() override {
    node_test::SetUp();
    if (HasFatalFailure()) return;
    auto r = client_->deploy(data_manifest);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }

  // A put and a get of a fresh key, and an invocation: the node serves on.
  void still_serving() {
    auto p = client_->put("data", "store", "alive-" + std::to_string(++alive_), "still here");
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    auto g = client_->get("data", "store", "alive-" + std::to_string(alive_));
    ASSERT_TRUE(g.ok()) << g.error().to_string();
    EXPECT_EQ(*g, "still here");
    auto r = client_->invoke("data", {}, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->output, "no input");
  }

  std::uint64_t store_bytes_used() {
    auto s = client_->status_json();
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    return s.ok() ? nlohmann::json::parse(*s)["store"]["bytes_used"].get<std::uint64_t>() : 0;
  }

  int alive_ = 0;
};

class big_data_test : public data_test {
 protected:
  void SetUp() override {
    store_size_ = "272M";  // 256 MiB and the executors' arenas
    data_test::SetUp();
  }
};

TEST_F(data_test, AnEightByteObjectRoundTripsWithItsChecksum) {
  const std::string bytes("8 b\0tes!", 8);
  auto p = client_->put("data", "store", "small", bytes);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->session, 0u) << "app scope: no session";
  EXPECT_EQ(p->size, 8u);
  auto g = client_->get("data", "store", "small");
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(g->size(), 8u);
  EXPECT_EQ(checksum(*g), checksum(bytes));
  auto empty = client_->put("data", "store", "empty", "");
  ASSERT_TRUE(empty.ok()) << empty.error().to_string();
  auto e = client_->get("data", "store", "empty");
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  EXPECT_EQ(*e, "");
}

TEST_F(big_data_test, A256MiBObjectStreamsInAndOutWithItsChecksum) {
  const std::string bytes = payload(256u << 20, 7);
  auto p = client_->put("data", "store", "big", bytes);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->size, bytes.size());
  checksum_buf sink;
  std::ostream out(&sink);
  auto n = client_->get_to("data", "store", "big", out);
  ASSERT_TRUE(n.ok()) << n.error().to_string();
  EXPECT_EQ(*n, bytes.size());
  EXPECT_EQ(sink.size, bytes.size());
  EXPECT_EQ(sink.sum.hex(), checksum(bytes));
  // Undeploying the app lets its app-scoped objects go.
  ASSERT_TRUE(client_->undeploy("data").ok());
  EXPECT_LT(store_bytes_used(), 16u << 20);
}

TEST_F(data_test, APutInANewSessionFiresTheBucketsTriggerInThatSession) {
  const std::string bytes = payload(100000, 3);
  auto p = client_->put("data", "in", "obj-1", bytes, put_scope::new_session);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_NE(p->session, 0u);
  auto r = client_->result_of(p->session, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "obj-1 100000 " + checksum(bytes)) << "digest saw the object that was put";
  auto kept = client_->get("data", "digests", "obj-1");
  ASSERT_TRUE(kept.ok()) << kept.error().to_string();
  EXPECT_EQ(*kept, r->output) << "a keep: app bucket keeps a function's object after its session";
  auto again = client_->put("data", "in", "obj-1", "other bytes", put_scope::new_session);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  auto r2 = client_->result_of(again->session, 30s);
  ASSERT_TRUE(r2.ok()) << r2.error().to_string();
  EXPECT_EQ(r2->output, "obj-1 11 " + checksum("other bytes"));
  auto still = client_->get("data", "digests", "obj-1");
  ASSERT_TRUE(still.ok()) << still.error().to_string();
  EXPECT_EQ(*still, r->output) << "the first object of a key kept in app scope wins";
  // A bucket without triggers: the session has nothing to run and fails, as
  // an invoked one that ends without output does.
  auto quiet = client_->put("data", "store", "obj-2", "x", put_scope::new_session);
  ASSERT_TRUE(quiet.ok()) << quiet.error().to_string();
  expect_error(client_->result_of(quiet->session, 30s), errc::app_error, "no output");
}

TEST_F(data_test, AnAppScopedPutStartsASessionOfTheAppScopedTrigger) {
  auto p = client_->put("data", "feed", "ev-1", "event one");
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  // The firing starts a session of its own: find it (each look is a round
  // trip to the node, which has queued it by then or soon after).
  std::uint64_t fired = 0;
  for (auto until = std::chrono::steady_clock::now() + 10s; !fired && std::chrono::steady_clock::now() < until;) {
    auto listing = client_->admin("sessions", {"--app", "data"});
    ASSERT_TRUE(listing.ok()) << listing.error().to_string();
    auto j = nlohmann::json::parse(*listing);
    for (auto& s : j["sessions"]) fired = s["id"].get<std::uint64_t>();
  }
  ASSERT_NE(fired, 0u) << "no session started for the put object";
  auto r = client_->result_of(fired, 30s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "ev-1 9 " + checksum("event one"));
  auto kept = client_->get("data", "digests", "ev-1");
  ASSERT_TRUE(kept.ok()) << kept.error().to_string();
  EXPECT_EQ(*kept, r->output);
  auto g = client_->get("data", "feed", "ev-1");
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(*g, "event one");
}

TEST_F(data_test, BadPutsAndGetsGetClearErrorsAndTheNodeServesOn) {
  expect_error(client_->put("nope", "store", "k", "x"), errc::not_found, "no app \"nope\"");
  expect_error(client_->put("data", "nobucket", "k", "x"), errc::not_found, "no bucket \"nobucket\"");
  expect_error(client_->put("data", "store", "", "x"), errc::invalid_argument, "key must not be empty");
  expect_error(client_->put("data", "store", std::string(2000, 'k'), "x"), errc::invalid_argument, "longer than");
  std::istringstream nothing;  // refused before a byte is read
  expect_error(client_->put_stream("data", "store", "huge", nothing, 1ull << 30), errc::invalid_argument,
               "exceeds the store's capacity");
  ASSERT_TRUE(client_->put("data", "store", "once", "1").ok());
  expect_error(client_->put("data", "store", "once", "2"), errc::invalid_argument, "already");
  still_serving();

  // A full store (32 MiB): the second of two 20 MiB objects does not fit now.
  const std::string fill = payload(20u << 20, 1);
  ASSERT_TRUE(client_->put("data", "store", "fill-1", fill).ok());
  expect_error(client_->put("data", "store", "fill-2", fill), errc::overloaded, "");
  expect_error(client_->put("data", "in", "fill-3", fill, put_scope::new_session), errc::overloaded, "");
  auto back = client_->get("data", "store", "fill-1");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(checksum(*back), checksum(fill));

  expect_error(client_->get("data", "store", "missing"), errc::not_found, "no object \"store/missing\"");
  expect_error(client_->get("nope", "store", "k"), errc::not_found, "no app \"nope\"");
  expect_error(client_->get("data", "nobucket", "k"), errc::not_found, "no bucket \"nobucket\"");
  still_serving();
}

TEST_F(data_test, AClientThatLeavesMidPutLeavesNothingBehind) {
  std::uint64_t before = store_bytes_used();
  {
    auto c = client::connect(address_);
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    std::istringstream short_input(payload(5u << 20, 2));  // 5 MiB of the 10 announced
    expect_error(c->put_stream("data", "store", "cut", short_input, 10u << 20), errc::invalid_argument,
                 "input ended after");
  }
  // The node drops the object once it sees the connection close.
  auto until = std::chrono::steady_clock::now() + 10s;
  while (store_bytes_used() > before && std::chrono::steady_clock::now() < until) {
  }
  EXPECT_EQ(store_bytes_used(), before);
  expect_error(client_->get("data", "store", "cut"), errc::not_found, "no object");
  still_serving();
}

TEST_F(data_test, CliPutFromStdinAndGetRoundTrip) {
  const std::string bytes("bin\0ary\xff data\n", 14);
  auto p = cli({"put", "data", "store", "cli-key", "-"}, bytes);
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(p.out, "") << "an app-scoped put reports on stderr";
  auto g = cli({"get", "data", "store", "cli-key"});
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out, bytes) << "the bytes as they are";

  auto file = std::filesystem::temp_directory_path() / ("trail-get-" + std::to_string(::getpid()));
  auto o = cli({"get", "data", "store", "cli-key", "-o", file.string(), "--json"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(nlohmann::json::parse(o.out)["size"], bytes.size());
  std::ifstream in(file, std::ios::binary);
  std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(file);
  EXPECT_EQ(written, bytes);

  auto s = cli({"put", "data", "in", "k2", "-", "--session", "--wait", "--json"}, "hello");
  ASSERT_EQ(s.code, 0) << s.err;
  auto j = nlohmann::json::parse(s.out);
  EXPECT_EQ(j["output"], "k2 5 " + checksum("hello"));
  EXPECT_GT(j["session"].get<std::uint64_t>(), 0u);

  auto missing = cli({"get", "data", "store", "nope"});
  EXPECT_NE(missing.code, 0);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("no object \"store/nope\""), std::string::npos) << missing.err;
  auto help = cli({"help", "put"});
  EXPECT_NE(help.out.find("usage: put APP BUCKET KEY (FILE|-)"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace trail::testing
