// The node-to-node data path between two real stores (each with
// its own store) on loopback, and against scripted fake peers.
#include "actors/net/transfer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include "actors/net/frame_io.hpp"
#include "actors/net/socket.hpp"
#include "../support/tcp_capture.hpp"
#include "../support/tls_files.hpp"

namespace trail::net {
namespace {

using namespace std::chrono_literals;
using shm::object_id;

constexpr auto generous = 20s;  // waits for events; never reached when things work

// Deterministic bytes: word i of object `seed` is a mix of both.
void fill(std::byte* p, std::uint64_t n, std::uint64_t seed) {
  for (std::uint64_t i = 0; i < n; i += 8) {
    std::uint64_t z = (i / 8 + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
    std::memcpy(p + i, &z, std::min<std::uint64_t>(8, n - i));
  }
}

std::uint64_t checksum(const std::byte* p, std::uint64_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  std::uint64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
  }
  for (; i < n; ++i) h = (h ^ static_cast<std::uint8_t>(p[i])) * 0x100000001b3ull;
  return h ^ n;
}

// One node: a store (no loop owns it here: a mutex serialises its users),
// and the data path on loopback.
struct node {
  node(std::uint64_t store_bytes, const std::string& tag, transfer_options opts = {}) {
    auto s = shm::store::create({store_bytes, tag, false});
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    if (!s.ok()) return;
    store = std::move(*s);
    svc = std::make_unique<shm::locked_store>(*store);
    auto t = transfer_service::start(*svc, opts);
    EXPECT_TRUE(t.ok()) << t.error().to_string();
    if (t.ok()) net = std::move(*t);
  }
  bool up() const { return svc && net; }

  // A sealed object of `size` pattern bytes in `session`.
  object_id put(shm::session_id session, const std::string& key, std::uint64_t size, std::uint64_t seed = 1) {
    return svc->with_store([&](shm::store& s) {
      s.open_session(session);
      auto id = s.create_object(session, "b", key, size);
      EXPECT_TRUE(id.ok()) << id.error().to_string();
      fill(s.data(*s.info(*id)), size, seed);
      auto sealed = s.seal(*id, size);
      EXPECT_TRUE(sealed.ok() && sealed->fresh);
      return sealed->id;
    });
  }

  std::uint64_t sum(object_id id) {
    return svc->with_store([&](shm::store& s) {
      const shm::object_info* o = s.info(id);
      return o ? checksum(s.data(*o), o->size) : 0;
    });
  }
  std::uint32_t refs(object_id id) {
    return svc->with_store([&](shm::store& s) { return s.info(id) ? s.info(id)->refs : 0u; });
  }
  std::uint64_t used() { return svc->with_store([](shm::store& s) { return s.used_bytes(); }); }
  void open(shm::session_id s) { svc->with_store([&](shm::store& st) { st.open_session(s); }); }
  void end(shm::session_id s) { svc->with_store([&](shm::store& st) { st.release_session(s); }); }
  void release(object_id id) { svc->with_store([&](shm::store& s) { s.release(id); }); }

  std::unique_ptr<shm::store> store;
  std::unique_ptr<shm::locked_store> svc;
  std::unique_ptr<transfer_service> net;
};

using pulled = std::future<result<object_id>>;

pulled pull(transfer_service& t, const std::string& from, object_id remote, std::uint64_t size,
            shm::session_id session, const std::string& key) {
  auto p = std::make_shared<std::promise<result<object_id>>>();
  auto f = p->get_future();
  t.pull(from, remote, size, session, "b", key, [p](result<object_id> r) { p->set_value(std::move(r)); });
  return f;
}

result<object_id> get(pulled& f) {
  if (f.wait_for(generous) != std::future_status::ready) return status::internal("pull never completed");
  return f.get();
}

// A peer the test scripts: accepts one data connection, hands the test its
// first PullRequest, then runs `script` on the peer's thread and reads until
// the requester hangs up.
class fake_peer {
 public:
  using script_fn = std::function<void(stream&, const schema::pull_request&, const io_limits&)>;

