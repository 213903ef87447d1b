// fanout: fan-out then fan-in with a by_set trigger. `split` cuts its words
// into exactly three parts, `work` handles each part in its own invocation,
// and `join` runs once — when all three results are in.
#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <trail/function.hpp>

namespace {

// The number of parts; must match the by_set keys in fanout.yaml.
constexpr std::size_t kParts = 3;

// The whitespace-separated words of all arguments, in order.
std::vector<std::string> words_of(std::span<const std::string_view> args) {
  std::vector<std::string> words;
  for (std::string_view a : args) {
    std::istringstream in{std::string(a)};
    for (std::string w; in >> w;) words.push_back(w);
  }
  return words;
}

}  // namespace

// Consumes: the invocation's arguments (at least 3 words).
// Produces: parts/part-0 .. parts/part-2, each a contiguous run of the words
// (sizes differ by at most one word; earlier parts get fewer).
TRAIL_FUNCTION(split)(trail::context& ctx) {
  const std::vector<std::string> words = words_of(ctx.args());
  if (words.size() < kParts)
    throw std::runtime_error("fanout: needs at least 3 words to split into 3 parts, got " +
                             std::to_string(words.size()));
  for (std::size_t i = 0; i < kParts; ++i) {
    std::string part;
    for (std::size_t w = i * words.size() / kParts; w < (i + 1) * words.size() / kParts; ++w) {
      if (!part.empty()) part += ' ';
      part += words[w];
    }
    ctx.put("parts", "part-" + std::to_string(i), part);
  }
}

// Consumes: one object of bucket `parts` (immediate trigger).
// Produces: done/<same key> holding the part upper-cased, written in place.
TRAIL_FUNCTION(work)(trail::context& ctx) {
  if (ctx.inputs().empty()) throw std::runtime_error("fanout/work: fired without an input part");
  for (const trail::object& in : ctx.inputs()) {
    trail::object_writer w = ctx.create("done", in.key(), in.size());
    std::transform(in.str().begin(), in.str().end(), w.data(),
                   [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
    w.resize(in.size());
    ctx.send(std::move(w));
  }
}

// Consumes: done/part-0 .. done/part-2 (by_set: the whole set at once).
// Produces: the app's output, the parts in key order joined by " | ".
TRAIL_FUNCTION(join)(trail::context& ctx) {
  std::vector<trail::object> parts(ctx.inputs().begin(), ctx.inputs().end());
  if (parts.size() != kParts)
    throw std::runtime_error("fanout/join: expected 3 parts, got " + std::to_string(parts.size()));
  // by_set already delivers in the order of its keys; sorting keeps the
  // output independent of that detail.
  std::sort(parts.begin(), parts.end(),
            [](const trail::object& a, const trail::object& b) { return a.key() < b.key(); });
  std::string out;
  for (const trail::object& p : parts) {
    if (!out.empty()) out += " | ";
    out += p.str();
  }
  ctx.output(out);
}
