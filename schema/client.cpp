#include "schema/client.hpp"

#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "client.capnp.h"  // generated into the build's schema/

namespace trail::schema {
namespace {

constexpr std::uint32_t max_segments = 512;  // as FlatArrayMessageReader allows

kj::ArrayPtr<const kj::byte> as_data(std::string_view s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}
std::string as_string(capnp::Data::Reader d) { return {reinterpret_cast<const char*>(d.begin()), d.size()}; }
std::string as_string(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }

capnp::Data::Reader as_reader(std::span<const std::byte> s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}
// Whether capnp may reference `b` as a segment of its own (word-aligned, whole
// words: nothing past its end is read) instead of copying it into the message.
bool referable(std::span<const std::byte> b) {
  return !b.empty() && reinterpret_cast<std::uintptr_t>(b.data()) % 8 == 0 && b.size() % 8 == 0;
}

// Sets the Data field of `builder` (setBytes/adoptBytes) to `b`: referenced
// when it can be (the bytes are then copied once, by append), else copied.
template <class Builder>
void set_bytes(capnp::MessageBuilder& m, Builder builder, std::span<const std::byte> b) {
  if (referable(b)) builder.adoptBytes(m.getOrphanage().referenceExternalData(as_reader(b)));
  else builder.setBytes(as_reader(b));
}

std::span<const std::byte> as_view(capnp::Data::Reader d) {
  return {reinterpret_cast<const std::byte*>(d.begin()), d.size()};
}

// Appends the flat-array frame (segment table, then segments) straight from
// the builder's segments: the one copy of a payload the builder references.
void append(capnp::MessageBuilder& m, std::string& out) {
  auto segments = m.getSegmentsForOutput();
  std::uint32_t table[1 + max_segments + 1] = {};
  std::size_t entries = 1 + segments.size();
  entries += entries % 2;  // padded to a whole word
  table[0] = static_cast<std::uint32_t>(segments.size() - 1);
  std::size_t bytes = entries * 4;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    table[1 + i] = static_cast<std::uint32_t>(segments[i].size());
    bytes += segments[i].size() * sizeof(capnp::word);
  }
  out.reserve(out.size() + bytes);
  out.append(reinterpret_cast<const char*>(table), entries * 4);
  for (auto seg : segments) out.append(reinterpret_cast<const char*>(seg.begin()), seg.size() * sizeof(capnp::word));
}

// Runs `f` on the root of the flat message `bytes` of type T.
template <class T, class F>
auto read(std::span<const std::byte> bytes, const char* what, F&& f) -> decltype(f(std::declval<typename T::Reader>())) {
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 != 0 || bytes.size() % 8 != 0 || bytes.empty())
    return status::invalid(std::string("malformed ") + what + ": " + std::to_string(bytes.size()) +
                           " bytes, not whole aligned words");
  try {
    capnp::ReaderOptions opts;
    opts.traversalLimitInWords = bytes.size() / 8 + 64;
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / 8), opts);
    return f(reader.getRoot<T>());
  } catch (const kj::Exception& e) {
    return status::invalid(std::string("malformed ") + what + ": " + e.getDescription().cStr());
  }
}

template <class List>
std::vector<std::string> strings(List l) {
  std::vector<std::string> out;
  out.reserve(l.size());
  for (auto x : l) out.push_back(as_string(x));
  return out;
}

}  // namespace

void encode(const client_request& r, std::string& out) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<wire::Request>();
  b.setId(r.id);
  using k = client_request::kind;
  switch (r.what) {
    case k::hello: b.setHello(r.version); break;
    case k::invoke: {
      auto i = b.initInvoke();
      i.setApp(r.app);
      auto args = i.initArgs(static_cast<unsigned>(r.args.size()));
      for (unsigned j = 0; j < r.args.size(); ++j) args.set(j, as_data(r.args[j]));
      i.setTimeoutMs(r.timeout_ms);
      i.setAsync(r.async);
      i.setRequest(r.request);
      i.setDirect(r.direct);
      break;
    }
    case k::result: {
      auto x = b.initResult();
      x.setSession(r.session);
      x.setTimeoutMs(r.timeout_ms);
      break;
    }
    case k::deploy: {
      auto d = b.initDeploy();
      d.setManifest(r.manifest);
      auto names = d.initNames(static_cast<unsigned>(r.names.size()));
      for (unsigned j = 0; j < r.names.size(); ++j) names.set(j, r.names[j]);
      auto libs = d.initLibraries(static_cast<unsigned>(r.libraries.size()));
      for (unsigned j = 0; j < r.libraries.size(); ++j) libs.set(j, as_data(r.libraries[j]));
      break;
    }
    case k::status: b.setStatus(); break;
    case k::apps: b.setApps(); break;
    case k::undeploy: b.setUndeploy(r.app); break;
    case k::member: b.setMember(r.app); break;
    case k::control: b.setControl(); break;
    case k::admin: {
      auto a = b.initAdmin();
      a.setCommand(r.app);
      auto args = a.initArgs(static_cast<unsigned>(r.args.size()));
      for (unsigned j = 0; j < r.args.size(); ++j) args.set(j, r.args[j]);
      break;
    }
    case k::put: {
      auto p = b.initPut();
      p.setApp(r.app);
      p.setBucket(r.bucket);
      p.setKey(r.key);
      p.setSize(r.size);
      p.setNewSession(r.new_session);
      p.setTimeoutMs(r.timeout_ms);
      p.setSession(r.session);
      break;
    }
    case k::put_data: {
      auto p = b.initPutData();
      p.setPut(r.put);
      set_bytes(m, p, r.bytes);
      p.setLast(r.last);
      break;
    }
    case k::get: {
      auto g = b.initGet();
      g.setApp(r.app);
      g.setBucket(r.bucket);
      g.setKey(r.key);
      break;
    }
    case k::auth: {
      auto a = b.initAuth();
      a.setNonce(as_data(r.nonce));
      a.setRole(r.role);
      a.setProof(as_data(r.proof));
      break;
    }
  }
  append(m, out);
}

