#include "schema/cluster.hpp"

#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "cluster.capnp.h"  // generated into the build's schema/

namespace trail::schema {
namespace {

kj::ArrayPtr<const kj::byte> as_data(std::string_view s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}
std::string as_string(capnp::Data::Reader d) { return {reinterpret_cast<const char*>(d.begin()), d.size()}; }
std::string as_string(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }

void put(wire::ObjectRef::Builder b, const object_ref& o) {
  b.setSession(o.session);
  b.setBucket(o.bucket);
  b.setKey(o.key);
  b.setId(o.id);
  b.setSize(o.size);
  b.setHasInline(o.has_inline);
  if (o.has_inline) b.setInline(as_data(o.bytes));
}

status get(wire::ObjectRef::Reader r, object_ref& o) {
  o.session = r.getSession();
  o.bucket = as_string(r.getBucket());
  o.key = as_string(r.getKey());
  o.id = r.getId();
  o.size = r.getSize();
  o.has_inline = r.getHasInline();
  if (o.has_inline) {
    o.bytes = as_string(r.getInline());
    if (o.bytes.size() != o.size || o.size > max_inline_object)
      return status::invalid("object '" + o.bucket + "/" + o.key + "': inline payload of " +
                             std::to_string(o.bytes.size()) + " bytes for a size of " + std::to_string(o.size));
  }
  return {};
}

std::string flatten(capnp::MessageBuilder& m) {
  auto words = capnp::messageToFlatArray(m);
  auto bytes = words.asBytes();
  return {reinterpret_cast<const char*>(bytes.begin()), bytes.size()};
}

// Runs `f` on the root of `bytes` read as a flat message of type T.
template <class T, class F>
auto read(std::string_view bytes, const char* what, F&& f) -> decltype(f(std::declval<typename T::Reader>())) {
  if (bytes.size() % 8 != 0 || bytes.empty() || bytes.size() > max_control_message)
    return status::invalid(std::string("malformed ") + what + " message: " + std::to_string(bytes.size()) + " bytes");
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / 8);
  std::memcpy(words.begin(), bytes.data(), bytes.size());  // std::string gives no 8-byte alignment
  try {
    capnp::ReaderOptions opts;
    opts.traversalLimitInWords = bytes.size() / 8 + 64;
    capnp::FlatArrayMessageReader reader(words, opts);
    return f(reader.getRoot<T>());
  } catch (const kj::Exception& e) {
    return status::invalid(std::string("malformed ") + what + " message: " + e.getDescription().cStr());
  }
}

}  // namespace

std::string encode(const work& w) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<wire::Work>();
  b.setSession(w.session);
  b.setInvocation(w.invocation);
  b.setAttempt(w.attempt);
  b.setApp(w.app);
  b.setVersion(w.version);
  b.setFunction(w.function);
  auto args = b.initArgs(static_cast<unsigned>(w.args.size()));
  for (unsigned i = 0; i < w.args.size(); ++i) args.set(i, as_data(w.args[i]));
  auto inputs = b.initInputs(static_cast<unsigned>(w.inputs.size()));
  for (unsigned i = 0; i < w.inputs.size(); ++i) put(inputs[i], w.inputs[i]);
  b.setHomeNumber(w.home_number);
  b.setHomeData(w.home_data);
  b.setTimeoutMs(w.timeout_ms);
  return flatten(m);
}

std::string encode(const report& r) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<wire::Report>();
  b.setKind(static_cast<wire::Report::Kind>(r.what));
  b.setInvocation(r.invocation);
  b.setSession(r.session);
  b.setFromNumber(r.from_number);
  b.setFromIncarnation(r.from_incarnation);
  put(b.initObject(), r.object);
  b.setDataAddress(r.data_address);
  b.setBucket(r.bucket);
  b.setCount(r.count);
  b.setCode(r.code);
  b.setMessage(r.message);
  b.setApp(r.app);
  b.setVersion(r.version);
  b.setSeq(r.seq);
  return flatten(m);
}

result<work> decode_work(std::string_view bytes) {
  return read<wire::Work>(bytes, "work", [](wire::Work::Reader r) -> result<work> {
    work w;
    w.session = r.getSession();
    w.invocation = r.getInvocation();
    w.attempt = r.getAttempt();
    w.app = as_string(r.getApp());
    w.version = r.getVersion();
    w.function = as_string(r.getFunction());
    for (auto a : r.getArgs()) w.args.push_back(as_string(a));
    for (auto in : r.getInputs()) {
      object_ref o;
      if (auto s = get(in, o); !s.ok()) return s;
      w.inputs.push_back(std::move(o));
    }
    w.home_number = r.getHomeNumber();
    w.home_data = as_string(r.getHomeData());
    w.timeout_ms = r.getTimeoutMs();
    if (w.session == 0 || w.invocation == 0 || w.app.empty() || w.function.empty())
      return status::invalid("malformed work message: no session, invocation, app or function");
    return w;
  });
}

result<report> decode_report(std::string_view bytes) {
  return read<wire::Report>(bytes, "report", [](wire::Report::Reader r) -> result<report> {
    report out;
    auto k = static_cast<unsigned>(r.getKind());
    if (k > static_cast<unsigned>(report::kind::app_object))
      return status::invalid("malformed report message: unknown kind " + std::to_string(k));
    out.what = static_cast<report::kind>(k);
    out.invocation = r.getInvocation();
    out.session = r.getSession();
    out.from_number = r.getFromNumber();
    out.from_incarnation = r.getFromIncarnation();
    if (auto s = get(r.getObject(), out.object); !s.ok()) return s;
    out.data_address = as_string(r.getDataAddress());
    out.bucket = as_string(r.getBucket());
    out.count = r.getCount();
    out.code = r.getCode();
    out.message = as_string(r.getMessage());
    out.app = as_string(r.getApp());
    out.version = r.getVersion();
    out.seq = r.getSeq();
    if (out.code > static_cast<std::uint16_t>(errc::internal))
      return status::invalid("malformed report message: unknown error code " + std::to_string(out.code));
    return out;
  });
}

}  // namespace trail::schema
