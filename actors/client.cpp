// The client library (include/trail/client.hpp): the client wire
// (schema/client.capnp) over one TCP connection. No actor system.
#include <trail/client.hpp>

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <streambuf>

#include <nlohmann/json.hpp>

#include "actors/core/address_list.hpp"
#include "actors/core/partitions.hpp"
#include "actors/core/manifest.hpp"
#include "actors/net/auth.hpp"
#include "actors/net/socket.hpp"
#include "actors/net/stream.hpp"
#include "actors/types.hpp"
#include "schema/client.hpp"
#include "schema/frame_buffer.hpp"

namespace trail {
namespace {

namespace fs = std::filesystem;

result<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return status::not_found("cannot read '" + p.string() + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Reads a caller's bytes in place, without a copy.
struct view_buf : std::streambuf {
  explicit view_buf(std::string_view v) {
    char* p = const_cast<char*>(v.data());  // only ever read
    setg(p, p, p + v.size());
  }
};

}  // namespace

struct client::credentials {
  std::optional<net::credentials> cred;
  std::shared_ptr<net::tls_context> tls;  // TRAIL_TLS_CA: servers speak TLS, signed by this CA
};

// One TCP connection speaking the client wire (schema/client.capnp).
struct client::impl {
  static constexpr const char* timed_out = "request timed out";
  net::stop_signal stop;  // never raised: every wait ends by its timeout
  net::stream sock;
  schema::frame_buffer in{schema::max_client_frame};
  std::uint64_t next_id = 1;
  std::string out;  // the frame being sent (its capacity is reused)
  std::chrono::milliseconds timeout{10000};
  status broken;  // set once the connection failed: every later request fails with it
  std::map<std::string, std::unique_ptr<impl>> nodes;  // where a coordinator sent puts, gets and invokes
  // App -> the node a coordinator sent its synchronous invokes to, and until
  // when they go there without asking it again.
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>, std::less<>> homes;
  std::shared_ptr<const credentials> cred;             // for those too
  std::string addresses;                               // what connect() was given (HOST:PORT[,...])
  std::string address;                                 // the one of them this connection is to
  std::vector<std::string> learned;                    // the other coordinators its server named
  // With several partitions, as its server last said (client.capnp): each
  // one's holder ("" while none), shards per partition, and its server's.
  std::vector<std::string> partitions;
  std::uint32_t partition_shards = 0, partition = 0;
  // Their layout, if there are several.
  std::optional<core::partition_layout> layout() const {
    if (partitions.size() < 2) return std::nullopt;
    return core::partition_layout{static_cast<std::uint32_t>(partitions.size()), partition_shards};
  }

  // Where to connect again: the addresses given, then the coordinators learned.
  std::string reach() const { return core::with_more(addresses.empty() ? address : addresses, learned); }
  // (Asked before every invoke: no list built. Learned ones are never the server itself.)
  bool several() const { return !learned.empty() || addresses.find(',') != std::string::npos; }

  // Sends `q` under the next id (set in q.id).
  status send(schema::client_request& q, std::chrono::milliseconds t) {
    if (!broken.ok()) return broken;
    q.id = next_id++;
    out.clear();
    schema::encode(q, out);
    net::io_limits io{&stop, std::max(t, std::chrono::milliseconds(1))};
    iovec part = net::io_part(out.data(), out.size());
    if (status s = sock.write({&part, 1}, io); !s.ok()) return fail(s);
    return {};
  }

