// wordcount: MapReduce. `split` (the one mapper) emits a "1" per word
// occurrence keyed "<word>/<position>"; the dynamic_group trigger shuffles them
// into one `count` (reducer) per word; a dynamic_join sized by the mapper's
// announcement collects every word's total for `merge`.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <trail/function.hpp>

namespace {

// Words of `text`: maximal runs of ASCII letters and digits (and non-ASCII
// bytes, so UTF-8 words stay whole), ASCII lower-cased. Never contains '/',
// which would split the dynamic_group key.
void add_words(std::string_view text, std::vector<std::string>& words) {
  std::string w;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      w += static_cast<char>(std::tolower(u));
    } else if (!w.empty()) {
      words.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) words.push_back(std::move(w));
}

}  // namespace

// Consumes: the invocation's arguments, the text (at least one word).
// Produces: announces the number of distinct words on `counts`; then
// words/<word>/<position> = "1" per occurrence; then done("words").
TRAIL_FUNCTION(split)(trail::context& ctx) {
  std::vector<std::string> words;
  for (std::string_view a : ctx.args()) add_words(a, words);
  if (words.empty()) throw std::runtime_error("wordcount: expects text with at least one word as arguments");
  ctx.announce("counts", std::set<std::string>(words.begin(), words.end()).size());
  for (std::size_t i = 0; i < words.size(); ++i)
    ctx.put("words", words[i] + "/" + std::to_string(i), "1");
  ctx.done("words");  // the only producer (producers: 1 in the manifest)
}

// Consumes: every object of one group of `words` (the group is the word).
// Produces: counts/<word> = "<word>=<total>".
TRAIL_FUNCTION(count)(trail::context& ctx) {
  if (ctx.inputs().empty()) throw std::runtime_error("wordcount/count: fired with an empty group");
  std::string_view key = ctx.inputs().front().key();
  const std::string word(key.substr(0, key.find('/')));
  std::uint64_t total = 0;
  for (const trail::object& in : ctx.inputs()) {
    if (in.key().substr(0, in.key().find('/')) != word)
      throw std::runtime_error("wordcount/count: object '" + std::string(in.key()) + "' is not in group '" + word + "'");
    if (in.str() != "1") throw std::runtime_error("wordcount/count: object '" + std::string(in.key()) + "' is not \"1\"");
    ++total;
  }
  ctx.put("counts", word, word + "=" + std::to_string(total));
}

// Consumes: every word's count (dynamic_join: as many as `split` announced).
// Produces: the output "<word>=<n>,..." sorted by word.
TRAIL_FUNCTION(merge)(trail::context& ctx) {
  if (ctx.inputs().empty()) throw std::runtime_error("wordcount/merge: fired without counts");
  std::vector<trail::object> counts(ctx.inputs().begin(), ctx.inputs().end());
  std::sort(counts.begin(), counts.end(),
            [](const trail::object& a, const trail::object& b) { return a.key() < b.key(); });
  std::string out;
  for (const trail::object& c : counts) {
    if (!out.empty()) out += ',';
    out += c.str();
  }
  ctx.output(out);
}
