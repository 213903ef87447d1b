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

// -- builders and readers shared by the standalone messages and peer frames --

void put(wire::Work::Builder b, const work& w) {
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
}

void put(wire::Report::Builder b, const report& r) {
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
}

result<work> get(wire::Work::Reader r) {
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
}

result<report> get(wire::Report::Reader r) {
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
  if (out.code > static_cast<std::uint16_t>(last_errc))
    return status::invalid("malformed report message: unknown error code " + std::to_string(out.code));
  return out;
}

}  // namespace

std::string encode(const work& w) {
  capnp::MallocMessageBuilder m;
  put(m.initRoot<wire::Work>(), w);
  return flatten(m);
}

std::string encode(const report& r) {
  capnp::MallocMessageBuilder m;
  put(m.initRoot<wire::Report>(), r);
  return flatten(m);
}

result<work> decode_work(std::string_view bytes) {
  return read<wire::Work>(bytes, "work", [](wire::Work::Reader r) { return get(r); });
}

result<report> decode_report(std::string_view bytes) {
  return read<wire::Report>(bytes, "report", [](wire::Report::Reader r) { return get(r); });
}

// -- the node-to-node wire ------------------------------------------------------

void encode(const peer_message& m, std::string& out) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::PeerMessage>();
  struct visitor {
    wire::PeerMessage::Builder& b;
    void operator()(const peer_hello& h) {
      auto x = b.initHello();
      x.setNumber(h.number);
      x.setIncarnation(h.incarnation);
    }
    void operator()(const work& w) { put(b.initWork(), w); }
    void operator()(const refused& r) {
      auto x = b.initRefused();
      x.setInvocation(r.invocation);
      x.setCode(r.code);
      x.setMessage(r.message);
    }
    void operator()(const report& r) { put(b.initReport(), r); }
    void operator()(const release_session& r) { b.setRelease(r.session); }
    void operator()(const lent_object& l) { b.setLent(l.object); }
    void operator()(const run_session& r) {
      auto x = b.initRun();
      x.setSession(r.session);
      x.setApp(r.app);
      x.setVersion(r.version);
      auto args = x.initArgs(static_cast<unsigned>(r.args.size()));
      for (unsigned i = 0; i < r.args.size(); ++i) args.set(i, as_data(r.args[i]));
      x.setTimeoutMs(r.timeout_ms);
    }
    void operator()(const session_ended& e) {
      auto x = b.initEnded();
      x.setSession(e.session);
      x.setOk(e.ok);
      x.setOutput(as_data(e.output));
      x.setCode(e.code);
      x.setMessage(e.message);
    }
  };
  std::visit(visitor{b}, m);
  auto words = capnp::messageToFlatArray(mb);
  auto bytes = words.asBytes();
  out.append(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

result<peer_message> decode_peer(std::span<const std::byte> bytes) {
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 != 0 || bytes.size() % 8 != 0 || bytes.empty() ||
      bytes.size() > max_peer_frame)
    return status::invalid("malformed node-to-node frame: " + std::to_string(bytes.size()) + " bytes");
  try {
    capnp::ReaderOptions opts;
    opts.traversalLimitInWords = bytes.size() / 8 + 64;
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / 8), opts);
    auto m = reader.getRoot<wire::PeerMessage>();
    switch (m.which()) {
      case wire::PeerMessage::HELLO: return peer_message{peer_hello{m.getHello().getNumber(), m.getHello().getIncarnation()}};
      case wire::PeerMessage::WORK: {
        auto w = get(m.getWork());
        if (!w) return w.error();
        return peer_message{std::move(*w)};
      }
      case wire::PeerMessage::REFUSED: {
        auto r = m.getRefused();
        if (r.getCode() == 0 || r.getCode() > static_cast<std::uint16_t>(last_errc))
          return status::invalid("malformed node-to-node frame: refusal with code " + std::to_string(r.getCode()));
        return peer_message{refused{r.getInvocation(), r.getCode(), as_string(r.getMessage())}};
      }
      case wire::PeerMessage::REPORT: {
        auto r = get(m.getReport());
        if (!r) return r.error();
        return peer_message{std::move(*r)};
      }
      case wire::PeerMessage::RELEASE: return peer_message{release_session{m.getRelease()}};
      case wire::PeerMessage::LENT: return peer_message{lent_object{m.getLent()}};
      case wire::PeerMessage::RUN: {
        auto r = m.getRun();
        run_session out{r.getSession(), as_string(r.getApp()), r.getVersion(), {}, r.getTimeoutMs()};
        for (auto a : r.getArgs()) out.args.push_back(as_string(a));
        if (out.session == 0 || out.app.empty()) return status::invalid("malformed node-to-node frame: a run without session or app");
        return peer_message{std::move(out)};
      }
      case wire::PeerMessage::ENDED: {
        auto e = m.getEnded();
        if (!e.getOk() && (e.getCode() == 0 || e.getCode() > static_cast<std::uint16_t>(last_errc)))
          return status::invalid("malformed node-to-node frame: a failed session with code " + std::to_string(e.getCode()));
        return peer_message{session_ended{e.getSession(), e.getOk(), as_string(e.getOutput()), e.getCode(),
                                          as_string(e.getMessage())}};
      }
      default: return status::invalid("malformed node-to-node frame: unknown message (newer node?)");
    }
  } catch (const kj::Exception& e) {
    return status::invalid(std::string("malformed node-to-node frame: ") + e.getDescription().cStr());
  }
}

}  // namespace trail::schema
