// kofn: redundant execution, k of n. `ask` starts three replicas of the same
// deterministic "model" (`infer`, a word count); the redundant trigger hands
// the first two answers to `vote` and drops the straggler.
#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>

#include <trail/function.hpp>

namespace {

// Replicas started; kofn.yaml's redundant trigger expects n = 3, delivers k = 2.
constexpr std::size_t kReplicas = 3;

}  // namespace

// Consumes: the invocation's arguments, the text to analyse (non-empty).
// Produces: req/replica-0 .. req/replica-2, each holding the whole text.
TRAIL_FUNCTION(ask)(trail::context& ctx) {
  std::string text;
  for (std::string_view a : ctx.args()) {
    if (!text.empty()) text += ' ';
    text += a;
  }
  if (text.find_first_not_of(" \t\n\r\f\v") == std::string::npos)
    throw std::runtime_error("kofn: expects some text to analyse as arguments");
  for (std::size_t i = 0; i < kReplicas; ++i) ctx.put("req", "replica-" + std::to_string(i), text);
}

// Consumes: one request replica (immediate trigger on `req`).
// Produces: answers/<replica key> holding the number of words in the text.
TRAIL_FUNCTION(infer)(trail::context& ctx) {
  if (ctx.inputs().empty()) throw std::runtime_error("kofn/infer: fired without a request");
  for (const trail::object& in : ctx.inputs()) {
    std::istringstream words{std::string(in.str())};
    std::size_t n = 0;
    for (std::string w; words >> w;) ++n;
    ctx.put("answers", in.key(), std::to_string(n));
  }
}

// Consumes: the first k answers (redundant trigger, k = 2 of n = 3).
// Produces: the output "answer=<n> (<k> of 3)" when they agree; fails otherwise.
TRAIL_FUNCTION(vote)(trail::context& ctx) {
  if (ctx.inputs().empty()) throw std::runtime_error("kofn/vote: fired without answers");
  std::string_view answer = ctx.inputs().front().str();
  for (const trail::object& in : ctx.inputs())
    if (in.str() != answer)
      throw std::runtime_error("kofn/vote: replicas disagree: '" + std::string(answer) + "' vs '" +
                               std::string(in.str()) + "'");
  ctx.output("answer=" + std::string(answer) + " (" + std::to_string(ctx.inputs().size()) + " of " +
             std::to_string(kReplicas) + ")");
}
