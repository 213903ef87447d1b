// A coordinator's shard (actors/shard.cpp) with etcd behind a keeper: the
// keeper here is the test's own actor, so the test decides when etcd
// "answers". Session ids are numbered within blocks reserved in etcd first;
// an invocation that comes before the first block is reserved (just after a
// coordinator took the shards over, say) waits for that reservation instead
// of failing "try again".
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "actors/cluster_types.hpp"
#include "actors/coordinator.hpp"
#include "actors/core/manifest.hpp"
#include "actors/keeper.hpp"
#include "actors/loop.hpp"
#include "actors/types.hpp"

namespace trail::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using release_atom = caf::atom_constant<caf::atom("trelease")>;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Holds the first reservation until told (release_atom); tells `observer`
// when it holds it; keeps every accepted session (answers true).
caf::behavior slow_keeper(caf::event_based_actor* self, caf::actor observer) {
  auto held = std::make_shared<std::optional<caf::typed_response_promise<bool>>>();
  return {
      [=](actors::reserve_atom, std::uint32_t, std::uint64_t) -> caf::result<bool> {
        if (*held) return true;  // later blocks: at once
        *held = self->make_response_promise<bool>();
        self->send(observer, actors::reserve_atom::value);
        return **held;
      },
      [=](release_atom) {
        if (*held) (*held)->deliver(true);
      },
      [=](actors::accept_atom, std::uint64_t, const std::string&, const std::vector<std::string>&, std::uint32_t,
          std::uint64_t) { return true; },
      [=](actors::drop_atom, std::uint64_t) {},
  };
}

TEST(shard, AnInvokeBeforeTheFirstReservationWaitsForIt) {
  fs::path dir = fs::temp_directory_path() / ("trail-shard-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    caf::actor_system_config cfg;
    actors::configure(cfg);
    caf::actor_system sys{cfg};
    actors::node_loop loop(sys);
    loop.start();
    actors::coordinator_options opts;
    opts.state_dir = dir;
    auto shard = actors::spawn_shard(loop, 0, opts);
    caf::scoped_actor self{sys};

    // chain, as a coordinator deploys it again from etcd.
    std::string manifest = read_all(fs::path(TRAIL_EXAMPLES_SOURCE_DIR) / "chain" / "chain.yaml");
    auto m = core::parse_manifest(manifest, actors::upload_root);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    self->send(shard, actors::restore_atom::value, manifest, std::vector<std::string>{m->functions[0].library},
               std::vector<std::string>{read_all(TRAIL_CHAIN_PATH)}, std::uint32_t{1});
    auto keeper = sys.spawn(slow_keeper, caf::actor_cast<caf::actor>(self));
    self->send(shard, actors::restore_atom::value, keeper);  // it asks for its first block of ids at once
    bool asked = false;
    self->receive([&](actors::reserve_atom) { asked = true; }, caf::after(10s) >> [] {});
    ASSERT_TRUE(asked) << "the shard never asked for a block of session ids";

    auto invoked = self->request(shard, 10s, actors::invoke_atom::value, std::string("chain"),
                                 std::vector<std::string>{"x"}, std::uint32_t{5000}, true, std::uint64_t{42});
    // The shard has taken the invoke once it answers what this actor sent it next.
    self->request(shard, 10s, actors::status_atom::value).receive([](const std::string&) {}, [](const caf::error&) {});
    self->send(keeper, release_atom::value);
    std::uint64_t session = 0;
    std::string error;
    invoked.receive([&](std::uint64_t id, const std::string&) { session = id; },
                    [&](const caf::error& e) { error = actors::to_status(e, sys).to_string(); });
    EXPECT_TRUE(error.empty()) << "the invoke failed instead of waiting for the reservation: " << error;
    EXPECT_EQ(actors::shard_of_session(session), 0u) << "session " << session;

    self->send_exit(shard, caf::exit_reason::user_shutdown);
    self->send_exit(keeper, caf::exit_reason::user_shutdown);
    self->wait_for(shard, keeper);
    loop.stop();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace trail::testing
