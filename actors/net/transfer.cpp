// transfer_service: the threads, the request queue with its deduplication,
// and the lifecycle of the objects pulled. The wire work is in server.cpp
// (producer side) and puller.cpp (requester side).
#include "actors/net/transfer.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <trail/check.hpp>

#include "actors/net/connection_pool.hpp"
#include "actors/net/counters.hpp"
#include "actors/net/faults.hpp"
#include "actors/net/handshake.hpp"
#include "actors/net/puller.hpp"
#include "actors/net/server.hpp"
#include "actors/net/socket.hpp"

namespace trail::net {
namespace {

// Idle requester connections are dropped well before the server's idle timeout.
constexpr std::chrono::milliseconds requester_idle_timeout = server_idle_timeout / 2;

// Pulls that share one transfer: same peer, same remote object, same local name.
struct pull_key {
  std::string address;
  shm::object_id remote = 0;
  shm::session_id session = 0;
  std::string bucket;
  std::string key;
  auto operator<=>(const pull_key&) const = default;
};

// One transfer and the callers waiting for it. `waiters` is guarded by
// impl::mu_ until the job leaves impl::running_.
struct job {
  pull_key key;
  std::uint64_t size = 0;
  std::vector<transfer_service::pulled_fn> waiters;
};

// Where a job's object is: created and fully written by the transfer (seal
// it), or sealed under the name before the job started (hand it out).
struct landed {
  shm::object_id id = 0;
  bool needs_seal = false;
};

status shutting_down() { return status::unavailable("node shutting down"); }

// Seals what a transfer wrote; an object found under the name must still exist.
result<shm::object_id> seal(shm::store& s, const result<landed>& r, std::uint64_t size) {
  if (!r) return r.error();
  if (!r->needs_seal) return r->id;
  auto sealed = s.seal(r->id, size);
  if (!sealed && sealed.error().code() != errc::not_found) s.release(r->id);  // not_found freed it
  if (!sealed) return sealed.error();
  return sealed->id;  // ours, or the first seal's winner
}

// One reference per waiter, if the object is still there (its session may have ended).
result<shm::object_id> retain_each(shm::store& s, const result<shm::object_id>& r, std::size_t waiters) {
  if (!r) return r;
  if (!s.info(*r)) return status::not_found("object " + std::to_string(*r) + " was released (its session ended)");
  for (std::size_t i = 0; i < waiters; ++i) s.retain(*r);
  return r;
}

}  // namespace

struct transfer_service::impl {
  impl(shm::store_access& store, transfer_options opts, socket listener)
      : store_(store), opts_(std::move(opts)), listener_(std::move(listener)),
        address_(listener_.local_address()),
        pool_(requester_idle_timeout, static_cast<std::size_t>(opts_.pull_threads)) {}

  void start_threads() {
    acceptor_ = std::thread([this] { accept_loop(); });
    for (int i = 0; i < opts_.pull_threads; ++i) workers_.emplace_back([this] { work(); });
  }

  void stop();

  // -- producer side ---------------------------------------------------------------
  void accept_loop();
  void reap(bool all);

  // -- requester side ---------------------------------------------------------------
  void pull(pull_key key, std::uint64_t size, pulled_fn done);
  void work();
  result<landed> fetch(puller& p, const job& j);
  result<landed> prepare(const job& j, std::byte*& dest);
  status download(puller& p, const job& j, std::byte* dest);
  void finish(job& j, const result<landed>& r);

  shm::store_access& store_;
  const transfer_options opts_;
  stop_signal stop_;
  counters count_;
  serve_context ctx_{store_, opts_, stop_, count_};
  socket listener_;
  std::string address_;

  struct served_connection {
    std::thread thread;
    std::atomic<bool> finished{false};
  };
  std::thread acceptor_;
  std::list<served_connection> served_;  // the accept thread's; the destructor's once it is joined

