// A library whose static initialiser crashes: loading it must take down only
// the executor that tried, never the node.
#include <cstdlib>

#include <trail/function.hpp>

namespace {
struct crash_on_load {
  crash_on_load() { std::abort(); }
} crash;
}  // namespace

TRAIL_FUNCTION(noop)(trail::context&) {}