  explicit fake_peer(script_fn script) : script_(std::move(script)) {
    auto l = listen_on("127.0.0.1", 0);
    EXPECT_TRUE(l.ok());
    listener_ = std::move(*l);
    address = listener_.local_address();
    request = request_.get_future();
    thread_ = std::thread([this] { run(); });
  }
  ~fake_peer() {
    stop_.raise();
    thread_.join();
  }

  std::string address;
  std::future<schema::pull_request> request;

 private:
  void run() {
    io_limits io{&stop_, 10s};
    auto accepted = accept_from(listener_, stop_);
    if (!accepted) return;
    auto s = stream::over(std::move(*accepted), io, nullptr);
    frame_reader in(schema::max_frame_size);
    auto f = in.read(*s, io, io.timeout);
    auto m = f ? schema::decode(*f) : result<schema::transfer_message>(f.error());
    if (!m || !std::holds_alternative<schema::pull_request>(*m)) return;
    auto req = std::get<schema::pull_request>(*m);
    request_.set_value(req);
    script_(*s, req, io);
    while (in.read(*s, io, io.timeout).ok()) {}
  }

  script_fn script_;
  stop_signal stop_;
  socket listener_;
  std::promise<schema::pull_request> request_;
  std::thread thread_;
};

// What a scripted peer sends, frame by frame.
struct peer_writer {
  stream& s;
  const io_limits& io;
  std::uint64_t transfer;
  schema::frame f;

  void header(std::uint64_t total, std::uint64_t chunk) {
    schema::object_header h{transfer, 0, {}, total, static_cast<std::uint32_t>(chunk)};
    (void)write_message(s, io, h, f);
  }
  void chunk(std::uint64_t offset, std::span<const std::byte> bytes) {
    (void)write_chunk(s, io, transfer, offset, bytes, f);
  }
  void cancel(errc code, std::string why) {
    (void)write_message(s, io, schema::cancel{transfer, static_cast<std::uint16_t>(code), std::move(why)}, f);
  }
};

class TransferService : public ::testing::Test {
 protected:
  void start(std::uint64_t store_bytes = 32 << 20, transfer_options opts = {}) {
    a_ = std::make_unique<node>(store_bytes, "net_a", opts);
    b_ = std::make_unique<node>(store_bytes, "net_b", opts);
    ASSERT_TRUE(a_->up() && b_->up());
  }
  node& a() { return *a_; }  // pulls
  node& b() { return *b_; }  // serves

  // Pulls b's object into a's session 1 and checks it arrived intact.
  object_id pull_intact(object_id remote, std::uint64_t size, const std::string& key) {
    auto f = pull(*a().net, b().net->address(), remote, size, 1, key);
    auto r = get(f);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (!r.ok()) return 0;
    EXPECT_EQ(a().sum(*r), b().sum(remote)) << size << " bytes";
    EXPECT_EQ(a().refs(*r), 2u) << "the session's and the caller's";
    return *r;
  }

  std::unique_ptr<node> a_, b_;
};

TEST_F(TransferService, PullsObjectsAroundChunkBoundariesIntact) {
  start();
  a().open(1);
  const std::uint64_t chunk = transfer_options{}.chunk_size;
  std::uint64_t baseline = a().used();
  for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{8}, std::uint64_t{1000}, chunk, chunk + 1}) {
    std::string key = "k" + std::to_string(size);
    object_id remote = b().put(1, key, size, size + 7);
    object_id local = pull_intact(remote, size, key);
    a().release(local);
  }
  a().end(1);
  EXPECT_EQ(a().used(), baseline);
  EXPECT_EQ(b().net->stats().served, 5u);
  EXPECT_EQ(a().net->stats().pulled_bytes, 2 * chunk + 1 + 1008);
  EXPECT_EQ(a().net->stats().connections_opened, 1u) << "one idle connection, reused";
  EXPECT_EQ(a().net->stats().copied_chunks, 0u) << "every chunk was received in place";
}

