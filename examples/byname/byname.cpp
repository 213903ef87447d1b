// byname: a trigger that waits for one particular key. `publish` writes
// several files into one bucket; only the object named "config" runs `apply`.
#include <stdexcept>
#include <string>

#include <trail/function.hpp>

// Consumes: the invocation's arguments, the config text (non-empty).
// Produces: files/a.txt and files/b.txt (fixed text, ignored by the trigger),
// then files/config holding the arguments joined by spaces.
TRAIL_FUNCTION(publish)(trail::context& ctx) {
  std::string config;
  for (std::string_view a : ctx.args()) {
    if (!config.empty()) config += ' ';
    config += a;
  }
  if (config.empty()) throw std::runtime_error("byname: expects the config text as arguments");
  ctx.put("files", "a.txt", "alpha");
  ctx.put("files", "b.txt", "beta");
  ctx.put("files", "config", config);
}

// Consumes: files/config (by_name trigger on key "config").
// Produces: the output "config: <content>".
TRAIL_FUNCTION(apply)(trail::context& ctx) {
  if (ctx.inputs().size() != 1)
    throw std::runtime_error("byname/apply: expects exactly the config object, got " +
                             std::to_string(ctx.inputs().size()) + " objects");
  ctx.output("config: " + std::string(ctx.inputs().front().str()));
}