  std::mutex mu_;  // guards the members below it; never held while taking the store's lock
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<std::shared_ptr<job>> queue_;                // jobs no worker took yet
  std::map<pull_key, std::shared_ptr<job>> running_;      // queued or in flight, for joiners
  std::vector<std::thread> workers_;  // started and joined by the owner only

  connection_pool pool_;
  std::atomic<std::uint64_t> next_transfer_{1};
};

// -- lifecycle ------------------------------------------------------------------------

// Every wait in every thread watches stop_: raising it ends them all promptly.
void transfer_service::impl::stop() {
  stop_.raise();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  reap(true);
  for (auto& w : workers_) w.join();
  std::deque<std::shared_ptr<job>> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
    running_.clear();
  }
  for (auto& j : left)
    for (auto& done : j->waiters) done(shutting_down());
  pool_.clear();
}

// -- producer side ------------------------------------------------------------------

void transfer_service::impl::accept_loop() {
  while (!stop_.raised()) {
    auto s = accept_from(listener_, stop_);
    reap(false);
    if (!s) {
      if (stop_.raised()) return;
      std::fprintf(stderr, "trail-net: accepting data connections on %s: %s\n", address_.c_str(),
                   s.error().to_string().c_str());
      stop_.wait_for(std::chrono::milliseconds(100));  // e.g. out of file descriptors: back off
      continue;
    }
    auto& c = served_.emplace_back();
    c.thread = std::thread([this, &c, conn = std::move(*s)]() mutable {
      serve_connection(std::move(conn), ctx_);
      c.finished.store(true, std::memory_order_release);
    });
  }
}

// Joins the threads of finished connections (all of them when `all`).
void transfer_service::impl::reap(bool all) {
  for (auto it = served_.begin(); it != served_.end();) {
    if (!all && !it->finished.load(std::memory_order_acquire)) {
      ++it;
      continue;
    }
    it->thread.join();
    it = served_.erase(it);
  }
}

// -- requester side ------------------------------------------------------------------

void transfer_service::impl::pull(pull_key key, std::uint64_t size, pulled_fn done) {
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    done(shutting_down());
    return;
  }
  auto [it, fresh] = running_.try_emplace(key);
  if (!fresh) {
    it->second->waiters.push_back(std::move(done));
    counters::add(count_.joined);
    return;
  }
  it->second = std::make_shared<job>(job{std::move(key), size, {}});
  it->second->waiters.push_back(std::move(done));
  queue_.push_back(it->second);
  lock.unlock();  // the woken worker takes mu_ at once
  wake_.notify_one();
}

void transfer_service::impl::work() {
  puller p(store_, opts_, stop_, count_);
  for (;;) {
    std::shared_ptr<job> j;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // stop() completes what is still queued
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    finish(*j, fetch(p, *j));
  }
}

// The job's object in the local store, fully written, or why not. Frees
// whatever it created when it fails.
result<landed> transfer_service::impl::fetch(puller& p, const job& j) {
  std::byte* dest = nullptr;
  auto where = prepare(j, dest);
  if (!where || !where->needs_seal) return where;
  if (status st = download(p, j, dest); !st) {
    store_.with_store([&](shm::store& s) { s.release(where->id); });
    return stop_.raised() ? shutting_down() : st;
  }
  return where;
}

// The object already sealed under the name, or a new one to write into.
result<landed> transfer_service::impl::prepare(const job& j, std::byte*& dest) {
  const pull_key& k = j.key;
  return store_.with_store([&](shm::store& s) -> result<landed> {
    if (!s.session_open(k.session)) return status::not_found("session " + std::to_string(k.session) + " has ended");
    if (auto id = s.find(k.session, k.bucket, k.key)) return landed{*id, false};
    auto id = s.create_object(k.session, k.bucket, k.key, j.size);
    if (!id) return id.error();
    dest = s.data(*s.info(*id));
    return landed{*id, true};
  });
}