TEST_F(TransferService, PullsA256MiBObjectIntact) {
  start(300ull << 20);
  a().open(1);
  const std::uint64_t size = 256ull << 20;
  object_id remote = b().put(1, "big", size, 42);
  object_id local = pull_intact(remote, size, "big");
  a().release(local);
  a().end(1);
  EXPECT_EQ(a().used(), 0u);
  EXPECT_EQ(a().net->stats().copied_chunks, 0u) << "every chunk was received in place";
  b().net.reset();  // joins the serving thread, which may still be returning from its last send
  EXPECT_EQ(b().refs(remote), 1u) << "the server released its transfer reference";
}

// Chunks of an odd size leave padding after every payload: each following
// frame must still be read word-aligned and every chunk received in place.
TEST_F(TransferService, OddChunkSizesArriveIntactAndInPlace) {
  transfer_options opts;
  opts.chunk_size = schema::min_chunk_size + 3;
  opts.credit_chunks = 2;
  start(32 << 20, opts);
  a().open(1);
  const std::uint64_t size = 20 * opts.chunk_size + 17;
  object_id remote = b().put(1, "k", size, 5);
  a().release(pull_intact(remote, size, "k"));
  EXPECT_EQ(a().net->stats().copied_chunks, 0u);
}

TEST_F(TransferService, UnknownObjectIsNotFoundAndFreesTheDestination) {
  start();
  a().open(1);
  std::uint64_t baseline = a().used();
  auto f = pull(*a().net, b().net->address(), 9999, 4096, 1, "missing");
  auto r = get(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::not_found) << r.error().to_string();
  EXPECT_EQ(a().used(), baseline);
  // The refusal left the connection clean: the next pull reuses it.
  object_id remote = b().put(1, "k", 100);
  a().release(pull_intact(remote, 100, "k"));
  EXPECT_EQ(a().net->stats().connections_opened, 1u);
}

TEST_F(TransferService, SizeMismatchIsInvalidArgument) {
  start();
  a().open(1);
  std::uint64_t baseline = a().used();
  object_id remote = b().put(1, "k", 100);
  auto f = pull(*a().net, b().net->address(), remote, 200, 1, "k");
  auto r = get(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::invalid_argument) << r.error().to_string();
  EXPECT_EQ(a().used(), baseline);
}

TEST_F(TransferService, ClosedPortIsUnavailableQuickly) {
  start();
  a().open(1);
  std::string dead;
  {
    auto l = listen_on("127.0.0.1", 0);
    ASSERT_TRUE(l.ok());
    dead = l->local_address();
  }  // closed: nothing listens there now
  std::uint64_t baseline = a().used();
  auto t0 = std::chrono::steady_clock::now();
  auto f = pull(*a().net, dead, 1, 100, 1, "k");
  auto r = get(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::unavailable) << r.error().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(a().used(), baseline);
}

TEST_F(TransferService, SessionNotOpenIsNotFound) {
  start();
  object_id remote = b().put(1, "k", 100);
  auto f = pull(*a().net, b().net->address(), remote, 100, 5, "k");
  auto r = get(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::not_found) << r.error().to_string();
  EXPECT_EQ(a().used(), 0u);
}