  // Waits until `deadline` for the next reply to request `id`; error replies
  // become errors. A reply's `bytes` view stays valid until the next await.
  result<schema::client_reply> await(std::uint64_t id, std::chrono::steady_clock::time_point deadline) {
    if (!broken.ok()) return broken;
    for (;;) {
      auto frame = in.next();
      if (!frame) return fail(frame.error());
      if (!frame->empty()) {
        auto r = schema::decode_reply(*frame);
        if (!r) return fail(r.error());
        // (Any reply may name the other coordinators: the one that ends the
        // handshake does, and the first after they changed.)
        if (!r->coordinators.empty()) learned = std::move(r->coordinators);
        if (!r->partitions.empty()) {
          partitions = std::move(r->partitions);
          partition_shards = r->partition_shards;
          partition = r->partition;
        }
        if (r->id != id && r->id != 0) continue;  // the late answer of a request that timed out
        if (r->what == schema::client_reply::kind::error) return r->error;
        return std::move(*r);
      }
      // (Rounded up: a wait cut short by rounding would look like a broken connection.)
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return status::unavailable(timed_out);
      auto room = in.space();
      iovec into = net::io_part(room.data(), room.size());
      auto n = sock.read_at_least({&into, 1}, 1, net::io_limits{&stop, left});
      if (!n) {
        // A silent server within the timeout is a timeout, and the
        // connection stays usable; anything else broke it.
        if (std::chrono::steady_clock::now() >= deadline) return status::unavailable(timed_out);
        return fail(n.error());
      }
      in.commit(*n);
    }
  }

  // Sends `q` and waits up to `t` for its reply.
  result<schema::client_reply> ask(schema::client_request q, std::chrono::milliseconds t) {
    auto deadline = std::chrono::steady_clock::now() + t;
    if (status s = send(q, t); !s.ok()) return s;
    return await(q.id, deadline);
  }

  // Not broken, and not closed by its server meanwhile: nothing is read
  // between requests, so bytes or an end waiting now are its close (or at
  // worst the late answer of a request that timed out). One system call.
  bool usable() const { return broken.ok() && !sock.readable(); }