// Runs the transfer over a pooled connection, or a new one.
status transfer_service::impl::download(puller& p, const job& j, std::byte* dest) {
  const pull_key& k = j.key;
  if (opts_.fault_points) {  // a fault point: the request is lost or held back
    auto v = opts_.fault_points->on_pull(k.address);
    if (v.drop) return status::unavailable("the pull from " + k.address + " was lost to an armed fault point");
    if (v.delay.count() > 0 && stop_.wait_for(v.delay)) return shutting_down();
  }
  auto conn = pool_.take(k.address, connection_pool::clock::now());
  if (!conn) {
    const io_limits io{&stop_, opts_.io_timeout};
    auto fresh = connect_to(k.address, io);
    if (!fresh) return fresh.error();
    auto refused = [&](const status& st) {
      std::fprintf(stderr, "trail-net: data connection to %s refused: %s\n", k.address.c_str(), st.message().c_str());
      return st;
    };
    auto shaken = stream::over(std::move(*fresh), io, opts_.tls.client);
    if (!shaken) return refused(shaken.error());
    if (opts_.secret)
      if (status st = dial_handshake(*shaken, io, *opts_.secret); !st.ok()) return refused(st);
    counters::add(count_.connections_opened);
    conn = std::move(*shaken);
  }
  counters::add(count_.pulls);
  pull_target t{k.address, k.remote, j.size, k.session, k.bucket, k.key, dest};
  auto out = p.run(*conn, next_transfer_.fetch_add(1, std::memory_order_relaxed), t);
  if (out.reusable) pool_.give(k.address, std::move(*conn), connection_pool::clock::now());
  else if (out.st.code() == errc::invalid_argument)
    std::fprintf(stderr, "trail-net: dropping data connection to %s: %s\n", k.address.c_str(),
                 out.st.to_string().c_str());
  return out.st;
}

// Seals, hands one reference to each waiter and completes them. Waiters that
// join before the job leaves running_ share the outcome; later pulls find
// the sealed name.
void transfer_service::impl::finish(job& j, const result<landed>& r) {
  auto sealed = store_.with_store([&](shm::store& s) { return seal(s, r, j.size); });
  std::vector<pulled_fn> waiters;
  {
    std::lock_guard lock(mu_);
    waiters = std::move(j.waiters);
    running_.erase(j.key);
  }
  auto out = store_.with_store([&](shm::store& s) { return retain_each(s, sealed, waiters.size()); });
  for (auto& done : waiters) done(out);
}

// -- transfer_service ----------------------------------------------------------------

result<std::unique_ptr<transfer_service>> transfer_service::start(shm::store_access& store,
                                                                  transfer_options opts) {
  opts.pull_threads = std::max(1, opts.pull_threads);
  opts.credit_chunks = std::max(1u, opts.credit_chunks);
  auto listener = listen_on(opts.host, opts.port);
  if (!listener) return listener.error();
  auto p = std::make_unique<impl>(store, std::move(opts), std::move(*listener));
  p->start_threads();
  return std::unique_ptr<transfer_service>(new transfer_service(std::move(p)));
}

transfer_service::transfer_service(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

transfer_service::~transfer_service() { impl_->stop(); }

std::string transfer_service::address() const { return impl_->address_; }

void transfer_service::pull(std::string address, shm::object_id remote, std::uint64_t size,
                            shm::session_id session, std::string bucket, std::string key, pulled_fn done) {
  impl_->pull({std::move(address), remote, session, std::move(bucket), std::move(key)}, size, std::move(done));
}

transfer_stats transfer_service::stats() const {
  const counters& c = impl_->count_;
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  transfer_stats s;
  s.served = get(c.served);
  s.served_bytes = get(c.served_bytes);
  s.pulls = get(c.pulls);
  s.joined = get(c.joined);
  s.pulled_bytes = get(c.pulled_bytes);
  s.copied_chunks = get(c.copied_chunks);
  s.connections_opened = get(c.connections_opened);
  s.protocol_errors = get(c.protocol_errors);
  s.refused = get(c.refused);
  return s;
}

}  // namespace trail::net
