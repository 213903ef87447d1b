// The etcd client (JSON gateway) and the app records a coordinator keeps
// there, against a real one-member etcd on loopback.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "../support/data_bytes.hpp"
#include "../support/etcd_member.hpp"
#include "actors/durable/app_records.hpp"
#include "actors/durable/node_records.hpp"
#include "actors/durable/session_records.hpp"

namespace trail::testing {
namespace {

using durable::write_op;

TEST(Base64, RoundTripsEveryLengthAndRejectsGarbage) {
  for (std::size_t n = 0; n < 70; ++n) {
    std::string in = payload(n, n);
    auto out = durable::base64_decode(durable::base64_encode(in));
    ASSERT_TRUE(out.ok()) << n;
    EXPECT_EQ(*out, in) << n;
  }
  EXPECT_EQ(durable::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(durable::base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(durable::base64_decode("Zm9").ok());
  EXPECT_FALSE(durable::base64_decode("Zm9*").ok());
  EXPECT_FALSE(durable::base64_decode("Z=9v").ok());
}

TEST(PrefixEnd, IsTheFirstKeyPastThePrefix) {
  EXPECT_EQ(durable::prefix_end("trail/apps/"), "trail/apps0");
  EXPECT_EQ(durable::prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(durable::prefix_end(""), std::string(1, '\0'));
}

TEST(EtcdEndpoints, BadListsAreClearErrors) {
  EXPECT_FALSE(durable::etcd::open("").ok());
  EXPECT_FALSE(durable::etcd::open("localhost").ok());
  EXPECT_FALSE(durable::etcd::open("h:1,h:x").ok());
  auto ok = durable::etcd::open("http://127.0.0.1:2379,127.0.0.1:2380");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->endpoints(), (std::vector<std::string>{"127.0.0.1:2379", "127.0.0.1:2380"}));
}

TEST(SessionRecords, RoundTripBinaryArgumentsAndRefuseMalformedOnes) {
  durable::stored_session s{0x0001000000000abcull, "chain", {std::string("a\0\xff", 3), ""}, 5000, 0xfedcba9876543210ull};
  std::string key = durable::session_key(s.id);
  EXPECT_EQ(key, "trail/sessions/0001000000000abc");
  auto back = durable::decode_session(key, durable::encode_session(s));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->id, s.id);
  EXPECT_EQ(back->app, "chain");
  EXPECT_EQ(back->args, s.args);
  EXPECT_EQ(back->timeout_ms, 5000u);
  EXPECT_EQ(back->request, 0xfedcba9876543210ull) << "the client's id, all 64 bits";
  s.request = 0;  // none: a record written before request ids reads back as none
  back = durable::decode_session(key, durable::encode_session(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->request, 0u);
  EXPECT_FALSE(durable::decode_session(key, "{\"app\":\"a\",\"args\":[],\"timeout_ms\":0,\"request\":\"x\"}").ok());
  EXPECT_FALSE(durable::decode_session("trail/apps/x", durable::encode_session(s)).ok());
  EXPECT_FALSE(durable::decode_session(key, "{\"app\":1}").ok());
  EXPECT_FALSE(durable::decode_session(key, "{\"app\":\"a\",\"args\":[\"***\"],\"timeout_ms\":0}").ok());
}

TEST(NodeRecords, RoundTripAndRefuseMalformedOnes) {
  durable::stored_node n{"n1", 3, 0x1234567890ull, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", 4, "127.0.0.1:9"};
  std::string key = durable::node_key(n.name);
  EXPECT_EQ(key, "trail/nodes/n1");
  auto back = durable::decode_node(key, durable::encode_node(n));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->name, "n1");
  EXPECT_EQ(back->number, 3u);
  EXPECT_EQ(back->incarnation, 0x1234567890ull);
  EXPECT_EQ(back->wire, n.wire);
  EXPECT_EQ(back->data, n.data);
  EXPECT_EQ(back->client, n.client);
  EXPECT_EQ(back->executors, 4u);
  EXPECT_EQ(back->coordinator, "127.0.0.1:9");
  EXPECT_FALSE(durable::decode_node("trail/nodes/", durable::encode_node(n)).ok()) << "a key without a name";
  EXPECT_FALSE(durable::decode_node("trail/apps/n1", durable::encode_node(n)).ok());
  EXPECT_FALSE(durable::decode_node(key, "not json").ok());
  EXPECT_FALSE(durable::decode_node(key, "{\"number\":-1,\"incarnation\":0,\"executors\":0,\"wire\":\"\",\"data\":\"\","
                                         "\"client\":\"\",\"coordinator\":\"\"}").ok());
  EXPECT_FALSE(durable::decode_node(key, "{\"number\":1,\"incarnation\":0,\"executors\":0}").ok());
}

TEST(ResultRecords, RoundTripOutputsAndErrorsAndKeepOnlyTheSizeOfLargeOutputs) {
  durable::stored_result ok{7, true, std::string("out\0put", 7), 7, 0, {}, 0x8000000000000001ull};
  auto back = durable::decode_result(durable::result_key(7), durable::encode_result(ok));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(back->ok);
  EXPECT_EQ(back->output, ok.output);
  EXPECT_EQ(back->output_size, 7u);
  EXPECT_EQ(back->request, 0x8000000000000001ull);
  durable::stored_result failed{8, false, {}, 0, static_cast<std::uint16_t>(errc::not_found), "no such app"};
  back = durable::decode_result(durable::result_key(8), durable::encode_result(failed));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->ok);
  EXPECT_EQ(back->code, static_cast<std::uint16_t>(errc::not_found));
  EXPECT_EQ(back->message, "no such app");
  std::string big(durable::max_kept_output + 1, 'x');
  back = durable::decode_result(durable::result_key(9), durable::encode_result({9, true, big, big.size(), 0, {}}));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->output.empty()) << "too large to keep";
  EXPECT_EQ(back->output_size, big.size());
  EXPECT_FALSE(durable::decode_result("trail/sessions/0000000000000001", "{\"ok\":true}").ok());
  EXPECT_FALSE(durable::decode_result(durable::result_key(1), "{\"ok\":1}").ok());
}

TEST(ResultRecords, AFailureWithoutACodeOrWithAnUnknownOneReadsAsInternal) {
  for (const char* text : {"{\"ok\":false,\"message\":\"m\"}", "{\"ok\":false,\"code\":0,\"message\":\"m\"}",
                           "{\"ok\":false,\"code\":999,\"message\":\"m\"}"}) {
    auto back = durable::decode_result(durable::result_key(3), text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(back->code, static_cast<std::uint16_t>(errc::internal)) << text;
  }
  durable::stored_result late{4, false, {}, 0, static_cast<std::uint16_t>(errc::deadline_exceeded), "late"};
  auto back = durable::decode_result(durable::result_key(4), durable::encode_result(late));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->code, static_cast<std::uint16_t>(errc::deadline_exceeded));
}

// Ports a test or a tool picks for a process it starts later come from below
// the kernel's ephemeral range, where no bind to port 0 (another test's node)
// can take them meanwhile.
TEST(FreeLoopbackPorts, AreDistinctBindableAndBelowTheEphemeralRange) {
  int ephemeral_low = 0;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
  ASSERT_GT(ephemeral_low, 11000) << "this machine leaves no room below its ephemeral range";
  auto ports = durable::free_loopback_ports(8);
  ASSERT_EQ(ports.size(), 8u);
  EXPECT_EQ(std::set<int>(ports.begin(), ports.end()).size(), 8u);
  for (int p : ports) {
    EXPECT_GE(p, 10000);
    EXPECT_LT(p, ephemeral_low);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(p));
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << "port " << p << " is not free";
    ::close(fd);
  }
}

TEST(ClusterPrefix, EndsInASlashAndRefusesWhatCouldLeaveItsNamespace) {
  EXPECT_EQ(*durable::cluster_prefix(""), "");
  EXPECT_EQ(*durable::cluster_prefix("prod"), "prod/") << "so that prod never sees prod2's keys";
  EXPECT_EQ(*durable::cluster_prefix("clusters/prod-2.eu_1/"), "clusters/prod-2.eu_1/");
  for (std::string bad : std::vector<std::string>{"/prod", "a//b", "..", "a/../b", "a b", "a\nb", std::string("a\0b", 3), "é"}) {
    auto p = durable::cluster_prefix(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error().code(), errc::invalid_argument);
  }
}

class etcd_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = durable::etcd::open(etcd_.endpoint());
    ASSERT_TRUE(c.ok());
    db_.emplace(std::move(*c));
  }
  etcd_member etcd_;
  std::optional<durable::etcd> db_;
};