TEST_F(TransferService, ConcurrentPullsOfOneObjectShareOneTransfer) {
  start();
  a().open(1);
  object_id remote = b().put(1, "k", 3 * transfer_options{}.chunk_size + 5);
  const std::uint64_t size = b().svc->with_store([&](shm::store& s) { return s.info(remote)->size; });
  constexpr int callers = 8;
  std::vector<pulled> futures;
  // Under a's store lock no worker can start the transfer: every pull is
  // queued or joined before any byte moves.
  a().svc->with_store([&](shm::store&) {
    for (int i = 0; i < callers; ++i) futures.push_back(pull(*a().net, b().net->address(), remote, size, 1, "k"));
  });
  object_id local = 0;
  for (auto& f : futures) {
    auto r = get(f);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    if (local == 0) local = *r;
    EXPECT_EQ(*r, local);
  }
  EXPECT_EQ(b().net->stats().served, 1u);
  EXPECT_EQ(a().net->stats().pulls, 1u);
  EXPECT_EQ(a().net->stats().joined, callers - 1u);
  EXPECT_EQ(a().refs(local), 1u + callers) << "the session's, and one per caller";
  EXPECT_EQ(a().sum(local), b().sum(remote));
  for (int i = 0; i < callers; ++i) a().release(local);
  a().end(1);
  EXPECT_EQ(a().used(), 0u);
}

TEST_F(TransferService, AlreadySealedNameIsReturnedWithoutATransfer) {
  start();
  object_id mine = a().put(1, "k", 64, 3);
  object_id remote = b().put(1, "k", 64, 4);
  auto f = pull(*a().net, b().net->address(), remote, 64, 1, "k");
  auto r = get(f);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, mine) << "first seal wins";
  EXPECT_EQ(a().refs(mine), 2u);
  EXPECT_EQ(b().net->stats().served, 0u);
  a().release(mine);
}

// Sends `bytes` on a fresh raw connection to `address` and reports whether
// the server then hung up on it.
bool server_hangs_up_after(const std::string& address, std::span<const std::byte> bytes) {
  stop_signal stop;
  io_limits io{&stop, 10s};
  auto s = connect_to(address, io);
  if (!s) return false;
  iovec part = io_part(bytes.data(), bytes.size());
  if (!s->write({&part, 1}, io).ok()) return false;
  std::byte one;
  auto st = s->read({&one, 1}, io);
  return !st.ok() && st.message().find("silent") == std::string::npos;  // closed or reset, not timed out
}

TEST_F(TransferService, MalformedFramesDropOnlyThatConnection) {
  start();
  a().open(1);
  object_id remote = b().put(1, "k", 5000);
  // A long-lived valid connection, opened first, that must survive.
  a().release(pull_intact(remote, 5000, "k"));

  alignas(8) std::uint32_t junk[6] = {0, 2, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef};  // 1 segment, 2 words
  EXPECT_TRUE(server_hangs_up_after(b().net->address(), std::as_bytes(std::span(junk))));
  alignas(8) std::uint32_t huge[2] = {0, 1u << 27};  // announces a 1 GiB frame
  EXPECT_TRUE(server_hangs_up_after(b().net->address(), std::as_bytes(std::span(huge))));
  schema::frame chunk;  // a valid frame the server never expects
  ASSERT_TRUE(schema::encode(schema::chunk{1, 0, std::as_bytes(std::span(junk))}, chunk).ok());
  EXPECT_TRUE(server_hangs_up_after(b().net->address(), chunk.bytes()));
  EXPECT_EQ(b().net->stats().protocol_errors, 3u);

  a().release(pull_intact(remote, 5000, "k2"));
  EXPECT_EQ(a().net->stats().connections_opened, 1u) << "the first connection kept serving";
  b().net.reset();
  EXPECT_EQ(b().refs(remote), 1u) << "every transfer reference was released";
}

TEST_F(TransferService, SessionEndingMidTransferIsNotFoundWithoutLeaks) {
  start();
  a().open(7);
  std::uint64_t baseline = a().used();
  const std::uint64_t chunk = schema::min_chunk_size;
  std::vector<std::byte> payload(2 * chunk, std::byte{1});
  std::promise<void> go;
  auto ready = go.get_future().share();
  fake_peer peer([&](stream& s, const schema::pull_request& req, const io_limits& io) {
    ready.wait();
    peer_writer w{s, io, req.transfer, {}};
    w.header(2 * chunk, chunk);
    for (std::uint64_t off = 0; off < 2 * chunk; off += chunk) w.chunk(off, std::span(payload).subspan(off, chunk));
  });
  auto f = pull(*a().net, peer.address, 1, 2 * chunk, 7, "k");
  ASSERT_EQ(peer.request.wait_for(generous), std::future_status::ready);
  EXPECT_GT(a().used(), baseline) << "the destination exists while the transfer runs";
  a().end(7);
  go.set_value();
  auto r = get(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::not_found) << r.error().to_string();
  EXPECT_EQ(a().used(), baseline);
}