  status fail(const status& s) {
    broken = status::unavailable("connection to the node lost: " + s.message());
    sock.close();
    return broken;
  }
};

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

void client::toward(std::optional<std::uint32_t> p) {
  auto& now = *impl_;
  if (!p || !now.layout() || *p == now.partition || *p >= now.partitions.size()) return;
  const std::string holder = now.partitions[*p];
  if (holder.empty() || holder == now.address) return;  // (none holds it now: this one says so)
  auto& kept = held_[holder];
  if (!kept || !kept->usable()) {
    // (A holder that stopped answers no hello: not long to wait for it.)
    auto c = open(holder, std::min<std::chrono::milliseconds>(now.timeout, std::chrono::seconds(2)), now.cred, false);
    if (!c) {
      held_.erase(holder);
      return;  // (this one says where it is, or a standby took over: the next answer tells)
    }
    kept = std::move(*c);
    kept->addresses = now.reach();  // (it fails over as this one would)
  }
  kept->timeout = now.timeout;
  // (It may not have said its partitions yet: it holds p, as this one says.)
  if (kept->partitions.empty()) {
    kept->partitions = now.partitions;
    kept->partition_shards = now.partition_shards;
    kept->partition = *p;
  }
  auto here = now.address;
  std::swap(impl_, kept);
  held_[here] = std::move(kept);
  held_.erase(holder);
}

void client::toward_app(const std::string& app) {
  if (auto layout = impl_->layout()) toward(layout->partition_of_app(app));
}

void client::toward_request(const schema::client_request& q) {
  using k = schema::client_request::kind;
  if (!impl_->layout()) return;
  if (q.what == k::result) return toward_session(q.session);
  if (q.what == k::deploy) {
    if (auto m = core::parse_manifest(q.manifest, actors::upload_root)) toward_app(m->app);
    return;
  }
  toward_app(q.app);
}

void client::toward_session(std::uint64_t session) {
  if (auto layout = impl_->layout()) toward(layout->partition_of_session(session));
}
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;
client::~client() = default;

void client::set_request_timeout(std::chrono::milliseconds t) { impl_->timeout = t; }

void client::set_direct_invokes(bool on) { direct_invokes_ = on; }

bool client::connected() const { return impl_->usable(); }

status client::reconnect() {
  if (impl_->usable()) return {};
  if (impl_->broken.ok()) static_cast<void>(impl_->fail(status::unavailable("closed by its server")));  // (now broken)
  return renew();
}

// Nothing of the next request was sent yet, so a connection that broke (its
// server went away or restarted) is opened again first, through the
// addresses given to connect() and learned; the error says why when none answers.
status client::renew() {
  if (impl_->broken.ok()) return {};
  auto again = open_any(impl_->reach(), impl_->timeout, impl_->cred);
  if (!again) return again.error();
  (*again)->timeout = impl_->timeout;
  impl_ = std::move(*again);
  return {};
}

// With several addresses ask_session connects again itself: it tries the
// node last named first, and waits for a coordinator to take over.
status client::renew_if_one_address() {
  return impl_->several() ? status{} : renew();
}

// The connection to the node a coordinator sent a put, get or invoke to
// (kept for the next ones).
result<client::impl*> client::impl_node(impl& from, const std::string& address, bool look) {
  auto& slot = from.nodes[address];
  // A kept connection that has bytes or its end waiting, while no request is
  // out on it, was closed by its node (it restarted since): open it again.
  // (Unless the caller would rather not pay the look: see invoke_on.)
  if (slot && (look ? slot->usable() : slot->broken.ok())) return slot.get();
  auto c = open(address, from.timeout, from.cred);
  if (!c) {
    from.nodes.erase(address);
    return status::unavailable("the coordinator sent this request to node " + address + ": " + c.error().message());
  }
  slot = std::move(*c);
  slot->timeout = from.timeout;
  return slot.get();
}

result<client> client::connect(const std::string& address, std::chrono::milliseconds timeout) {
  auto env = net::credentials_from_env();
  if (!env) return env.error();
  auto tls = net::client_tls_from_env();
  if (!tls) return tls.error();
  auto p = open_any(address, timeout, std::make_shared<credentials>(credentials{std::move(*env), std::move(*tls)}));
  if (!p) return p.error();
  return client(std::move(*p));
}

result<client> client::connect(const std::string& address, const key_file& key, std::chrono::milliseconds timeout) {
  auto k = net::load_key(key.path);
  if (!k) return k.error();
  auto tls = net::client_tls_from_env();
  if (!tls) return tls.error();
  auto cred = std::make_shared<credentials>();
  cred->cred = net::credentials{std::move(*k), key.invoke_only ? net::role::invoke : net::role::admin};
  cred->tls = std::move(*tls);
  auto p = open_any(address, timeout, std::move(cred));
  if (!p) return p.error();
  return client(std::move(*p));
}

// The first of "HOST:PORT[,HOST:PORT...]" that answers. A server that
// refused us (a wrong key, another protocol) is the answer: its error.
// When none answers but a coordinator did, standing by (the holder it named
// is gone, and its lease has not run out yet, or none holds the shards yet:
// a takeover is under way), it looks again every 200 ms, within `timeout`.
result<std::unique_ptr<client::impl>> client::open_any(const std::string& addresses, std::chrono::milliseconds timeout,
                                                       std::shared_ptr<const credentials> cred) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + timeout;
  constexpr auto again = std::chrono::milliseconds(200);
  for (;;) {
    result<std::unique_ptr<impl>> last = status::invalid("no address given");
    bool stood_by = false;
    for (auto& address : core::split_list(addresses)) {
      // (Each its whole timeout: one that never answers must not leave the others none.)
      last = open(address, timeout, cred, true, &stood_by);
      if (last) (*last)->addresses = addresses;
      if (last || last.error().code() != errc::unavailable) return last;
    }
    if (!stood_by || clock::now() + again >= deadline) return last;
    ::poll(nullptr, 0, static_cast<int>(again.count()));
  }
}

// A connection to `address` that said hello.
result<std::unique_ptr<client::impl>> client::open(const std::string& address, std::chrono::milliseconds timeout,
                                                   std::shared_ptr<const credentials> cred, bool follow,
                                                   bool* stood_by) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return status::invalid("invalid address '" + address + "': expected HOST:PORT");
  std::string host = address.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port <= 0 || port > 65535) return status::invalid("invalid port in '" + address + "'");
  auto p = std::make_unique<impl>();
  auto sock = net::stream::connect(address, net::io_limits{&p->stop, timeout}, cred ? cred->tls : nullptr);
  if (!sock) {
    if (sock.error().code() == errc::invalid_argument) return sock.error();  // a server the CA did not sign
    std::string why = sock.error().message();  // (it names the address when it says where)
    return status::unavailable(why.find(address) != std::string::npos ? why : "cannot connect to " + address + ": " + why);
  }
  p->sock = std::move(*sock);
  p->cred = std::move(cred);
  p->address = address;
  impl* raw = p.get();
  std::string redirect;
  bool redirected = false;  // (a coordinator standing by, naming the holder if it knows one)
  auto ask = [&](schema::client_request q) {
    auto r = raw->ask(std::move(q), timeout);
    redirected |= r && r->what == schema::client_reply::kind::redirect;
    return r;
  };
  status s = net::client_handshake(ask, actors::protocol_version, p->cred && p->cred->cred ? &*p->cred->cred : nullptr,
                                   &redirect);
  if (redirected) {  // the holder it names, once (else what it said)
    if (stood_by) *stood_by = true;
    if (!follow || redirect.empty() || redirect == address) return s;
    auto there = open(redirect, timeout, p->cred, false);
    return there ? std::move(there) : result<std::unique_ptr<impl>>(s);
  }
  if (!s.ok()) {
    // A node that refused us (another protocol version, no or a wrong key) says why.
    if (s.code() == errc::invalid_argument) return s;
    return status::unavailable("no trail node at " + address + ": " + s.message());
  }
  return p;
}