TEST_F(etcd_test, PutGetRangeEraseAndTransactions) {
  ASSERT_TRUE(db_->put("a/1", std::string("one\0", 4)).ok());
  ASSERT_TRUE(db_->put("a/2", "two").ok());
  ASSERT_TRUE(db_->put("b/1", "other").ok());
  auto one = db_->get("a/1");
  ASSERT_TRUE(one.ok() && *one) << (one.ok() ? "missing" : one.error().to_string());
  EXPECT_EQ((*one)->value, std::string("one\0", 4));
  EXPECT_FALSE(*db_->get("a/3")) << "absent";
  auto a = db_->range("a/");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[1].key, "a/2");
  ASSERT_TRUE(db_->write_all({{write_op::kind::put, "a/3", "three"}, {write_op::kind::erase, "a/1", {}}}).ok());
  a = db_->range("a/");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].key, "a/2");
  ASSERT_TRUE(db_->erase_prefix("a/").ok());
  EXPECT_TRUE(db_->range("a/")->empty());
  EXPECT_EQ(db_->range("b/")->size(), 1u) << "another prefix is left alone";
  std::vector<write_op> too_many(129, {write_op::kind::put, "k", "v"});
  EXPECT_EQ(db_->write_all(too_many).code(), errc::invalid_argument);
}

