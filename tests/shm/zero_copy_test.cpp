// A producer executor writes an object straight into the store; a consumer
// executor — another process — reads the very same bytes through a pointer.
// Both report where in the store mapping they saw the payload: the offsets
// must equal the node's record of the object, so no copy was made.
#include "pool_fixture.hpp"

namespace trail::shm::testing {
namespace {

const std::string testlib = TRAIL_TESTLIB_PATH;

class zero_copy_test : public pool_test, public ::testing::WithParamInterface<std::uint64_t> {};

TEST_P(zero_copy_test, ConsumerReadsTheProducersBytesInPlace) {
  const std::uint64_t size = GetParam();
  start(size + (16 << 20), 2);
  auto fill = run(testlib, "fill", {"obj", std::to_string(size), "11"});
  ASSERT_TRUE(wait_end(fill));
  ASSERT_TRUE(events_.finished[fill].ok()) << events_.finished[fill].to_string();
  int producer = -1;
  for (int i = 0; i < pool_->size(); ++i)
    if (!pool_->info(i).libraries.empty()) producer = i;

  auto id = store_->find(1, "b", "obj");
  ASSERT_TRUE(id);
  const object_info* o = store_->info(*id);
  EXPECT_EQ(o->size, size);
  EXPECT_EQ(output_of(fill), std::to_string(o->where.offset)) << "the producer wrote in place";

  // Run the probe on the other executor: a different process.
  store_->open_session(1);
  int consumer = 1 - producer;
  ASSERT_EQ(pool_->info(consumer).state, executor_state::idle);
  EXPECT_NE(pool_->info(consumer).pid, pool_->info(producer).pid);
  invocation inv{++next_id_, 1, 0, testlib, "probe", {"11"}, {*id}, 30s};
  ASSERT_TRUE(pool_->dispatch(consumer, inv).ok());
  ASSERT_TRUE(wait_end(inv.id));
  ASSERT_TRUE(events_.finished[inv.id].ok()) << events_.finished[inv.id].to_string();
  EXPECT_EQ(bytes_of(*store_->find(1, "r", "probe")), std::to_string(o->where.offset) + " ok")
      << "the consumer read in place";
}

INSTANTIATE_TEST_SUITE_P(Sizes, zero_copy_test, ::testing::Values(8u, 64u << 20));

}  // namespace
}  // namespace trail::shm::testing
