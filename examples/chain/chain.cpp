// chain: three functions linked by immediate triggers — the shortest useful
// workflow. `first` turns its arguments into an object, `second` transforms
// it, `third` emits the app's output.
#include <algorithm>
#include <cctype>
#include <string>

#include <trail/function.hpp>

TRAIL_FUNCTION(first)(trail::context& ctx) {
  std::string text;
  for (std::string_view a : ctx.args()) {
    if (!text.empty()) text += ' ';
    text += a;
  }
  ctx.put("a", "text", text);
}

TRAIL_FUNCTION(second)(trail::context& ctx) {
  for (const trail::object& in : ctx.inputs()) {
    trail::object_writer w = ctx.create("b", in.key(), in.size());
    std::transform(in.str().begin(), in.str().end(), w.data(),
                   [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
    w.resize(in.size());
    ctx.send(std::move(w));
  }
}

TRAIL_FUNCTION(third)(trail::context& ctx) {
  std::string out;
  for (const trail::object& in : ctx.inputs()) out += "<" + std::string(in.str()) + ">";
  ctx.output(out);
}
