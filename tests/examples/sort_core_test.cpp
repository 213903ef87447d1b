// The sort example's pure core: the record generator, the checksum, the
// partitioner, the index sort, and valsort's checks — without a node.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "plan.hpp"
#include "records.hpp"
#include "sorter.hpp"
#include "validate.hpp"

namespace trail::sort {
namespace {

std::string records(std::uint64_t first, std::uint64_t count, std::uint64_t seed = 0) {
  std::string out(count * record_size, '\0');
  for (std::uint64_t i = 0; i < count; ++i) make_record(first + i, seed, out.data() + i * record_size);
  return out;
}

TEST(SortRecords, AreAPureFunctionOfIndexAndSeed) {
  EXPECT_EQ(records(5, 10), records(5, 10));
  EXPECT_NE(records(5, 1), records(6, 1));
  EXPECT_NE(records(5, 1, 0), records(5, 1, 1));
  std::string r = records(0x2a, 1);
  EXPECT_EQ(r.substr(10, 16), "000000000000002A");  // the record number, as gensort's payload
  EXPECT_EQ(r.substr(98), "\r\n");
  char key[key_size];
  make_key(0x2a, 0, key);
  EXPECT_EQ(std::string(key, key_size), r.substr(0, key_size));
}

TEST(SortChecksum, IgnoresOrderAndAddsOverParts) {
  std::string a = records(0, 100);
  checksum whole, reversed;
  for (std::size_t i = 0; i < 100; ++i) whole.add(a.data() + i * record_size);
  for (std::size_t i = 100; i-- > 0;) reversed.add(a.data() + i * record_size);
  EXPECT_EQ(whole, reversed);
  checksum parts = checksum_of_range(0, 40, 0);
  parts += checksum_of_range(40, 60, 0);
  EXPECT_EQ(parts, whole);
  a[150] ^= 1;  // one flipped payload bit changes the sum
  checksum flipped;
  for (std::size_t i = 0; i < 100; ++i) flipped.add(a.data() + i * record_size);
  EXPECT_NE(flipped.sum, whole.sum);
}

TEST(SortPartition, IsMonotoneInTheKeyAndRoughlyEven) {
  std::string a = records(0, 20000);
  std::vector<std::size_t> sizes(8);
  for (std::size_t i = 0; i < 20000; ++i) ++sizes[partition_of(a.data() + i * record_size, 8)];
  for (std::size_t n : sizes) EXPECT_NEAR(static_cast<double>(n), 2500.0, 300.0);
  std::string lo(record_size, '\0'), hi(record_size, '\xff');
  EXPECT_EQ(partition_of(lo.data(), 8), 0u);
  EXPECT_EQ(partition_of(hi.data(), 8), 7u);
}

TEST(SortSortInto, SortsRecordsFromSeveralInputsIncludingEqualPrefixes) {
  std::string a = records(0, 3000), b = records(3000, 2000);
  // Two records differing only in the key's last two bytes: the tie-break.
  std::string twins = records(9000, 2);
  std::memcpy(twins.data() + record_size, twins.data(), 8);
  twins[record_size + 9] = static_cast<char>(twins[9] ^ 0x80);
  std::string out(a.size() + b.size() + twins.size(), '\0');
  EXPECT_EQ(sort_into({a, b, twins}, out.data()), 5002u);
  partition_scan s = scan_partition(out);
  EXPECT_FALSE(s.unsorted.has_value());
  checksum in = checksum_of_range(0, 5000, 0);
  in += scan_partition(twins).sum;
  EXPECT_EQ(s.sum, in);
}

TEST(SortScan, FindsTheFirstRecordOutOfOrder) {
  std::string a = records(0, 50), out(a.size(), '\0');
  sort_into({a}, out.data());
  std::swap_ranges(out.begin() + 10 * record_size, out.begin() + 11 * record_size, out.begin() + 11 * record_size);
  EXPECT_EQ(scan_partition(out).unsorted, 11u);
  EXPECT_EQ(scan_partition("").sum.count, 0u);
}

TEST(SortArgs, ParseOrExplainTheUsage) {
  std::vector<std::string_view> ok{"records=1000", "mappers=4", "reducers=3", "seed=9"};
  plan p = parse_args(ok);
  EXPECT_EQ(p.records, 1000u);
  EXPECT_EQ(p.mappers, 4u);
  EXPECT_EQ(p.reducers, 3u);
  EXPECT_EQ(p.seed, 9u);
  EXPECT_EQ(to_text(plan_from_text(to_text(p))), to_text(p));
  for (std::vector<std::string_view> bad : {std::vector<std::string_view>{"records=10", "mappers=2"},
                                            {"records=x", "mappers=1", "reducers=1"},
                                            {"records=0", "mappers=1", "reducers=1"},
                                            {"records=2", "mappers=3", "reducers=1"},
                                            {"records=10", "mappers=1", "reducers=5000"},
                                            {"records=10", "mappers=1", "reducers=1", "colour=red"},
                                            {"hello"}}) {
    try {
      parse_args(bad);
      ADD_FAILURE() << "accepted " << bad.front();
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("usage: records=N"), std::string::npos) << e.what();
    }
  }
}

TEST(SortTasks, CoverTheRecordsExactlyOnce) {
  plan p{1001, 7, 2, 0, ""};
  std::uint64_t next = 0;
  for (std::uint32_t m = 0; m < 7; ++m) {
    task t = task_from_text(to_text(task_of(p, m)));
    EXPECT_EQ(t.mapper, m);
    EXPECT_EQ(t.first, next);
    next += t.count;
  }
  EXPECT_EQ(next, 1001u);
}

TEST(SortInputPlan, TakesSizesFromTheObjectAndOptionsFromItsKey) {
  plan p = plan_for_input("data,mappers=3,reducers=5", 100 * 1000);
  EXPECT_EQ(p.records, 1000u);
  EXPECT_EQ(p.mappers, 3u);
  EXPECT_EQ(p.reducers, 5u);
  EXPECT_EQ(plan_from_text(to_text(p)).input, "data,mappers=3,reducers=5");
  EXPECT_EQ(plan_for_input("data", 100).mappers, 1u);
  EXPECT_THROW(plan_for_input("data", 150), std::invalid_argument);
  EXPECT_THROW(plan_for_input("data", 0), std::invalid_argument);
  EXPECT_THROW(plan_for_input("data,reducers=0", 100), std::invalid_argument);
}

// Summaries of a correct run of `n` records in `mappers` x `reducers`.
std::vector<summary> honest_run(std::uint64_t n, std::uint32_t mappers, std::uint32_t reducers) {
  std::string all = records(0, n);
  std::vector<summary> out;
  plan p{n, mappers, reducers, 0, ""};
  for (std::uint32_t m = 0; m < mappers; ++m) {
    task t = task_of(p, m);
    out.push_back({false, m, checksum_of_range(t.first, t.count, 0), {}, {}, {}});
  }
  std::vector<std::string> parts(reducers);
  for (std::size_t i = 0; i < n; ++i) parts[partition_of(all.data() + i * 100, reducers)].append(all, i * 100, 100);
  for (std::uint32_t r = 0; r < reducers; ++r) {
    std::string sorted(parts[r].size(), '\0');
    sort_into({parts[r]}, sorted.data());
    out.push_back(part_summary(r, scan_partition(sorted)));
  }
  return out;
}

TEST(SortCheck, PassesAnHonestRunAndRoundTripsSummaries) {
  auto s = honest_run(5000, 3, 4);
  for (auto& x : s) x = summary_from_text(to_text(x));
  EXPECT_EQ(check({5000, 3, 4, 0, ""}, s),
            "records=5000 partitions=4 sorted=ok checksum=" + hex64(checksum_of_range(0, 5000, 0).sum));
}

TEST(SortCheck, NamesEveryProblemOfABadRun) {
  plan p{5000, 3, 4, 0, ""};
  auto s = honest_run(5000, 3, 4);
  auto fails = [&](std::vector<summary> v, const std::string& why) {
    std::string out = check(p, v);
    EXPECT_EQ(out.rfind("sort: validation FAILED: ", 0), 0u) << out;
    EXPECT_NE(out.find(why), std::string::npos) << out;
  };
  auto v = s;
  v[4].unsorted = 17;  // partition 1
  fails(v, "partition 1 is not sorted at record 17");
  v = s;
  std::swap(v[3].first, v[4].first), std::swap(v[3].last, v[4].last);
  fails(v, "partition 0 ends after partition 1 begins");
  v = s;
  v[5].sum.count -= 1;
  fails(v, "the output has 4999 records, expected 5000");
  v = s;
  v[6].sum.sum += 1;
  fails(v, "differs from the input's");
  v = s;
  v.pop_back();
  fails(v, "partition 3 sent no summary");
}

}  // namespace
}  // namespace trail::sort
