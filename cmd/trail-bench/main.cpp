// trail-bench: whole-system benchmarks, each beside a floor measured in the
// same run. One JSON object per result line on stdout.
#include <unistd.h>

#include <filesystem>

#include <CLI/CLI.hpp>

#include "bench.hpp"

namespace {

std::filesystem::path self_dir() { return std::filesystem::read_symlink("/proc/self/exe").parent_path(); }

}  // namespace

int main(int argc, char** argv) {
  trail::bench::options o;
  o.executor_path = (self_dir() / "trail-executor").string();
  o.library_path = (self_dir().parent_path() / "lib" / "libtrail_bench_functions.so").string();

  CLI::App app{"trail-bench: trail's benchmarks, each printed beside a floor measured in the same run"};
  app.require_subcommand(1);
  app.add_option("--executor", o.executor_path, "trail-executor binary")->capture_default_str();
  app.add_option("--functions", o.library_path, "benchmark function library")->capture_default_str();
  auto* channel = app.add_subcommand("channel", "node <-> executor round trip vs raw shared-memory round trip");
  channel->add_flag("--json", o.json, "print JSON lines (the default and only format)");
  channel->add_option("--trips", o.trips, "measured round trips (>= 10000 for a stable p99)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (*channel) return trail::bench::run_channel(o);
  return 1;
}
