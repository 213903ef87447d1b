#include "actors/core/manifest.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

#include "actors/core/elf_symbols.hpp"

namespace trail::core {

namespace fs = std::filesystem;

namespace {

using key_list = std::vector<std::string_view>;

const key_list top_keys{"app", "library", "entry", "functions", "buckets"};
const key_list function_keys{"name", "library", "timeout_ms", "retries", "node"};
const key_list bucket_keys{"name", "triggers", "keep"};
const key_list trigger_common_keys{"type", "target", "name", "scope"};

// The manifest keys of each trigger type beyond the common ones.
struct trigger_type {
  std::string_view type;
  key_list params;  // all required except `producers`
  bool dynamic;     // at most one dynamic trigger per bucket
};

const std::array<trigger_type, 8> trigger_types{{
    {"immediate", {}, false},
    {"by_name", {"key"}, false},
    {"by_batch_size", {"count"}, false},
    {"by_set", {"keys"}, false},
    {"by_time", {"window_ms"}, false},
    {"redundant", {"k", "n"}, false},
    {"dynamic_group", {"producers"}, true},
    {"dynamic_join", {}, true},
}};

const trigger_type* find_type(std::string_view type) {
  for (const auto& t : trigger_types)
    if (t.type == type) return &t;
  return nullptr;
}

std::string join(const key_list& keys) {
  std::string out;
  for (auto k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

std::string type_list() {
  key_list types;
  for (const auto& t : trigger_types) types.push_back(t.type);
  return join(types);
}

// `v` in double quotes with quotes, backslashes and control characters
// escaped; long values are shortened.
std::string quote(std::string_view v) {
  constexpr std::size_t max_shown = 256;  // long enough for paths
  constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : v.substr(0, max_shown)) {
    if (c < 0x20 || c == 0x7f) {
      out += {'\\', 'x', hex[c >> 4], hex[c & 15]};
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<char>(c);
  }
  return out + (v.size() > max_shown ? "...\"" : "\"");
}

// What a node holds, for "got ..." in messages. REQUIRES: n.IsDefined().
std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return quote(n.Scalar());
    case YAML::NodeType::Sequence: return n.size() == 0 ? "an empty list" : "a list";
    case YAML::NodeType::Map: return n.size() == 0 ? "an empty map" : "a map";
    default: return "null";
  }
}

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string item(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// Digits only: no sign, spaces, base prefix or exponent.
bool parse_uint(const std::string& s, std::uint64_t& out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return !s.empty() && ec == std::errc() && ptr == end;
}

constexpr std::string_view identifier_chars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";

// App and bucket names: they name files, metrics labels and store keys.
bool valid_name(const std::string& s) {
  return !s.empty() && s.size() <= max_app_name && s != "." && s != ".." &&
         s.find_first_not_of(std::string(identifier_chars) + ".-") == std::string::npos;
}

// [A-Za-z_][A-Za-z0-9_]*
bool is_identifier(const std::string& s) {
  return !s.empty() && !(s[0] >= '0' && s[0] <= '9') &&
         s.find_first_not_of(identifier_chars) == std::string::npos;
}

// `library` as an absolute, lexically normal path; a relative one is taken
// from `dir` (an absolute one replaces it: path::operator/).
std::string resolve(const fs::path& dir, const std::string& library) {
  const fs::path p = dir / library;
  std::error_code ec;
  const fs::path abs = fs::absolute(p, ec);
  return (ec ? p : abs).lexically_normal().string();
}

std::string function_list(const app_manifest& m) {
  key_list names;
  for (const auto& f : m.functions) names.push_back(f.name);
  return " (functions: " + join(names) + ")";
}

// Reads one manifest. Readers return false after recording the failure in
// `error_`; the first failure ends the parse. One parser per manifest.
class parser {
 public:
  parser(std::string source, fs::path dir) : source_(std::move(source)), dir_(std::move(dir)) {}

  result<app_manifest> run(std::string_view text) {
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& e) {
      return status::invalid(where(e.mark) + "YAML syntax error: " + e.msg);
    }
    if (docs.empty()) return status::invalid(source_ + ": is empty");
    if (docs.size() > 1)
      return status::invalid(where(docs[1].Mark()) + "expected one YAML document, got " +
                             std::to_string(docs.size()));
    app_manifest m;
    try {
      if (parse_app(docs[0], m)) return m;
    } catch (const YAML::Exception& e) {  // a bug here: every access is checked first
      return status::internal(where(e.mark) + "reading the manifest failed: " + e.msg);
    }
    return *error_;
  }

 private:
  // -- generic readers ---------------------------------------------------------

  std::string where(const YAML::Mark& m) const {
    if (m.is_null()) return source_ + ": ";
    return source_ + " line " + std::to_string(m.line + 1) + ", column " +
           std::to_string(m.column + 1) + ": ";
  }

  // REQUIRES: at.IsDefined().
  bool fail(const YAML::Node& at, const std::string& path, const std::string& what) {
    error_ = status::invalid(where(at.Mark()) + (path.empty() ? "top level" : path) + ": " + what);
    return false;
  }

  // Fails at map[key]. REQUIRES: map[key] is defined.
  bool fail_at(const YAML::Node& map, const std::string& path, std::string_view key,
               const std::string& what) {
    return fail(map[std::string(key)], child(path, key), what);
  }

  // `n` must be a map whose keys are distinct strings from `allowed`.
  bool check_map(const YAML::Node& n, const std::string& path, const key_list& allowed,
                 const std::string& owner = "") {
    if (!n.IsMap()) return fail(n, path, "must be a map, got " + describe(n));
    std::set<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar())
        return fail(kv.first, path, "keys must be strings, got " + describe(kv.first));
      const std::string& key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        return fail(
            kv.first, child(path, key),
            "unknown key " + quote(key) + owner + " (expected one of: " + join(allowed) + ")");
      if (!seen.insert(key).second)
        return fail(kv.first, child(path, key), "duplicate key " + quote(key));
    }
    return true;
  }