TEST_F(TransferService, OutOfOrderChunksAreCopiedIntoPlace) {
  start();
  a().open(1);
  const std::uint64_t chunk = schema::min_chunk_size, size = 3 * chunk - 10;
  std::vector<std::byte> payload(size);
  fill(payload.data(), size, 9);
  fake_peer peer([&](stream& s, const schema::pull_request& req, const io_limits& io) {
    peer_writer w{s, io, req.transfer, {}};
    w.header(size, chunk);
    for (std::uint64_t i : {2, 0, 1}) w.chunk(i * chunk, std::span(payload).subspan(i * chunk).first(std::min(chunk, size - i * chunk)));
  });
  auto f = pull(*a().net, peer.address, 1, size, 1, "k");
  auto r = get(f);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(a().sum(*r), checksum(payload.data(), size));
  EXPECT_EQ(a().net->stats().copied_chunks, 1u) << "chunk 2 came early; 0 and 1 arrived in place";
  a().release(*r);
}

TEST_F(TransferService, DuplicateChunkIsAProtocolError) {
  start();
  a().open(1);
  std::uint64_t baseline = a().used();
  const std::uint64_t chunk = schema::min_chunk_size;
  std::vector<std::byte> payload(chunk, std::byte{3});
  fake_peer peer([&](stream& s, const schema::pull_request& req, const io_limits& io) {
    peer_writer w{s, io, req.transfer, {}};
    w.header(2 * chunk, chunk);
    w.chunk(0, payload);
    w.chunk(0, payload);
  });
  auto f = pull(*a().net, peer.address, 1, 2 * chunk, 1, "k");
  auto r = get(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::invalid_argument) << r.error().to_string();
  EXPECT_EQ(a().used(), baseline);
}

TEST_F(TransferService, PeerCancelIsReportedWithItsCode) {
  start();
  a().open(1);
  std::uint64_t baseline = a().used();
  fake_peer peer([&](stream& s, const schema::pull_request& req, const io_limits& io) {
    peer_writer w{s, io, req.transfer, {}};
    w.header(1 << 20, schema::min_chunk_size);
    w.cancel(errc::overloaded, "disk on fire");
  });
  auto f = pull(*a().net, peer.address, 1, 1 << 20, 1, "k");
  auto r = get(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::overloaded) << r.error().to_string();
  EXPECT_NE(r.error().message().find("disk on fire"), std::string::npos) << r.error().message();
  EXPECT_EQ(a().used(), baseline);
}

TEST_F(TransferService, SilentPeerIsUnavailableAfterTheIoTimeout) {
  transfer_options opts;
  opts.io_timeout = 300ms;
  start(32 << 20, opts);
  a().open(1);
  std::uint64_t baseline = a().used();
  fake_peer peer([](stream&, const schema::pull_request&, const io_limits&) {});  // never answers
  auto t0 = std::chrono::steady_clock::now();
  auto f = pull(*a().net, peer.address, 1, 1000, 1, "k");
  auto r = get(f);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::unavailable) << r.error().to_string();
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(a().used(), baseline);
}

