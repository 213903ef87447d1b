// The executor process's runtime: maps the node's store and its channel,
// loads user libraries (dlopen, once, cached), runs one invocation at a time
// and reports back. trail-executor's main() is a thin wrapper around run().
//
// User code is trusted with nothing: an exception becomes a failed
// invocation; a crash kills only this process, which the node notices at once.
// The executor takes no interprocess lock, ever: killing it at any instant
// cannot wedge the node.
#pragma once

#include <memory>
#include <string>

#include <trail/status.hpp>

namespace trail::shm {

struct executor_options {
  std::string store;    // name of the node's store segment
  std::string channel;  // name of this executor's channel segment
  int doorbell = -1;    // eventfd that wakes the node
  int slot = 0;         // index in the node's pool (for messages)
};

// Serves invocations until told to shut down. Returns the reason it stopped
// (ok after a shutdown message); the process should exit with it.
status run_executor(const executor_options& opts);

}  // namespace trail::shm