result<std::string> client::deploy(const fs::path& manifest) {
  if (status s = renew(); !s.ok()) return s;
  auto local = core::load_manifest(manifest);  // libraries as files here
  if (!local) return local.error();
  auto text = read_file(manifest);
  if (!text) return text.error();
  // The same manifest as the node will resolve it: those paths name the uploads.
  auto remote = core::parse_manifest(*text, actors::upload_root);
  if (!remote) return remote.error();
  toward_app(remote->app);
  std::vector<std::string> names, bytes;
  for (std::size_t i = 0; i < local->functions.size(); ++i) {
    const std::string& name = remote->functions[i].library;
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    auto lib = read_file(local->functions[i].library);
    if (!lib) return lib.error();
    names.push_back(name);
    bytes.push_back(std::move(*lib));
  }
  schema::client_request q;
  q.what = schema::client_request::kind::deploy;
  q.manifest = std::move(*text);
  q.names = std::move(names);
  q.libraries = std::move(bytes);
  auto r = ask_moving(q);
  if (!r) return r.error();
  return std::move(r->text);
}

result<invocation_result> client::invoke(const std::string& app, const std::vector<std::string>& args,
                                         std::chrono::milliseconds timeout, bool async) {
  if (status s = renew_if_one_address(); !s.ok()) return s;
  toward_app(app);
  // The node cancels the session at `timeout`; the reply may take a little longer.
  auto wait = async ? impl_->timeout : timeout + std::chrono::seconds(5);
  schema::client_request q;
  q.what = schema::client_request::kind::invoke;
  q.app = app;
  q.args = args;
  q.timeout_ms = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(timeout.count(), 1, std::numeric_limits<std::uint32_t>::max()));
  q.async = async;
  // The same id when sent again: the coordinator answers with the session it
  // started for it, if any, so a retry never starts a second one.
  // 64 bits from the kernel for every id (not a generator seeded with 32):
  // every `trail invoke` is a new process, and ids of different clients
  // must not meet while the coordinator remembers them.
  thread_local std::random_device entropy;
  do q.request = (std::uint64_t{entropy()} << 32) | entropy();
  while (q.request == 0);
  auto deadline = std::chrono::steady_clock::now() + wait;
  std::string last_home;
  if (!async && direct_invokes_) {
    q.direct = true;
    if (auto h = impl_->homes.find(app); h != impl_->homes.end()) {
      if (std::chrono::steady_clock::now() < h->second.second) {
        if (auto r = invoke_on(h->second.first, q, wait)) return std::move(*r);
        q.direct = false;  // that node could not take it: through the coordinator this time
      } else {
        last_home = std::move(h->second.first);  // time to ask the coordinator where again
        impl_->homes.erase(h);
      }
    }
  }
  return ask_session(std::move(q), wait, deadline, std::move(last_home));
}