  // A non-empty string without NUL at map[key]; absent is fine unless required.
  bool text(const YAML::Node& map, const std::string& path, std::string_view key, std::string& out,
            bool required) {
    const YAML::Node n = map[std::string(key)];
    if (!n.IsDefined())
      return !required || fail(map, child(path, key), "missing required key " + quote(key));
    if (!n.IsScalar() || n.Scalar().empty())
      return fail(n, child(path, key), "must be a non-empty string, got " + describe(n));
    if (n.Scalar().find('\0') != std::string::npos)
      return fail(n, child(path, key), "must not contain a NUL character, got " + describe(n));
    out = n.Scalar();
    return true;
  }

  // A whole number in [min, max] at map[key]; absent leaves `out` unchanged.
  template <class T>
  bool number(const YAML::Node& map, const std::string& path, std::string_view key, T& out,
              std::uint64_t min = 0, std::uint64_t max = std::numeric_limits<T>::max()) {
    const YAML::Node n = map[std::string(key)];
    if (!n.IsDefined()) return true;
    std::uint64_t v = 0;
    if (!n.IsScalar() || !parse_uint(n.Scalar(), v) || v < min || v > max)
      return fail(n, child(path, key),
                  "must be a whole number from " + std::to_string(min) + " to " +
                      std::to_string(max) + ", got " + describe(n));
    out = static_cast<T>(v);
    return true;
  }

