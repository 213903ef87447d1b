// trail-executor: runs user functions for a node. Started by the node (never
// by hand): it maps the node's store and its channel, then serves invocations.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "shm/executor.hpp"

int main(int argc, char** argv) {
  trail::shm::executor_options opts;
  CLI::App app{"trail-executor: runs trail functions on behalf of a trail-node (started by the node)"};
  app.add_option("--store", opts.store, "name of the node's store segment")->required();
  app.add_option("--channel", opts.channel, "name of this executor's channel segment")->required();
  app.add_option("--doorbell", opts.doorbell, "eventfd that wakes the node")->required();
  app.add_option("--slot", opts.slot, "index in the node's executor pool");
  CLI11_PARSE(app, argc, argv);

  trail::status st = trail::shm::run_executor(opts);
  if (!st.ok()) {
    std::fprintf(stderr, "trail-executor: %s\n", st.to_string().c_str());
    return 1;
  }
  return 0;
}