std::optional<result<invocation_result>> client::invoke_on(const std::string& address,
                                                           const schema::client_request& q,
                                                           std::chrono::milliseconds wait) {
  // A kept connection is used without a look (a system call per invoke):
  // if its node closed it meanwhile, the invoke fails on it and goes through
  // the coordinator.
  auto opened = impl_node(*impl_, address, false);
  impl* node = opened ? *opened : nullptr;
  schema::client_request sent = q;
  auto deadline = std::chrono::steady_clock::now() + wait;
  if (node && node->send(sent, wait).ok()) {
    for (;;) {
      auto r = node->await(sent.id, std::min(deadline, std::chrono::steady_clock::now() + direct_patience));
      if (r) return invocation_result{r->session, std::move(r->output)};
      if (!node->broken.ok()) break;  // lost on the way (it died, restarted): through the coordinator
      if (r.error().message() == impl::timed_out && std::chrono::steady_clock::now() < deadline) {
        // Silent for a while: a hung node says nothing either. Its
        // coordinator, which fences a node that stays silent, says whether
        // it still is a member; a fenced one drops the session.
        if (member_alive(address)) continue;
        (void)node->fail(status::unavailable("its coordinator no longer lists node " + address));
        break;
      }
      // Anything but a refusal before it started is the session's own outcome.
      if (r.error().code() != errc::unavailable || !r.error().message().starts_with(actors::not_here_prefix))
        return r.error();
      break;
    }
  }
  // Whatever this client sent there goes through the coordinator again.
  std::erase_if(impl_->homes, [&](const auto& h) { return h.second.first == address; });
  return std::nullopt;
}

bool client::member_alive(const std::string& address) {
  schema::client_request q;
  q.what = schema::client_request::kind::member;
  q.app = address;
  auto r = impl_->ask(q, impl_->timeout);
  return !r || r->text != "gone";  // (a coordinator that does not answer now cannot tell)
}

result<invocation_result> client::result_of(std::uint64_t session, std::chrono::milliseconds timeout) {
  if (status s = renew_if_one_address(); !s.ok()) return s;
  toward_session(session);
  schema::client_request q;
  q.what = schema::client_request::kind::result;
  q.session = session;
  q.timeout_ms = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(timeout.count(), 1, std::numeric_limits<std::uint32_t>::max()));
  // The node answers at the timeout at the latest; allow a little more.
  return ask_session(q, timeout + std::chrono::seconds(5), std::chrono::steady_clock::now() + timeout);
}

namespace {

// A coordinator that cannot renew its lease on the shards says so
// (coordinator.cpp): another may hold them now.
bool paused_coordinator(const status& s) {
  return s.code() == errc::unavailable && s.message().starts_with(actors::paused_prefix);
}

// A coordinator that holds another partition than the request's says so
// (coordinator.cpp): its holder was lost, and the client learns of the one
// that takes over from the next replies.
bool another_partition(const status& s) {
  return s.code() == errc::unavailable && s.message().starts_with(actors::elsewhere_prefix);
}

}  // namespace

// Another of the addresses than this connection's that answers, if one does.
result<std::unique_ptr<client::impl>> client::open_other(const impl& now) {
  result<std::unique_ptr<impl>> last = status::unavailable("no other address");
  auto all = now.reach();
  for (auto& address : core::split_list(all)) {
    if (address == now.address) continue;
    last = open(address, now.timeout, now.cred);
    if (last) {
      (*last)->addresses = all;
      (*last)->timeout = now.timeout;
      return last;
    }
  }
  return last;
}

result<schema::client_reply> client::ask_moving(const schema::client_request& q) {
  auto deadline = std::chrono::steady_clock::now() + impl_->timeout;
  for (;;) {
    auto r = impl_->ask(q, impl_->timeout);
    if (r || std::chrono::steady_clock::now() >= deadline) return r;
    if (another_partition(r.error())) {  // (a takeover under way: the holder is named once it is done)
      ::poll(nullptr, 0, 200);
      toward_request(q);
      continue;
    }
    if (!paused_coordinator(r.error()) || !impl_->several()) return r;
    look_elsewhere();  // a paused coordinator did not do it: another that answers may
  }
}