// A client within() a prefix reads and writes only under it, and answers
// keys without it: two clusters' records, claims and fences never meet.
TEST_F(etcd_test, AClientWithinAPrefixNeverReachesPastIt) {
  ASSERT_TRUE(db_->put("trail/apps/root", "root's").ok());
  auto a = durable::etcd::open(etcd_.endpoint());
  auto b = durable::etcd::open(etcd_.endpoint());
  ASSERT_TRUE(a.ok() && b.ok());
  a->within("clusters/a/");
  b->within("clusters/b/");
  ASSERT_TRUE(a->put("trail/apps/x", "a's").ok());
  ASSERT_TRUE(a->write_all({{write_op::kind::put, "trail/apps/y", "a's too"}}).ok());
  ASSERT_TRUE(b->put("trail/apps/x", "b's").ok());
  auto raw = db_->range("clusters/a/");
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 2u);
  EXPECT_EQ((*raw)[0].key, "clusters/a/trail/apps/x") << "stored under the prefix";
  auto mine = a->range("trail/apps/");
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u) << "neither root's nor b's";
  EXPECT_EQ((*mine)[0].key, "trail/apps/x") << "answered without the prefix";
  EXPECT_EQ((*mine)[0].value, "a's");
  EXPECT_EQ((*b->get("trail/apps/x"))->value, "b's");
  EXPECT_EQ(a->range("")->size(), 2u) << "even everything is only its own";
  ASSERT_TRUE(a->erase_prefix("trail/").ok());
  EXPECT_TRUE(a->range("")->empty());
  EXPECT_EQ(b->range("")->size(), 1u) << "b's keys are left alone";
  EXPECT_EQ((*db_->get("trail/apps/root"))->value, "root's") << "and so are the root's";

  // Claims and fences: each cluster holds its own claim key.
  auto la = a->grant_lease(std::chrono::seconds(5));
  auto lb = b->grant_lease(std::chrono::seconds(5));
  ASSERT_TRUE(la.ok() && lb.ok());
  ASSERT_TRUE(a->claim("trail/coordinator/owner", "A", *la)->won);
  ASSERT_TRUE(b->claim("trail/coordinator/owner", "B", *lb)->won) << "a's claim is not b's";
  EXPECT_EQ(b->claim("trail/coordinator/owner", "B2", *lb)->holder, "B");
  a->fence_on("trail/coordinator/owner", "A");
  EXPECT_TRUE(a->put("trail/apps/z", "fenced write").ok()) << "its own claim holds";
  b->fence_on("trail/coordinator/owner", "A");  // (what b's key does not hold)
  EXPECT_FALSE(b->put("trail/apps/z", "refused").ok());
  EXPECT_TRUE(b->fenced());
  EXPECT_FALSE(*db_->get("trail/coordinator/owner")) << "nothing claimed at the root";
}

