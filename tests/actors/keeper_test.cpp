// The coordinator's keeper (actors/keeper.hpp) against a real one-member
// etcd on loopback: what it writes for nobody who waits (ends, node
// listings) is never lost to an etcd outage, and what it was refused for
// someone who waits (an accept) is never written later.
#include <poll.h>

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "../support/etcd_member.hpp"
#include "actors/cluster_types.hpp"
#include "actors/durable/node_records.hpp"
#include "actors/durable/session_records.hpp"
#include "actors/keeper.hpp"
#include "actors/types.hpp"

namespace trail::testing {
namespace {

using namespace std::chrono_literals;

TEST(keeper, WritesNobodyWaitsForGoAgainOnceEtcdIsBack) {
  etcd_cluster etcd;
  caf::actor_system_config cfg;
  actors::configure(cfg);
  caf::actor_system sys{cfg};
  auto db = durable::etcd::open(etcd.endpoint(), 300ms);  // (short calls: the outage is noticed soon)
  ASSERT_TRUE(db.ok());
  auto keeper = actors::spawn_keeper(sys, std::move(*db), nullptr);
  caf::scoped_actor self{sys};
  caf::scoped_actor front{sys};  // told how the writes fare
  self->send(keeper, caf::actor_cast<caf::actor>(front));
  // The keeper's next word to the front: (kept back, refused groups).
  auto told = [&] {
    std::pair<std::uint64_t, std::uint64_t> got{~0ull, ~0ull};
    front->receive([&](actors::etcd_writes_atom, std::uint64_t kept_back, std::uint64_t refused,
                       const std::string&) { got = {kept_back, refused}; },
                   caf::after(std::chrono::seconds(20)) >> [] {});
    return got;
  };

  etcd.kill();
  self->send(keeper, actors::ended_atom::value, std::uint64_t{7}, true, std::string("<OUT>"), std::uint64_t{5},
             std::uint16_t{0}, std::string(), std::uint64_t{70}, std::vector<std::uint64_t>{});
  self->send(keeper, actors::listed_atom::value, std::string("n1"), std::string(R"({"number":1})"));
  // An accept goes at once, with the writes queued before it: its refusal
  // says that group failed.
  bool refused = false;
  self->request(keeper, 20s, actors::accept_atom::value, std::uint64_t{8}, std::string("app"),
                std::vector<std::string>{}, std::uint32_t{1000}, std::uint64_t{80})
      .receive([](bool) {}, [&](const caf::error&) { refused = true; });
  ASSERT_TRUE(refused) << "etcd was down, yet the accept was kept";
  auto first = told();
  EXPECT_GE(first.second, 1u) << "no refused group was told";
  // The end's two writes (its result, its record's erase) and the listing
  // are kept back (refused in the accept's group, or in one before it).
  auto kept = first;
  while (kept.first < 3 && kept.second != ~0ull) kept = told();
  EXPECT_EQ(kept.first, 3u);

  etcd.restart();
  auto look = durable::etcd::open(etcd.endpoint());
  ASSERT_TRUE(look.ok());
  std::optional<durable::kv> result, node;
  for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
    auto r = look->get(durable::result_key(7));
    auto n = look->get(durable::node_key("n1"));
    if (r.ok() && n.ok() && *r && *n) {
      result = **r, node = **n;
      break;
    }
    ::poll(nullptr, 0, 20);
  }
  ASSERT_TRUE(result) << "the end etcd refused was never written again";
  std::pair<std::uint64_t, std::uint64_t> last = told();
  while (last.first != 0 && last.second != ~0ull) last = told();
  EXPECT_EQ(last.first, 0u) << "the front never heard that the writes went through";
  auto decoded = durable::decode_result(result->key, result->value);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(decoded->output, "<OUT>");
  ASSERT_TRUE(node);
  EXPECT_EQ(node->value, R"({"number":1})");
  auto accepted = look->get(durable::session_key(8));
  ASSERT_TRUE(accepted.ok());
  EXPECT_FALSE(*accepted) << "a refused accept was written later";
  anon_send_exit(keeper, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace trail::testing