TEST_F(TransferService, DestructorCompletesPullsInFlightAndQueued) {
  transfer_options opts;
  opts.io_timeout = 60s;  // only the shutdown can end the stalled transfer
  opts.pull_threads = 1;
  start(32 << 20, opts);
  a().open(1);
  std::uint64_t baseline = a().used();
  fake_peer peer([](stream&, const schema::pull_request&, const io_limits&) {});  // never answers
  auto stalled = pull(*a().net, peer.address, 1, 1000, 1, "stalled");
  auto queued = pull(*a().net, peer.address, 2, 1000, 1, "queued");
  ASSERT_EQ(peer.request.wait_for(generous), std::future_status::ready);
  auto t0 = std::chrono::steady_clock::now();
  a().net.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  for (pulled* f : {&stalled, &queued}) {
    ASSERT_EQ(f->wait_for(0s), std::future_status::ready) << "completed before the destructor returned";
    auto r = f->get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), errc::unavailable) << r.error().to_string();
  }
  EXPECT_EQ(a().used(), baseline);
}

// TLS on the data path (README "Security"): pulls through a tap between the
// two nodes arrive intact either way; the tap sees the payload without TLS
// and none of it with TLS, the secret's handshake running inside.
TEST_F(TransferService, WithTlsATapBetweenNodesSeesNoPayload) {
  testing::tls_files files;
  auto server = tls_context::server(files.cert(), files.key());
  auto client = tls_context::client(files.ca());
  ASSERT_TRUE(server.ok() && client.ok());
  for (bool tls : {false, true}) {
    SCOPED_TRACE(tls ? "TLS" : "plain");
    transfer_options opts;
    opts.secret = key{std::string(32, 's')};
    if (tls) opts.tls = member_tls{*server, *client};
    start(32 << 20, opts);
    a().open(1);
    testing::tcp_capture tap(b().net->address());
    const std::uint64_t size = transfer_options{}.chunk_size + 4096;  // two chunks
    object_id remote = b().put(1, "k", size, 9);
    auto f = pull(*a().net, tap.address(), remote, size, 1, "k");
    auto r = get(f);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(a().sum(*r), b().sum(remote));
    std::string seen = tap.bytes();
    EXPECT_GT(seen.size(), size);
    std::string probe(64, '\0');  // 64 payload bytes from the middle of each chunk
    for (std::uint64_t at : {std::uint64_t{1000}, size - 1000}) {
      b().svc->with_store([&](shm::store& st) { std::memcpy(probe.data(), st.data(*st.info(remote)) + at, 64); });
      EXPECT_EQ(seen.find(probe) != std::string::npos, !tls) << "payload at " << at;
    }
    a().release(*r);
    a().end(1);
  }
}

// Members that disagree about TLS do not talk: a plain puller and a TLS
// server, and the other way round, fail without a byte of payload moving
// (the TLS server counts a refusal).
TEST_F(TransferService, APlainPeerAndATlsPeerRefuseEachOther) {
  testing::tls_files files;
  auto server = tls_context::server(files.cert(), files.key());
  auto client = tls_context::client(files.ca());
  ASSERT_TRUE(server.ok() && client.ok());
  transfer_options with_tls;
  with_tls.tls = member_tls{*server, *client};
  with_tls.io_timeout = 1s;
  transfer_options plain;
  plain.io_timeout = 1s;
  a_ = std::make_unique<node>(32 << 20, "net_a", plain);
  b_ = std::make_unique<node>(32 << 20, "net_b", with_tls);
  ASSERT_TRUE(a_->up() && b_->up());
  a().open(1);
  b().open(1);
  object_id on_b = b().put(1, "k", 5000);
  object_id on_a = a().put(1, "k", 5000);
  auto f = pull(*a().net, b().net->address(), on_b, 5000, 1, "from-b");
  auto r = get(f);
  ASSERT_FALSE(r.ok()) << "a plain pull was served by a TLS node";
  f = pull(*b().net, a().net->address(), on_a, 5000, 1, "from-a");
  r = get(f);
  ASSERT_FALSE(r.ok()) << "a TLS pull was served by a plain node";
  EXPECT_EQ(b().net->stats().refused, 1u);
  EXPECT_EQ(a().net->stats().served + b().net->stats().served, 0u);
}

}  // namespace
}  // namespace trail::net