void client::look_elsewhere() {
  if (auto other = open_other(*impl_)) impl_ = std::move(*other);
  else ::poll(nullptr, 0, 200);  // none yet: this one again in a moment
}

result<invocation_result> client::ask_session(schema::client_request q, std::chrono::milliseconds wait,
                                              std::chrono::steady_clock::time_point deadline, std::string last_home) {
  for (;;) {
    auto r = impl_->ask(q, wait);
    if (r && r->what == schema::client_reply::kind::redirect) {  // a direct invoke: run it on that node
      impl_->homes[q.app] = {r->text, std::chrono::steady_clock::now() + home_kept};
      if (auto done = invoke_on(r->text, q, wait)) return std::move(*done);
      q.direct = false;  // that node could not take it: through the coordinator
      continue;
    }
    if (r) return invocation_result{r->session, std::move(r->output)};
    // The coordinator is lost (its connection broke): the node it last named
    // serves direct invokes without it (agent.hpp), until a coordinator
    // answers again — then that node starts over and refuses, and this
    // client looks for the coordinator.
    if (!impl_->broken.ok() && q.direct && !last_home.empty()) {
      std::string there = std::exchange(last_home, {});
      if (auto done = invoke_on(there, q, wait)) {
        impl_->homes[q.app] = {there, std::chrono::steady_clock::now() + home_kept};
        return std::move(*done);
      }
    }
    if (another_partition(r.error()) && std::chrono::steady_clock::now() < deadline) {
      ::poll(nullptr, 0, 200);  // (a takeover under way: the holder is named once it is done)
      toward_request(q);
      continue;
    }
    // With one address (a standalone node, one coordinator, no standby named) a lost connection is an error at once.
    if (r.error().code() != errc::unavailable || !impl_->several()) return r.error();
    if (impl_->broken.ok()) {
      if (!paused_coordinator(r.error()) || std::chrono::steady_clock::now() >= deadline) return r.error();
      // It may no longer hold the shards: ask another that answers (standbys
      // do not), or this one again in a moment. The request id makes asking
      // twice safe.
      look_elsewhere();
      continue;
    }
    // The connection broke: a standby may be taking over. Connect again and ask again.
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return r.error();
      auto again = open_any(impl_->reach(), std::min(left, impl_->timeout), impl_->cred);
      if (again) {
        (*again)->timeout = impl_->timeout;  // (set_request_timeout holds for the new connection too)
        impl_ = std::move(*again);
        break;
      }
      if (again.error().code() != errc::unavailable) return again.error();
      ::poll(nullptr, 0, 200);  // nobody answers yet: the takeover takes up to ~2 lease periods
    }
  }
}