TEST_F(etcd_test, AnUnreachableEtcdIsUnavailableAndABackOneAnswersAgain) {
  ASSERT_TRUE(db_->put("k", "v").ok());
  etcd_.kill();
  auto r = db_->get("k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::unavailable) << r.error().to_string();
  EXPECT_NE(r.error().message().find("etcd is unavailable"), std::string::npos) << r.error().to_string();
  etcd_.restart();
  auto again = db_->get("k");
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  ASSERT_TRUE(*again);
  EXPECT_EQ((*again)->value, "v") << "what etcd had is still there";
}

TEST_F(etcd_test, AppsRoundTripWithTheirLibrariesInChunks) {
  durable::stored_app a{"chain", 3, "app: chain\n", {"libchain.so", "libother.so"},
                        {payload(2'000'000, 1), payload(10, 2)}};
  ASSERT_TRUE(durable::save_app(*db_, a).ok());
  EXPECT_EQ(db_->range(durable::library_prefix("chain", 3))->size(), 3u + 1u) << "2 MB in 768 KiB chunks, and one";
  std::vector<std::string> skipped;
  auto apps = durable::load_apps(*db_, skipped);
  ASSERT_TRUE(apps.ok()) << apps.error().to_string();
  ASSERT_EQ(apps->size(), 1u);
  EXPECT_TRUE(skipped.empty());
  auto& b = (*apps)[0];
  EXPECT_EQ(b.app, "chain");
  EXPECT_EQ(b.version, 3u);
  EXPECT_EQ(b.manifest, a.manifest);
  EXPECT_EQ(b.names, a.names);
  ASSERT_EQ(b.bytes.size(), 2u);
  EXPECT_EQ(checksum(b.bytes[0]), checksum(a.bytes[0]));
  EXPECT_EQ(b.bytes[1], a.bytes[1]);

  // A new version replaces it, and the old version's chunks go.
  a.version = 4;
  a.bytes[0] = payload(100, 3);
  ASSERT_TRUE(durable::save_app(*db_, a).ok());
  EXPECT_TRUE(db_->range(durable::library_prefix("chain", 3))->empty());
  apps = durable::load_apps(*db_, skipped);
  ASSERT_EQ(apps->size(), 1u);
  EXPECT_EQ((*apps)[0].version, 4u);

  // Forgotten: no record, no chunks; its latest version number stays.
  ASSERT_TRUE(durable::forget_app(*db_, "chain").ok());
  EXPECT_TRUE(durable::load_apps(*db_, skipped)->empty());
  EXPECT_TRUE(db_->range("trail/libs/")->empty());
  auto versions = durable::load_versions(*db_);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, (std::vector<std::pair<std::string, std::uint32_t>>{{"chain", 4}}));
}