void encode(const client_reply& r, std::string& out) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<wire::Reply>();
  b.setId(r.id);
  using k = client_reply::kind;
  switch (r.what) {
    case k::error: {
      auto e = b.initError();
      e.setCode(static_cast<std::uint16_t>(r.error.code()));
      e.setMessage(r.error.message());
      break;
    }
    case k::hello: b.setHello(r.version); break;
    case k::session: {
      auto s = b.initSession();
      s.setSession(r.session);
      s.setOutput(as_data(r.output));
      break;
    }
    case k::text: b.setText(r.text); break;
    case k::apps: {
      auto a = b.initApps(static_cast<unsigned>(r.apps.size()));
      for (unsigned j = 0; j < r.apps.size(); ++j) a.set(j, r.apps[j]);
      break;
    }
    case k::control: {
      auto c = b.initControl();
      c.setCaf(r.text);
      c.setWire(r.wire);
      break;
    }
    case k::data: {
      auto d = b.initData();
      d.setSize(r.size);
      set_bytes(m, d, r.bytes);
      d.setLast(r.last);
      break;
    }
    case k::redirect: {
      auto d = b.initRedirect();
      d.setAddress(r.text);
      d.setSession(r.session);
      d.setWhy(r.why);
      break;
    }
    case k::challenge: {
      auto c = b.initChallenge();
      c.setVersion(r.version);
      c.setNonce(as_data(r.nonce));
      break;
    }
    case k::auth_ok: b.setAuthOk(as_data(r.proof)); break;
  }
  if (!r.coordinators.empty()) {
    auto c = b.initCoordinators(static_cast<unsigned>(r.coordinators.size()));
    for (unsigned j = 0; j < r.coordinators.size(); ++j) c.set(j, r.coordinators[j]);
  }
  if (!r.partitions.empty()) {
    auto p = b.initPartitions();
    auto h = p.initHolders(static_cast<unsigned>(r.partitions.size()));
    for (unsigned j = 0; j < r.partitions.size(); ++j) h.set(j, r.partitions[j]);
    p.setShards(r.partition_shards);
    p.setMine(r.partition);
  }
  append(m, out);
}

result<client_request> decode_request(std::span<const std::byte> bytes) {
  return read<wire::Request>(bytes, "client request", [](wire::Request::Reader b) -> result<client_request> {
    client_request r;
    r.id = b.getId();
    using k = client_request::kind;
    switch (b.which()) {
      case wire::Request::HELLO:
        r.what = k::hello;
        r.version = b.getHello();
        break;
      case wire::Request::INVOKE: {
        auto i = b.getInvoke();
        r.what = k::invoke;
        r.app = as_string(i.getApp());
        r.args = strings(i.getArgs());
        r.timeout_ms = i.getTimeoutMs();
        r.async = i.getAsync();
        r.request = i.getRequest();
        r.direct = i.getDirect();
        break;
      }
      case wire::Request::RESULT:
        r.what = k::result;
        r.session = b.getResult().getSession();
        r.timeout_ms = b.getResult().getTimeoutMs();
        break;
      case wire::Request::DEPLOY: {
        auto d = b.getDeploy();
        r.what = k::deploy;
        r.manifest = as_string(d.getManifest());
        r.names = strings(d.getNames());
        r.libraries = strings(d.getLibraries());
        if (r.names.size() != r.libraries.size())
          return status::invalid("malformed deploy request: " + std::to_string(r.names.size()) + " names for " +
                                 std::to_string(r.libraries.size()) + " libraries");
        break;
      }
      case wire::Request::STATUS: r.what = k::status; break;
      case wire::Request::APPS: r.what = k::apps; break;
      case wire::Request::MEMBER:
        r.what = k::member;
        r.app = as_string(b.getMember());
        break;
      case wire::Request::UNDEPLOY:
        r.what = k::undeploy;
        r.app = as_string(b.getUndeploy());
        break;
      case wire::Request::CONTROL: r.what = k::control; break;
      case wire::Request::ADMIN:
        r.what = k::admin;
        r.app = as_string(b.getAdmin().getCommand());
        r.args = strings(b.getAdmin().getArgs());
        break;
      case wire::Request::PUT: {
        auto p = b.getPut();
        r.what = k::put;
        r.app = as_string(p.getApp());
        r.bucket = as_string(p.getBucket());
        r.key = as_string(p.getKey());
        r.size = p.getSize();
        r.new_session = p.getNewSession();
        r.timeout_ms = p.getTimeoutMs();
        r.session = p.getSession();
        break;
      }
      case wire::Request::PUT_DATA: {
        auto p = b.getPutData();
        r.what = k::put_data;
        r.put = p.getPut();
        r.bytes = as_view(p.getBytes());
        r.last = p.getLast();
        break;
      }
      case wire::Request::GET: {
        auto g = b.getGet();
        r.what = k::get;
        r.app = as_string(g.getApp());
        r.bucket = as_string(g.getBucket());
        r.key = as_string(g.getKey());
        break;
      }
      case wire::Request::AUTH: {
        auto a = b.getAuth();
        r.what = k::auth;
        r.nonce = as_string(a.getNonce());
        r.role = as_string(a.getRole());
        r.proof = as_string(a.getProof());
        break;
      }
      default: return status::invalid("unknown client request (newer client?)");
    }
    return r;
  });
}

