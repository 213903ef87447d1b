// trail-bench sort: the MapReduce sort example (examples/sort) on a
// standalone node beside an in-memory sort of the same records in one
// process; and `--write FILE`, a generator of gensort-format input files.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "bench.hpp"

namespace trail::bench {

struct sort_options {
  std::string size = "1G";    // data to sort: decimal K/M/G (100M = 1,000,000 records)
  std::uint32_t mappers = 0;  // 0: two per executor
  std::uint32_t reducers = 0; // 0: two per executor
  std::uint64_t seed = 0;     // data set
  std::size_t runs = 3;       // measured sorts (after a small warm-up); p50 reported, and the first
  std::string manifest;       // the sort app (default: ../examples/sort/sort.yaml beside trail-bench)
  std::string write;          // non-empty: only write the records to this file
};

// Registers the `sort` subcommand's options on `app`.
CLI::App* add_sort_command(CLI::App& app, options& o, sort_options& so);
int run_sort(const options& o, const sort_options& so);

}  // namespace trail::bench
