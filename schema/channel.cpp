#include "schema/channel.hpp"

#include <cstring>
#include <type_traits>

namespace trail::schema {
namespace {

// -- writer ---------------------------------------------------------------------

class writer {
 public:
  explicit writer(std::string& out) : out_(out) { out_.clear(); }

  template <class Int>
  void num(Int v) {
    static_assert(std::is_integral_v<Int>);
    char buf[sizeof(Int)];
    std::memcpy(buf, &v, sizeof(Int));  // little-endian hosts only (x86-64, arm64)
    out_.append(buf, sizeof(Int));
  }
  void str(std::string_view s) {
    num(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  void obj(const object_desc& o) {
    num(o.object), num(o.offset), num(o.size), str(o.bucket), str(o.key);
  }

 private:
  std::string& out_;
};

// -- reader ---------------------------------------------------------------------

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  template <class Int>
  void num(Int& v) {
    if (!take(sizeof(Int))) return;
    std::memcpy(&v, in_.data() + pos_ - sizeof(Int), sizeof(Int));
  }
  void flag(bool& b) {
    std::uint8_t v = 0;
    num(v);
    b = v != 0;
  }
  void str(std::string& s) {
    std::uint32_t n = 0;
    num(n);
    if (!take(n)) return;
    s.assign(in_.data() + pos_ - n, n);
  }
  void obj(object_desc& o) {
    num(o.object), num(o.offset), num(o.size), str(o.bucket), str(o.key);
  }
  template <class T, class F>
  void list(std::vector<T>& v, F each) {
    std::uint32_t n = 0;
    num(n);
    if (n > in_.size() - pos_) bad_ = true;  // every element takes at least a byte
    if (bad_) return;
    v.resize(n);
    for (auto& x : v) each(x);
  }

  // An error unless the whole record was consumed without overrunning it.
  status finish(const char* what) const {
    if (bad_) return status::invalid(std::string("truncated ") + what + " message");
    if (pos_ != in_.size())
      return status::invalid(std::string("trailing bytes after ") + what + " message");
    return {};
  }

 private:
  bool take(std::size_t n) {
    if (bad_ || n > in_.size() - pos_) {
      bad_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool bad_ = false;
};

// Kind tags. Never renumber; append.
enum class kind : std::uint16_t {
  dispatch = 1, alloc_reply = 2, get_reply = 3, shutdown = 4,
  ready = 101, alloc_request = 102, seal = 103, get_request = 104,
  output = 105, announce = 106, done = 107, complete = 108,
};

// Field lists, one per message, shared by encode (writer, const message) and
// decode (reader, mutable message) so that the two can never disagree.
#define TRAIL_FIELDS(T, ...)                                     \
  template <class IO> void body(IO& io, const T& m) { io_each(io, __VA_ARGS__); } \
  template <class IO> void body(IO& io, T& m) { io_each(io, __VA_ARGS__); }

template <class IO, class... Fs>
void io_each(IO& io, Fs&... fs) {
  (field(io, fs), ...);
}
template <class IO> void field(IO& io, const std::string& s) { io.str(s); }
template <class IO> void field(IO& io, std::string& s) { io.str(s); }
template <class IO> void field(IO& io, const object_desc& o) { io.obj(o); }
template <class IO> void field(IO& io, object_desc& o) { io.obj(o); }
inline void field(writer& io, const bool& b) { io.num(static_cast<std::uint8_t>(b)); }
inline void field(reader& io, bool& b) { io.flag(b); }
template <class T>
void field(writer& io, const std::vector<T>& v) {
  io.num(static_cast<std::uint32_t>(v.size()));
  for (const auto& x : v) field(io, x);
}
template <class T>
void field(reader& io, std::vector<T>& v) {
  io.list(v, [&](T& x) { field(io, x); });
}
template <class IO, class Int>
  requires std::is_integral_v<std::remove_const_t<Int>> &&
           (!std::is_same_v<std::remove_const_t<Int>, bool>)
void field(IO& io, Int& v) { io.num(v); }

TRAIL_FIELDS(dispatch, m.invocation, m.session, m.attempt, m.library, m.function, m.args,
             m.inputs, m.arena_offset, m.arena_size, m.inputs_offset, m.inputs_size)
TRAIL_FIELDS(alloc_reply, m.invocation, m.code, m.error, m.object, m.offset, m.capacity)
TRAIL_FIELDS(get_reply, m.invocation, m.found, m.object)
TRAIL_FIELDS(ready, m.pid, m.abi_version)
TRAIL_FIELDS(alloc_request, m.invocation, m.bucket, m.key, m.capacity)
TRAIL_FIELDS(seal, m.invocation, m.object, m.offset, m.size, m.bucket, m.key)
TRAIL_FIELDS(get_request, m.invocation, m.bucket, m.key)
TRAIL_FIELDS(output, m.invocation, m.object, m.offset, m.size)
TRAIL_FIELDS(announce, m.invocation, m.bucket, m.count)
TRAIL_FIELDS(done, m.invocation, m.bucket)
TRAIL_FIELDS(complete, m.invocation, m.code, m.error)
#undef TRAIL_FIELDS

template <class IO> void body(IO&, const shutdown&) {}
template <class IO> void body(IO&, shutdown&) {}

constexpr kind kind_of(const dispatch&) { return kind::dispatch; }
constexpr kind kind_of(const alloc_reply&) { return kind::alloc_reply; }
constexpr kind kind_of(const get_reply&) { return kind::get_reply; }
constexpr kind kind_of(const shutdown&) { return kind::shutdown; }
constexpr kind kind_of(const ready&) { return kind::ready; }
constexpr kind kind_of(const alloc_request&) { return kind::alloc_request; }
constexpr kind kind_of(const seal&) { return kind::seal; }
constexpr kind kind_of(const get_request&) { return kind::get_request; }
constexpr kind kind_of(const output&) { return kind::output; }
constexpr kind kind_of(const announce&) { return kind::announce; }
constexpr kind kind_of(const done&) { return kind::done; }
constexpr kind kind_of(const complete&) { return kind::complete; }

template <class Variant>
void encode_any(const Variant& m, std::string& out) {
  writer w(out);
  std::visit([&](const auto& x) {
    w.num(static_cast<std::uint16_t>(kind_of(x)));
    body(w, x);
  }, m);
}

template <class T, class Variant>
result<Variant> decode_as(reader& r, const char* what) {
  T m;
  body(r, m);
  if (auto s = r.finish(what); !s.ok()) return s;
  return Variant{std::move(m)};
}

}  // namespace

void encode_objects(const std::vector<object_desc>& objects, std::string& out) {
  writer w(out);
  field(w, objects);
}

result<std::vector<object_desc>> decode_objects(std::string_view bytes) {
  reader r(bytes);
  std::vector<object_desc> v;
  field(r, v);
  if (auto s = r.finish("object list"); !s.ok()) return s;
  return v;
}

void encode(const to_executor& m, std::string& out) { encode_any(m, out); }
void encode(const to_node& m, std::string& out) { encode_any(m, out); }

result<to_executor> decode_to_executor(std::string_view bytes) {
  reader r(bytes);
  std::uint16_t k = 0;
  r.num(k);
  using V = to_executor;
  switch (static_cast<kind>(k)) {
    case kind::dispatch: return decode_as<dispatch, V>(r, "dispatch");
    case kind::alloc_reply: return decode_as<alloc_reply, V>(r, "alloc_reply");
    case kind::get_reply: return decode_as<get_reply, V>(r, "get_reply");
    case kind::shutdown: return decode_as<shutdown, V>(r, "shutdown");
    default: return status::invalid("unknown message kind " + std::to_string(k) + " for an executor");
  }
}

result<to_node> decode_to_node(std::string_view bytes) {
  reader r(bytes);
  std::uint16_t k = 0;
  r.num(k);
  using V = to_node;
  switch (static_cast<kind>(k)) {
    case kind::ready: return decode_as<ready, V>(r, "ready");
    case kind::alloc_request: return decode_as<alloc_request, V>(r, "alloc_request");
    case kind::seal: return decode_as<seal, V>(r, "seal");
    case kind::get_request: return decode_as<get_request, V>(r, "get_request");
    case kind::output: return decode_as<output, V>(r, "output");
    case kind::announce: return decode_as<announce, V>(r, "announce");
    case kind::done: return decode_as<done, V>(r, "done");
    case kind::complete: return decode_as<complete, V>(r, "complete");
    default: return status::invalid("unknown message kind " + std::to_string(k) + " for a node");
  }
}

}  // namespace trail::schema