TEST_F(etcd_test, ARecordWhoseChunksAreMissingIsSkippedWithAReason) {
  durable::stored_app a{"broken", 1, "app: broken\n", {"lib.so"}, {payload(1'000'000, 5)}};
  ASSERT_TRUE(durable::save_app(*db_, a).ok());
  ASSERT_TRUE(db_->erase_prefix(durable::chunk_key("broken", 1, 0, 1)).ok());
  ASSERT_TRUE(durable::save_app(*db_, {"fine", 1, "app: fine\n", {"f.so"}, {"bytes"}}).ok());
  std::vector<std::string> skipped;
  auto apps = durable::load_apps(*db_, skipped);
  ASSERT_TRUE(apps.ok());
  ASSERT_EQ(apps->size(), 1u);
  EXPECT_EQ((*apps)[0].app, "fine");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("lib.so of broken v1"), std::string::npos) << skipped[0];
}

// Claims under leases, and fencing: what lets a coordinator act for its
// shards only while it holds them.
TEST_F(etcd_test, AClaimHeldUnderALeaseFencesItsHoldersWritesOnceTheLeaseIsGone) {
  auto other = durable::etcd::open(etcd_.endpoint());
  ASSERT_TRUE(other.ok());
  auto mine = db_->grant_lease(std::chrono::seconds(30));
  auto theirs = other->grant_lease(std::chrono::seconds(30));
  ASSERT_TRUE(mine.ok() && theirs.ok());
  auto won = db_->claim("owner", "me", *mine);
  ASSERT_TRUE(won.ok()) << won.error().to_string();
  EXPECT_TRUE(won->won);
  auto lost = other->claim("owner", "them", *theirs);
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(lost->won);
  EXPECT_EQ(lost->holder, "me");
  auto left = db_->keep_alive(*mine);
  ASSERT_TRUE(left.ok()) << left.error().to_string();
  EXPECT_GT(*left, 0);

  db_->fence_on("owner", "me");
  ASSERT_TRUE(db_->put("data/1", "while holding").ok());
  ASSERT_TRUE(db_->write_all({{write_op::kind::put, "data/2", "x"}}).ok());
  ASSERT_TRUE(db_->revoke_lease(*mine).ok());  // as its running out does
  auto gone = db_->keep_alive(*mine);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), errc::not_found) << gone.error().to_string();
  for (auto st : {db_->put("data/3", "late"), db_->write_all({{write_op::kind::erase, "data/1", {}}}),
                  db_->erase_prefix("data/")}) {
    EXPECT_EQ(st.code(), errc::unavailable) << st.to_string();
    EXPECT_NE(st.message().find("fenced"), std::string::npos) << st.to_string();
  }
  EXPECT_TRUE(db_->fenced());
  EXPECT_EQ(other->range("data/")->size(), 2u) << "no late write landed";

  auto now_theirs = other->claim("owner", "them", *theirs);
  ASSERT_TRUE(now_theirs.ok());
  EXPECT_TRUE(now_theirs->won) << "a fresh claim takes what the lost lease held";
  other->fence_on("owner", "them");
  EXPECT_TRUE(other->put("data/3", "new owner").ok());
}

TEST_F(etcd_test, ALeaseNobodyRenewsRunsOutAndTakesItsClaimWithIt) {
  auto lease = db_->grant_lease(std::chrono::seconds(2));
  ASSERT_TRUE(lease.ok()) << lease.error().to_string();
  ASSERT_TRUE(db_->claim("owner", "me", *lease)->won);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (*db_->get("owner") && std::chrono::steady_clock::now() < deadline) {
    struct pollfd none{};
    ::poll(&none, 0, 100);  // polls etcd's view; the lease's end is etcd's event, not ours
  }
  EXPECT_FALSE(*db_->get("owner")) << "the claim outlived its lease";
  EXPECT_EQ(db_->keep_alive(*lease).error().code(), errc::not_found);
}

}  // namespace
}  // namespace trail::testing