  // A list of strings at map[key]; absent leaves `out` unchanged.
  bool strings(const YAML::Node& map, const std::string& path, std::string_view key,
               std::vector<std::string>& out) {
    const YAML::Node n = map[std::string(key)];
    if (!n.IsDefined()) return true;
    const std::string p = child(path, key);
    if (!n.IsSequence()) return fail(n, p, "must be a list of strings, got " + describe(n));
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar())
        return fail(n[i], item(p, i), "must be a string, got " + describe(n[i]));
      out.push_back(n[i].Scalar());
    }
    return true;
  }

  // map[key] is a list, non-empty when required; absent is fine unless required.
  bool list(const YAML::Node& map, const std::string& path, std::string_view key, bool required) {
    const YAML::Node n = map[std::string(key)];
    if (!n.IsDefined())
      return !required || fail(map, child(path, key), "missing required key " + quote(key));
    if (n.IsSequence() && (!required || n.size() > 0)) return true;
    return fail(
        n, child(path, key),
        std::string("must be a ") + (required ? "non-empty " : "") + "list, got " + describe(n));
  }

  // -- the manifest ------------------------------------------------------------

  bool parse_app(const YAML::Node& root, app_manifest& m) {
    std::string library;  // the app's default; functions may override it
    if (!check_map(root, "", top_keys) || !text(root, "", "app", m.app, true)) return false;
    if (!valid_name(m.app))
      return fail_at(root, "", "app",
                     "must match [A-Za-z0-9_.-]+ (not \".\" or \"..\", at most " +
                         std::to_string(max_app_name) + " characters), got " + quote(m.app));
    if (!text(root, "", "library", library, false) || !parse_functions(root, library, m) ||
        !text(root, "", "entry", m.entry, true))
      return false;
    if (!m.function(m.entry))
      return fail_at(root, "", "entry", "unknown function " + quote(m.entry) + function_list(m));
    if (!list(root, "", "buckets", false)) return false;
    const YAML::Node buckets = root["buckets"];
    for (std::size_t i = 0; buckets.IsDefined() && i < buckets.size(); ++i)
      if (!parse_bucket(buckets[i], item("buckets", i), m)) return false;
    return true;
  }

  bool parse_functions(const YAML::Node& root, const std::string& library, app_manifest& m) {
    if (!list(root, "", "functions", true)) return false;
    const YAML::Node functions = root["functions"];
    for (std::size_t i = 0; i < functions.size(); ++i) {
      const std::string path = item("functions", i);
      function_spec f;
      if (!parse_function(functions[i], path, library, f)) return false;
      if (const function_spec* dup = m.function(f.name)) {
        const auto first = static_cast<std::size_t>(dup - m.functions.data());
        return fail_at(functions[i], path, "name",
                       "duplicate function name " + quote(f.name) + " (also " +
                           item("functions", first) + ")");
      }
      m.functions.push_back(std::move(f));
    }
    return true;
  }

  bool parse_function(const YAML::Node& n, const std::string& path, const std::string& library,
                      function_spec& f) {
    std::string own = library;
    if (!check_map(n, path, function_keys) || !text(n, path, "name", f.name, true) ||
        !text(n, path, "library", own, false) ||
        !number(n, path, "timeout_ms", f.timeout_ms, 1, max_timeout_ms) ||
        !number(n, path, "retries", f.retries, 0, max_retries) ||
        !text(n, path, "node", f.node, false))
      return false;
    if (!is_identifier(f.name))
      return fail_at(n, path, "name",
                     "must be a C identifier (the library exports trail_function_<name>), got " +
                         quote(f.name));
    if (own.empty())
      return fail(n, path + ".library",
                  "function " + quote(f.name) +
                      " has no library: set `library:` at the top level or on the function");
    f.library = resolve(dir_, own);
    return true;
  }

  bool parse_bucket(const YAML::Node& n, const std::string& path, app_manifest& m) {
    bucket_spec b;
    if (!check_map(n, path, bucket_keys) || !text(n, path, "name", b.name, true)) return false;
    if (!valid_name(b.name))
      return fail_at(n, path, "name",
                     "must match [A-Za-z0-9_.-]+ (not \".\" or \"..\", at most " + std::to_string(max_app_name) +
                         " characters), got " + quote(b.name));
    for (std::size_t i = 0; i < m.buckets.size(); ++i)
      if (m.buckets[i].name == b.name)
        return fail_at(
            n, path, "name",
            "duplicate bucket name " + quote(b.name) + " (also " + item("buckets", i) + ")");
    std::string keep = "session";
    if (!text(n, path, "keep", keep, false)) return false;
    if (keep != "session" && keep != "app")
      return fail_at(n, path, "keep", "unknown keep " + quote(keep) + " (expected one of: session, app)");
    b.keep_app = keep == "app";
    if (!list(n, path, "triggers", false)) return false;
    const YAML::Node triggers = n["triggers"];
    std::string dynamic;  // path of the bucket's dynamic trigger
    for (std::size_t i = 0; triggers.IsDefined() && i < triggers.size(); ++i) {
      const std::string p = item(path + ".triggers", i);
      trigger_spec t;
      t.name = b.name + "/" + std::to_string(i);
      if (!parse_trigger(triggers[i], p, t) || !check_trigger(triggers[i], p, m, t)) return false;
      if (find_type(t.type)->dynamic && !dynamic.empty())
        return fail_at(triggers[i], p, "type",
                       "a bucket takes at most one dynamic_group or dynamic_join trigger; " +
                           dynamic + " is one already, got " + quote(t.type));
      if (find_type(t.type)->dynamic) dynamic = p;
      b.triggers.push_back(std::move(t));
    }
    m.buckets.push_back(std::move(b));
    return true;
  }

  // Fills `t` from the manifest; `t.name` holds the default name on entry.
  bool parse_trigger(const YAML::Node& n, const std::string& path, trigger_spec& t) {
    if (!n.IsMap()) return fail(n, path, "must be a map, got " + describe(n));
    if (!text(n, path, "type", t.type, true)) return false;
    const trigger_type* type = find_type(t.type);
    if (!type)
      return fail_at(
          n, path, "type",
          "unknown trigger type " + quote(t.type) + " (expected one of: " + type_list() + ")");
    key_list allowed = trigger_common_keys;
    allowed.insert(allowed.end(), type->params.begin(), type->params.end());
    if (!check_map(n, path, allowed, " for a " + t.type + " trigger") ||
        !text(n, path, "target", t.target, true) || !text(n, path, "name", t.name, false) ||
        !read_scope(n, path, t.sc))
      return false;
    for (auto key : type->params)
      if (!read_param(n, path, key, t)) return false;
    return true;
  }

  bool read_scope(const YAML::Node& n, const std::string& path, scope& sc) {
    std::string s = "session";
    if (!text(n, path, "scope", s, false)) return false;
    if (s == "session" || s == "app") {
      sc = s == "app" ? scope::app : scope::session;
      return true;
    }
    return fail_at(n, path, "scope",
                   "unknown scope " + quote(s) + " (expected one of: session, app)");
  }

  // Reads parameter `key` of t.type; all are required except `producers`.
  bool read_param(const YAML::Node& n, const std::string& path, std::string_view key,
                  trigger_spec& t) {
    if (!n[std::string(key)].IsDefined())
      return key == "producers" ||
             fail(n, child(path, key),
                  "missing required key " + quote(key) + " for a " + t.type + " trigger");
    if (key == "key") return text(n, path, key, t.key, true);
    if (key == "keys") return strings(n, path, key, t.keys);
    if (key == "count") return number(n, path, key, t.count);
    if (key == "window_ms") return number(n, path, key, t.window_ms);
    if (key == "k") return number(n, path, key, t.k);
    if (key == "n") return number(n, path, key, t.n);
    std::uint32_t producers = 0;
    if (!number(n, path, key, producers)) return false;
    t.producers = producers;
    return true;
  }

  // Parameters and scope (core::validate), the target, the name's uniqueness.
  bool check_trigger(const YAML::Node& n, const std::string& path, const app_manifest& m,
                     const trigger_spec& t) {
    if (status st = validate(t); !st.ok()) return fail(n, path, st.message());
    if (!m.function(t.target))
      return fail_at(n, path, "target", "unknown function " + quote(t.target) + function_list(m));
    auto [it, fresh] = trigger_paths_.emplace(t.name, path);
    if (fresh) return true;
    const YAML::Node at = n["name"].IsDefined() ? n["name"] : n;
    return fail(at, path + ".name",
                "duplicate trigger name " + quote(t.name) + " (also " + it->second + ")");
  }

  std::string source_;                                // "manifest" or `manifest "<file>"`
  fs::path dir_;                                      // resolves relative library paths
  std::map<std::string, std::string> trigger_paths_;  // trigger name -> its path
  std::optional<status> error_;                       // the first failure
};

}  // namespace

