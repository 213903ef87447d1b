// join: a fan-out sized at run time, then a join. `plan` decides how many
// tasks to run (its argument), announces that many results, and starts the
// tasks; the dynamic_join trigger runs `gather` once all results are in.
#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <trail/function.hpp>

namespace {

// Upper bound on the fan-out, so a typo cannot start millions of invocations.
constexpr std::uint64_t kMaxTasks = 10000;

// The whole of `s` as an unsigned integer, or a runtime_error naming `what`.
std::uint64_t parse_uint(std::string_view s, std::string_view what) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size())
    throw std::runtime_error("join: " + std::string(what) + " '" + std::string(s) +
                             "' is not a non-negative integer");
  return v;
}

}  // namespace

// Consumes: one argument N (0..10000), the number of tasks.
// Produces: announces N objects on `results`, then tasks/task-1 .. task-N
// holding 1 .. N. With N = 0 the announcement alone fires `gather`.
TRAIL_FUNCTION(plan)(trail::context& ctx) {
  if (ctx.args().size() != 1)
    throw std::runtime_error("join: expects one argument N, the number of tasks (0.." +
                             std::to_string(kMaxTasks) + ")");
  const std::uint64_t n = parse_uint(ctx.args()[0], "argument");
  if (n > kMaxTasks)
    throw std::runtime_error("join: N = " + std::to_string(n) + " exceeds the limit of " +
                             std::to_string(kMaxTasks) + " tasks");
  ctx.announce("results", n);
  for (std::uint64_t i = 1; i <= n; ++i) ctx.put("tasks", "task-" + std::to_string(i), std::to_string(i));
}

// Consumes: one task (immediate trigger on `tasks`), holding a number i.
// Produces: results/<task key> holding i * i.
TRAIL_FUNCTION(square)(trail::context& ctx) {
  if (ctx.inputs().empty()) throw std::runtime_error("join/square: fired without a task");
  for (const trail::object& in : ctx.inputs()) {
    const std::uint64_t i = parse_uint(in.str(), "task " + std::string(in.key()));
    if (i > kMaxTasks) throw std::runtime_error("join/square: task value " + std::to_string(i) + " out of range");
    ctx.put("results", in.key(), std::to_string(i * i));
  }
}

// Consumes: all N results (dynamic_join; none when N = 0).
// Produces: the output "sum=<sum of the squares>".
TRAIL_FUNCTION(gather)(trail::context& ctx) {
  std::uint64_t sum = 0;  // at most 10000 squares of at most 10^8: fits easily
  for (const trail::object& in : ctx.inputs()) sum += parse_uint(in.str(), "result " + std::string(in.key()));
  ctx.output("sum=" + std::to_string(sum));
}
