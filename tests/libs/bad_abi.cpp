// A library that claims another SDK ABI version: the executor must refuse it.
#include <trail/function.hpp>

static void body(trail::context&) {}

extern "C" __attribute__((visibility("default"))) const trail::function_entry* trail_function_noop() {
  static const trail::function_entry e{trail::sdk_abi_version + 998, "noop", &body};
  return &e;
}