result<client_reply> decode_reply(std::span<const std::byte> bytes) {
  return read<wire::Reply>(bytes, "reply", [](wire::Reply::Reader b) -> result<client_reply> {
    client_reply r;
    r.id = b.getId();
    using k = client_reply::kind;
    switch (b.which()) {
      case wire::Reply::ERROR: {
        r.what = k::error;
        auto raw = b.getError().getCode();
        // An error is never ok; codes this build does not know are internal.
        auto code = raw == 0 || raw > static_cast<std::uint16_t>(last_errc) ? errc::internal : static_cast<errc>(raw);
        r.error = status(code, as_string(b.getError().getMessage()));
        break;
      }
      case wire::Reply::HELLO:
        r.what = k::hello;
        r.version = b.getHello();
        break;
      case wire::Reply::SESSION:
        r.what = k::session;
        r.session = b.getSession().getSession();
        r.output = as_string(b.getSession().getOutput());
        break;
      case wire::Reply::TEXT:
        r.what = k::text;
        r.text = as_string(b.getText());
        break;
      case wire::Reply::APPS:
        r.what = k::apps;
        r.apps = strings(b.getApps());
        break;
      case wire::Reply::CONTROL:
        r.what = k::control;
        r.text = as_string(b.getControl().getCaf());
        r.wire = as_string(b.getControl().getWire());
        break;
      case wire::Reply::DATA:
        r.what = k::data;
        r.size = b.getData().getSize();
        r.bytes = as_view(b.getData().getBytes());
        r.last = b.getData().getLast();
        break;
      case wire::Reply::REDIRECT:
        r.what = k::redirect;
        r.text = as_string(b.getRedirect().getAddress());
        r.session = b.getRedirect().getSession();
        r.why = as_string(b.getRedirect().getWhy());
        break;
      case wire::Reply::CHALLENGE:
        r.what = k::challenge;
        r.version = b.getChallenge().getVersion();
        r.nonce = as_string(b.getChallenge().getNonce());
        break;
      case wire::Reply::AUTH_OK:
        r.what = k::auth_ok;
        r.proof = as_string(b.getAuthOk());
        break;
      default: return status::invalid("unknown reply (newer server?)");
    }
    if (b.hasCoordinators()) r.coordinators = strings(b.getCoordinators());
    if (b.hasPartitions()) {
      auto p = b.getPartitions();
      r.partitions = strings(p.getHolders());
      r.partition_shards = p.getShards();
      r.partition = p.getMine();
      if (r.partitions.empty() || r.partitions.size() > 16 || r.partition_shards == 0 || r.partition >= r.partitions.size())
        return status::invalid("malformed partitions in a reply");
    }
    return r;
  });
}

result<std::size_t> client_frame_size(std::span<const std::byte> prefix, std::size_t limit) {
  if (reinterpret_cast<std::uintptr_t>(prefix.data()) % 8 != 0) return status::invalid("misaligned frame prefix");
  if (prefix.size() < 8) return std::size_t{8};
  std::uint32_t segments_minus_one = 0;
  std::memcpy(&segments_minus_one, prefix.data(), 4);
  if (segments_minus_one >= max_segments)
    return status::invalid("frame announces " + std::to_string(segments_minus_one + 1ull) + " segments");
  auto words = capnp::expectedSizeInWordsFromPrefix(
      kj::arrayPtr(reinterpret_cast<const capnp::word*>(prefix.data()), prefix.size() / 8));
  if (words > limit / 8)
    return status::invalid("frame announces " + std::to_string(words * 8) + " bytes, more than the limit of " +
                           std::to_string(limit));
  return words * 8;
}

}  // namespace trail::schema