const function_spec* app_manifest::function(std::string_view name) const {
  for (const auto& f : functions)
    if (f.name == name) return &f;
  return nullptr;
}

result<app_manifest> parse_manifest(std::string_view yaml_text, const fs::path& manifest_dir) {
  if (yaml_text.size() > max_manifest_bytes)  // (a deploy's text comes from the network)
    return status::invalid("manifest: larger than " + std::to_string(max_manifest_bytes) + " bytes");
  return parser("manifest", manifest_dir).run(yaml_text);
}

result<app_manifest> load_manifest(const fs::path& file) {
  const std::string source = "manifest " + quote(file.string());
  std::error_code ec;
  const fs::file_status st = fs::status(file, ec);
  if (!fs::exists(st)) return status::not_found(source + ": no such file");
  if (!fs::is_regular_file(st)) return status::invalid(source + ": not a regular file");
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec || size > max_manifest_bytes)
    return status::invalid(source + ": larger than " + std::to_string(max_manifest_bytes) +
                           " bytes");
  std::ifstream in(file, std::ios::binary);
  if (!in) return status::invalid(source + ": cannot be opened: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return status::internal(source + ": reading failed");
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  return parser(source, dir).run(text.str());
}

status check_libraries(const app_manifest& m) {
  std::map<std::string, std::set<std::string>> exports;  // library -> its symbols
  for (std::size_t i = 0; i < m.functions.size(); ++i) {
    const function_spec& f = m.functions[i];
    const std::string path = item("functions", i);
    auto it = exports.find(f.library);
    if (it == exports.end()) {
      auto symbols = exported_symbols(f.library);
      if (!symbols)
        return {symbols.error().code(), path + ".library: " + symbols.error().message()};
      it =
          exports.emplace(f.library, std::set<std::string>(symbols->begin(), symbols->end())).first;
    }
    const std::string symbol = "trail_function_" + f.name;
    if (!it->second.count(symbol))
      return status::not_found(path + ".name: library " + quote(f.library) + " does not export " +
                               quote(symbol) + " for function " + quote(f.name) +
                               " (define it with TRAIL_FUNCTION(" + f.name + "))");
  }
  return {};
}

}  // namespace trail::core
