// trail-bench remote-data: one node pulls a sealed object out of another
// node's store over the data path (actors/net/transfer.hpp) — two
// pretouched stores and two
// transfer_services on loopback, all in this process. Per object size, the
// pull latency beside a raw TCP loopback round trip of 64 B (the floor), and
// its bandwidth beside raw TCP (same bytes, same chunking, between two
// threads) and memcpy, all measured in the same run, in the same memory.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <sstream>
#include <thread>

#include "actors/net/transfer.hpp"
#include "bench.hpp"
#include "floors.hpp"
#include "shm/store_access.hpp"
#include "stats.hpp"

namespace trail::bench {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t headroom = 64ull << 20;         // per store, beyond the objects
constexpr std::uint64_t traffic_per_size = 2ull << 30;  // bytes moved per size when runs are scaled
constexpr std::size_t max_runs = 1000, min_runs = 3;

double us_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
}

double mib_per_s(std::uint64_t bytes, double us) { return us > 0 ? (bytes / double(1 << 20)) / (us / 1e6) : 0; }


std::size_t runs_for(const options& o, std::uint64_t size) {
  if (o.data_runs > 0) return o.data_runs;
  return std::clamp<std::size_t>(traffic_per_size / std::max<std::uint64_t>(size, 1), min_runs, max_runs);
}

// -- the raw-TCP bandwidth floor --------------------------------------------------------

bool full_io(int fd, std::byte* p, std::size_t n, bool out) {
  for (std::size_t done = 0; done < n;) {
    ssize_t r = out ? ::send(fd, p + done, n - done, MSG_NOSIGNAL) : ::recv(fd, p + done, n - done, 0);
    if (r <= 0) return false;
    done += static_cast<std::size_t>(r);
  }
  return true;
}


// Per run: a one-byte request, then `size` bytes in `chunk`-byte sends from
// `src` on one thread, received into `dst` on the other — a pull with no
// framing, no flow control and no store.
std::vector<double> tcp_transfer_us(const std::byte* src, std::byte* dst, std::uint64_t size, std::uint64_t chunk,
                                    std::size_t runs) {
  auto [requester, server] = tcp_pair();
  std::thread sender([&, fd = server] {
    std::byte ask;
    while (full_io(fd, &ask, 1, false))
      for (std::uint64_t off = 0; off < size; off += chunk)
        if (!full_io(fd, const_cast<std::byte*>(src) + off, std::min(chunk, size - off), true)) return;
  });
  std::vector<double> us;
  std::byte ask{1};
  for (std::size_t i = 0; i < runs + 1; ++i) {
    auto t0 = clock_type::now();
    full_io(requester, &ask, 1, true);
    for (std::uint64_t off = 0; off < size; off += chunk) full_io(requester, dst + off, std::min(chunk, size - off), false);
    if (i > 0) us.push_back(us_since(t0));
  }
  ::close(requester);
  sender.join();
  ::close(server);
  return us;
}

std::vector<double> memcpy_us(const std::byte* src, std::byte* dst, std::uint64_t size, std::size_t runs) {
  std::vector<double> us;
  for (std::size_t i = 0; i < runs + 1; ++i) {
    auto t0 = clock_type::now();
    std::memcpy(dst, src, size);
    if (i > 0) us.push_back(us_since(t0));
  }
  return us;
}

// -- the two nodes ---------------------------------------------------------------

struct node {
  std::unique_ptr<shm::store> store;
  std::unique_ptr<shm::locked_store> svc;  // no loop owns these stores
  std::unique_ptr<net::transfer_service> net;

  status start(const options& o, std::uint64_t store_bytes, const char* tag) {
    auto s = shm::store::create({store_bytes, tag, true});
    if (!s) return s.error();
    store = std::move(*s);
    svc = std::make_unique<shm::locked_store>(*store);
    net::transfer_options to;
    to.secret = o.secret;
    if (tls_run) {  // --tls: the files are in the environment
      auto tls = net::member_tls_from("", "", "");
      if (!tls) return tls.error();
      to.tls = *tls;
    }
    auto t = net::transfer_service::start(*svc, to);
    if (!t) return t.error();
    net = std::move(*t);
    return {};
  }

};

// A sealed object of `size` bytes in the serving node's session 1.
result<shm::object_id> put(node& n, std::uint64_t size) {
  return n.svc->with_store([&](shm::store& s) -> result<shm::object_id> {
    s.open_session(1);
    auto id = s.create_object(1, "bench", "object-" + std::to_string(size), size);
    if (!id) return id.error();
    std::byte* p = s.data(*s.info(*id));
    for (std::uint64_t i = 0; i < size; i += 8) {
      std::uint64_t w = (i + 1) * 0x9E3779B97F4A7C15ull;
      std::memcpy(p + i, &w, std::min<std::uint64_t>(8, size - i));
    }
    auto sealed = s.seal(*id, size);
    if (!sealed) return sealed.error();
    return sealed->id;
  });
}

