// What the sort app must print for records [0, n) of data set `seed` in
// `reducers` partitions, recomputed from the generator (not from the app's
// own check), for the single-node and the cluster tests.
#pragma once

#include <cstdint>
#include <string>

#include "records.hpp"
#include "validate.hpp"

namespace trail::testing {

inline std::string expected_output(std::uint64_t n, std::uint32_t reducers, std::uint64_t seed) {
  sort::checksum c = sort::checksum_of_range(0, n, seed);
  return "records=" + std::to_string(c.count) + " partitions=" + std::to_string(reducers) +
         " sorted=ok checksum=" + sort::hex64(c.sum);
}

}  // namespace trail::testing