result<put_result> client::put_stream(const std::string& app, const std::string& bucket, const std::string& key,
                                      std::istream& in, std::uint64_t size, put_scope scope,
                                      std::chrono::milliseconds timeout) {
  if (status s = renew(); !s.ok()) return s;
  toward_app(app);
  schema::client_request q;
  q.what = schema::client_request::kind::put;
  q.app = app, q.bucket = bucket, q.key = key, q.size = size;
  q.new_session = scope == put_scope::new_session;
  q.timeout_ms = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(timeout.count(), 1, std::numeric_limits<std::uint32_t>::max()));
  impl* at = impl_.get();  // where the bytes go: here, or the node a coordinator names
  auto begin = [&]() -> result<schema::client_reply> {  // (q.id names the put in its data frames)
    auto asked = std::chrono::steady_clock::now();
    if (status s = at->send(q, impl_->timeout); !s.ok()) return s;
    return at->await(q.id, asked + impl_->timeout);
  };
  auto accepted = begin();
  if (!accepted) return accepted.error();
  if (accepted->what == schema::client_reply::kind::redirect) {
    auto node = impl_node(*impl_, accepted->text);
    if (!node) return node.error();
    at = *node;
    q.session = accepted->session;
    accepted = begin();
    if (!accepted) return accepted.error();
    if (accepted->what == schema::client_reply::kind::redirect)
      return status::internal("node " + accepted->text + " redirected a put the coordinator sent it");
  }
  std::string chunk(std::min<std::uint64_t>(size, schema::max_put_chunk), '\0');
  schema::client_request d;
  d.what = schema::client_request::kind::put_data;
  d.put = q.id;
  std::uint64_t sent = 0;
  do {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - sent));
    if (n > 0 && !in.read(chunk.data(), static_cast<std::streamsize>(n))) {
      // The node drops the object when the connection closes mid-put.
      status short_input = status::invalid("the input ended after " + std::to_string(sent + in.gcount()) + " of " +
                                           std::to_string(size) + " bytes; the put was dropped");
      (void)at->fail(short_input);
      return short_input;
    }
    sent += n;
    d.bytes = std::as_bytes(std::span(chunk.data(), n));
    d.last = sent == size;
    if (status s = at->send(d, impl_->timeout); !s.ok()) return s;
  } while (!d.last);
  auto done = at->await(d.id, std::chrono::steady_clock::now() + impl_->timeout);
  if (!done) return done.error();
  return put_result{done->session, size};
}

result<put_result> client::put(const std::string& app, const std::string& bucket, const std::string& key,
                               std::string_view bytes, put_scope scope, std::chrono::milliseconds timeout) {
  view_buf buf(bytes);
  std::istream in(&buf);
  return put_stream(app, bucket, key, in, bytes.size(), scope, timeout);
}

result<std::uint64_t> client::get_to(const std::string& app, const std::string& bucket, const std::string& key,
                                     std::ostream& out) {
  if (status s = renew(); !s.ok()) return s;
  toward_app(app);
  schema::client_request q;
  q.what = schema::client_request::kind::get;
  q.app = app, q.bucket = bucket, q.key = key;
  impl* at = impl_.get();  // here, or the node a coordinator names
  if (status s = at->send(q, impl_->timeout); !s.ok()) return s;
  for (bool redirected = false;;) {  // each chunk has the whole request timeout: a large object may take a while
    auto r = at->await(q.id, std::chrono::steady_clock::now() + impl_->timeout);
    if (!r) return r.error();
    if (r->what == schema::client_reply::kind::redirect && !redirected) {
      auto node = impl_node(*impl_, r->text);
      if (!node) return node.error();
      at = *node;
      redirected = true;
      if (status s = at->send(q, impl_->timeout); !s.ok()) return s;
      continue;
    }
    if (r->what != schema::client_reply::kind::data) return at->fail(status::internal("a get answered with no data"));
    out.write(reinterpret_cast<const char*>(r->bytes.data()), static_cast<std::streamsize>(r->bytes.size()));
    if (r->last) return r->size;
  }
}

result<std::string> client::get(const std::string& app, const std::string& bucket, const std::string& key) {
  std::ostringstream out;
  auto n = get_to(app, bucket, key, out);
  if (!n) return n.error();
  return std::move(out).str();
}

void client::ask_other_partitions(const schema::client_request& q,
                                  const std::function<void(std::uint32_t, schema::client_reply&)>& take,
                                  const std::function<void(std::uint32_t, const status&)>& missed) {
  const auto first = impl_->partition;
  const auto count = static_cast<std::uint32_t>(impl_->partitions.size());
  for (std::uint32_t p = 0; count > 1 && p < count; ++p) {
    if (p == first) continue;
    std::string holder = p < impl_->partitions.size() ? impl_->partitions[p] : std::string();
    if (holder.empty()) {
      missed(p, status::unavailable("no coordinator holds it now (a standby claims it within two lease periods)"));
      continue;
    }
    toward(p);
    if (impl_->partition != p) {
      missed(p, status::unavailable("its holder " + holder + " does not answer"));
      continue;
    }
    auto r = impl_->ask(q, impl_->timeout);
    if (r) take(p, *r);
    else missed(p, r.error());
  }
}