// One timed pull; the pulled object is released (with its session) afterwards.
result<double> pull_once(node& to, const node& from, shm::object_id remote, std::uint64_t size) {
  auto done = std::make_shared<std::promise<result<shm::object_id>>>();
  auto got = done->get_future();
  auto t0 = clock_type::now();
  to.net->pull(from.net->address(), remote, size, 1, "bench", "pulled",
               [done](result<shm::object_id> r) { done->set_value(std::move(r)); });
  auto r = got.get();
  double us = us_since(t0);
  if (!r) return r.error();
  to.svc->with_store([&](shm::store& s) {
    s.release(*r);
    s.release_session(1);
    s.open_session(1);
  });
  return us;
}

result<std::vector<double>> pulls_us(node& to, const node& from, shm::object_id remote, std::uint64_t size,
                                     std::size_t runs) {
  const std::size_t warmup = std::max<std::size_t>(1, runs / 10);
  std::vector<double> us;
  for (std::size_t i = 0; i < warmup + runs; ++i) {
    auto one = pull_once(to, from, remote, size);
    if (!one) return one.error();
    if (i >= warmup) us.push_back(*one);
  }
  return us;
}

// Raw TCP and memcpy of `size` bytes, source in the serving store, target a
// raw block of the pulling store: the same (pretouched) memory as the pulls.
result<std::pair<summary, summary>> floors_for(node& to, node& from, shm::object_id remote, std::uint64_t size,
                                               std::size_t runs) {
  const std::byte* src = from.svc->with_store([&](shm::store& s) { return s.data(*s.info(remote)); });
  auto block = to.svc->with_store([&](shm::store& s) { return s.allocate(size); });
  if (!block) return block.error();
  std::byte* dst = to.svc->with_store([&](shm::store& s) { return s.seg().base() + block->offset; });
  auto tcp = summarize(tcp_transfer_us(src, dst, size, net::transfer_options{}.chunk_size, runs));
  auto copy = summarize(memcpy_us(src, dst, size, runs));
  to.svc->with_store([&](shm::store& s) { s.free(*block); });
  return std::pair{tcp, copy};
}

}  // namespace

result<std::vector<std::uint64_t>> parse_sizes(const std::string& text) {
  std::vector<std::uint64_t> sizes;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    auto n = shm::parse_size(item);
    if (!n) return n.error();
    sizes.push_back(*n);
  }
  if (sizes.empty()) return status::invalid("--sizes names no size");
  return sizes;
}

int run_remote_data(const options& o) {
  auto sizes = parse_sizes(o.sizes);
  if (!sizes) return fail(sizes.error());
  std::uint64_t total = 0, largest = 0;
  for (auto s : *sizes) total += shm::block_allocator::round_up(s), largest = std::max(largest, s);
  node from, to;
  if (auto st = from.start(o, total + headroom, "bench_from"); !st) return fail(st);
  if (auto st = to.start(o, largest + headroom, "bench_to"); !st) return fail(st);
  to.svc->with_store([](shm::store& s) { s.open_session(1); });
  std::vector<shm::object_id> remote;
  for (auto size : *sizes) {
    auto id = put(from, size);
    if (!id) return fail(id.error());
    remote.push_back(*id);
  }
  auto floor = summarize(tcp_rtt_us(5000, 64));
  for (std::size_t i = 0; i < sizes->size(); ++i) {
    std::uint64_t size = (*sizes)[i];
    std::size_t runs = runs_for(o, size);
    auto us = pulls_us(to, from, remote[i], size, runs);
    if (!us) return fail(us.error());
    auto raw = floors_for(to, from, remote[i], size, std::min<std::size_t>(runs, 100));
    if (!raw) return fail(raw.error());
    auto pulled = summarize(*us);
    double bw = mib_per_s(size, pulled.p50_us), tcp_bw = mib_per_s(size, raw->first.p50_us);
    emit({{"bench", "remote-data"}, {"size", size}, {"runs", runs}, {"mib_per_s", bw},
          {"tcp_mib_per_s", tcp_bw}, {"tcp_p50_us", raw->first.p50_us},
          {"memcpy_mib_per_s", mib_per_s(size, raw->second.p50_us)},
          {"bw_ratio", tcp_bw > 0 ? bw / tcp_bw : 0.0}},
         pulled, "tcp_rtt", "block", floor);
  }
  return 0;
}

}  // namespace trail::bench
