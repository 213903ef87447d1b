// Functions the benchmarks run. Built like any user library: SDK header only.
#include <trail/function.hpp>

TRAIL_FUNCTION(noop)(trail::context&) {}
