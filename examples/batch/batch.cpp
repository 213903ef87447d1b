// batch: two levels of by_batch_size. `fill` writes eight numbers, every four
// of them run one `sum`, and every two sums run `total`, which outputs the
// grand total.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <trail/function.hpp>

namespace {

// Items per invocation; batch.yaml batches them 4 by 4, then the 2 sums.
constexpr std::size_t kItems = 8;

// The whole of `s` as a signed 64-bit integer, or a runtime_error naming `what`.
std::int64_t parse_int(std::string_view s, std::string_view what) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size())
    throw std::runtime_error("batch: " + std::string(what) + " '" + std::string(s) +
                             "' is not a 64-bit integer");
  return v;
}

// The sum of the inputs' integers; throws on a bad number or on overflow.
std::int64_t sum_inputs(trail::context& ctx) {
  std::int64_t total = 0;
  for (const trail::object& in : ctx.inputs()) {
    if (__builtin_add_overflow(total, parse_int(in.str(), "object " + std::string(in.key())), &total))
      throw std::runtime_error("batch: sum overflows a 64-bit integer");
  }
  return total;
}

}  // namespace

// Consumes: no arguments (the numbers 1..8) or exactly 8 integer arguments.
// Produces: items/item-0 .. items/item-7, one number each, in argument order.
TRAIL_FUNCTION(fill)(trail::context& ctx) {
  const auto args = ctx.args();
  if (!args.empty() && args.size() != kItems)
    throw std::runtime_error("batch: expects no arguments or exactly 8 integers, got " +
                             std::to_string(args.size()) + " arguments");
  for (std::size_t i = 0; i < kItems; ++i) {
    std::string value = args.empty() ? std::to_string(i + 1)
                                     : std::to_string(parse_int(args[i], "argument"));
    ctx.put("items", "item-" + std::to_string(i), value);
  }
}

// Consumes: a batch of 4 objects of bucket `items`.
// Produces: sums/sum-<smallest item key of the batch> holding the batch's sum
// (each item is in exactly one batch, so the keys never collide).
TRAIL_FUNCTION(sum)(trail::context& ctx) {
  if (ctx.inputs().empty()) throw std::runtime_error("batch/sum: fired with an empty batch");
  std::string_view first = ctx.inputs().front().key();
  for (const trail::object& in : ctx.inputs()) first = std::min(first, in.key());
  ctx.put("sums", "sum-" + std::string(first), std::to_string(sum_inputs(ctx)));
}

// Consumes: a batch of 2 objects of bucket `sums`.
// Produces: the app's output "total=<sum of both>".
TRAIL_FUNCTION(total)(trail::context& ctx) {
  if (ctx.inputs().empty()) throw std::runtime_error("batch/total: fired with an empty batch");
  ctx.output("total=" + std::to_string(sum_inputs(ctx)));
}