result<std::string> client::ask_whole_cluster(const schema::client_request& q, std::initializer_list<const char*> arrays) {
  auto r = impl_->ask(q, impl_->timeout);
  if (!r) return r.error();
  if (!impl_->layout()) return std::move(r->text);
  auto whole = nlohmann::json::parse(r->text, nullptr, false);
  if (whole.is_discarded() || !whole.is_object()) return std::move(r->text);
  auto append = [&](std::uint32_t p, nlohmann::json& part) {
    for (const char* key : arrays) {
      if (!part.contains(key) || !part[key].is_array()) continue;
      for (auto& e : part[key]) {
        if (e.is_object()) e["partition"] = p;
        whole[key].push_back(std::move(e));
      }
    }
  };
  nlohmann::json mine = whole;
  for (const char* key : arrays) whole[key] = nlohmann::json::array();
  append(impl_->partition, mine);
  ask_other_partitions(
      q,
      [&](std::uint32_t p, schema::client_reply& reply) {
        auto part = nlohmann::json::parse(reply.text, nullptr, false);
        if (!part.is_discarded()) append(p, part);
      },
      [&](std::uint32_t p, const status& why) {
        whole["unanswered"].push_back({{"partition", p}, {"why", why.message()}});
      });
  return whole.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

result<std::string> client::status_json() {
  if (status s = renew(); !s.ok()) return s;
  schema::client_request q;
  q.what = schema::client_request::kind::status;
  return ask_whole_cluster(q, {"nodes", "shards"});
}

result<std::vector<std::string>> client::apps() {
  if (status s = renew(); !s.ok()) return s;
  schema::client_request q;
  q.what = schema::client_request::kind::apps;
  auto r = impl_->ask(q, impl_->timeout);
  if (!r) return r.error();
  auto all = std::move(r->apps);
  // With several partitions, each holder knows its own apps: asked in turn.
  status missing;
  bool several = impl_->layout().has_value();
  ask_other_partitions(
      q, [&](std::uint32_t, schema::client_reply& more) { all.insert(all.end(), more.apps.begin(), more.apps.end()); },
      [&](std::uint32_t p, const status& why) {
        if (missing.ok())
          missing = status::unavailable("the apps of partition " + std::to_string(p) + " are not known now: " + why.message());
      });
  if (!missing.ok()) return missing;
  if (several) std::sort(all.begin(), all.end());
  return all;
}

result<std::string> client::undeploy(const std::string& app) {
  if (status s = renew(); !s.ok()) return s;
  toward_app(app);
  schema::client_request q;
  q.what = schema::client_request::kind::undeploy;
  q.app = app;
  auto r = ask_moving(q);
  if (!r) return r.error();
  return std::move(r->text);
}

result<std::string> client::admin(const std::string& command, const std::vector<std::string>& args) {
  if (status s = renew(); !s.ok()) return s;
  schema::client_request q;
  q.what = schema::client_request::kind::admin;
  // A session's own commands go to its partition's coordinator.
  if ((command == "session" || command == "trace" || command == "cancel") && !args.empty()) {
    std::uint64_t id = 0;
    auto& a = args.front();
    if (std::from_chars(a.data(), a.data() + a.size(), id).ec == std::errc{}) toward_session(id);
  }
  q.app = command;
  q.args = args;
  // Every partition's nodes and sessions, with several.
  if (command == "nodes") return ask_whole_cluster(q, {"nodes"});
  if (command == "sessions") return ask_whole_cluster(q, {"sessions"});
  auto r = impl_->ask(q, impl_->timeout);
  if (r) return std::move(r->text);
  // A node (logs, drain, fault) or a session another partition's coordinator
  // knows: asked there.
  if (r.error().code() != errc::not_found || !impl_->layout()) return r.error();
  std::optional<std::string> found;
  ask_other_partitions(
      q, [&](std::uint32_t, schema::client_reply& there) { if (!found) found = std::move(there.text); },
      [](std::uint32_t, const status&) {});
  if (found) return std::move(*found);
  return r.error();
}

}  // namespace trail
