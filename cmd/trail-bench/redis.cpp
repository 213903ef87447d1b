// trail-bench redis: the plain alternative trail is held against, on the same
// machine in the same run — worker processes chained through Redis lists
// (each worker BLPOPs its input list and RPUSHes onto the next), with a
// redis-server (Debian's) started here on a free loopback port, saving
// nothing to disk. Two cases, shaped as trail's own:
// - hop, target asleep (local-hop's first case): the source idles 1 ms,
//   stamps the payload and RPUSHes it, then lingers 1 ms; the next worker,
//   blocked in BLPOP, reports the time from the stamp to its receipt.
//   100 B to 10 MiB (payloads of 4 MiB and more: a tenth of the runs, at
//   least 20 — Redis moves them at tens of ms each). Floor: shm_rtt after
//   the same idle.
// - e2e (e2e's): a client sends a request through 1 or 2 workers and waits
//   for the last one's reply, back to back; it pipelines its RPUSH and BLPOP
//   in one write, and so do the workers. Floor: tcp_rtt.
// The workers are forked before any thread starts; they speak RESP on
// blocking sockets with TCP_NODELAY (no client library).
#include "bench.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "actors/durable/local_etcd.hpp"  // free_loopback_ports
#include "children.hpp"
#include "floors.hpp"
#include "shm/process.hpp"
#include "stats.hpp"

namespace trail::bench {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

// One RESP connection to the redis-server: commands out, replies in.
class resp {
 public:
  explicit resp(int fd) : fd_(fd) {}
  resp(resp&& o) noexcept : fd_(std::exchange(o.fd_, -1)), in_(std::move(o.in_)), at_(o.at_) {}
  resp& operator=(resp&&) = delete;
  ~resp() {
    if (fd_ >= 0) ::close(fd_);
  }

  static result<resp> connect(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return status::unavailable(std::string("socket: ") + std::strerror(errno));
    resp r(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return status::unavailable("redis at 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return r;
  }

  // Appends a command to the next write (several make one pipelined write);
  // returns where its last argument's bytes are in it (for patch).
  std::size_t add(std::initializer_list<std::string_view> args) {
    std::size_t last = 0;
    out_ += "*" + std::to_string(args.size()) + "\r\n";
    for (auto a : args) {
      out_ += "$" + std::to_string(a.size()) + "\r\n";
      last = out_.size();
      out_.append(a);
      out_ += "\r\n";
    }
    return last;
  }
  // Overwrites bytes of the next write, at an offset add() returned.
  void patch(std::size_t at, const void* p, std::size_t n) { std::memcpy(out_.data() + at, p, n); }
  status flush() {
    status s = write_all(out_.data(), out_.size());
    out_.clear();
    return s;
  }

  // One reply: a simple string, integer or bulk string as one element, an
  // array as its elements; a Redis error is an error.
  result<std::vector<std::string>> reply() {
    auto line = read_line();
    if (!line) return line.error();
    char kind = (*line)[0];
    std::string rest = line->substr(1);
    if (kind == '-') return status::invalid("redis: " + rest);
    if (kind == '+' || kind == ':') return std::vector<std::string>{rest};
    if (kind == '$') {
      auto b = bulk(rest);
      if (!b) return b.error();
      return std::vector<std::string>{std::move(*b)};
    }
    if (kind != '*') return status::invalid("redis: unexpected reply '" + *line + "'");
    std::vector<std::string> items;
    for (long n = std::stol(rest); n > 0; --n) {
      auto head = read_line();
      if (!head) return head.error();
      if ((*head)[0] != '$') return status::invalid("redis: unexpected array item '" + *head + "'");
      auto b = bulk(head->substr(1));
      if (!b) return b.error();
      items.push_back(std::move(*b));
    }
    return items;
  }

 private:
  status write_all(const char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return status::unavailable(std::string("redis: send: ") + std::strerror(errno));
      p += w, n -= static_cast<std::size_t>(w);
    }
    return {};
  }
  // At least `n` unread bytes buffered.
  status fill(std::size_t n) {
    if (at_ > 0 && at_ == in_.size()) in_.clear(), at_ = 0;
    while (in_.size() - at_ < n) {
      std::size_t old = in_.size();
      in_.resize(old + std::max<std::size_t>(n - (old - at_), 64 << 10));
      ssize_t r = ::recv(fd_, in_.data() + old, in_.size() - old, 0);
      in_.resize(old + static_cast<std::size_t>(std::max<ssize_t>(r, 0)));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return status::unavailable(r == 0 ? "redis closed the connection"
                                                    : std::string("redis: recv: ") + std::strerror(errno));
    }
    return {};
  }
  result<std::string> read_line() {
    for (std::size_t want = 1;; ++want) {
      if (status s = fill(want); !s.ok()) return s;
      auto end = in_.find("\r\n", at_);
      if (end == std::string::npos) {
        want = in_.size() - at_;
        continue;
      }
      std::string line = in_.substr(at_, end - at_);
      at_ = end + 2;
      if (line.empty()) return status::invalid("redis: an empty reply line");
      return line;
    }
  }
  result<std::string> bulk(const std::string& length) {
    long n = std::stol(length);
    if (n < 0) return std::string();  // nil
    auto size = static_cast<std::size_t>(n);
    if (status s = fill(size + 2); !s.ok()) return s;
    std::string b = in_.substr(at_, size);
    at_ += size + 2;
    return b;
  }

  int fd_ = -1;
  std::string in_, out_;
  std::size_t at_ = 0;
};

// A worker process: takes each item of `from` and puts `to` what it makes
// of it (the item, or for a hop the time since the stamp in its first 8
// bytes), until it takes "quit". Pipelines its RPUSH with its next BLPOP.
[[noreturn]] void worker(int port, const std::string& from, const std::string& to, bool hop) {
  auto r = resp::connect(port);
  if (!r) _exit(2);
  r->add({"BLPOP", from, "0"});
  if (!r->flush().ok()) _exit(2);
  for (;;) {
    auto got = r->reply();  // [list, item]
    std::int64_t at = now_ns();
    if (!got || got->size() != 2) _exit(3);
    std::string& item = (*got)[1];
    if (item == "quit") _exit(0);
    if (hop) {
      std::int64_t sent = 0;
      std::memcpy(&sent, item.data(), std::min(sizeof sent, item.size()));
      item = std::to_string(at - sent);
    }
    r->add({"RPUSH", to, item});
    r->add({"BLPOP", from, "0"});
    if (!r->flush().ok() || !r->reply()) _exit(2);  // (the RPUSH's count)
  }
}

struct redis_run {
  shm::child_process server;
  std::filesystem::path dir;
  int port = 0;
  std::vector<pid_t> workers;

  ~redis_run() {
    if (auto c = resp::connect(port)) {  // the workers take "quit" from their lists
      for (const char* list : {"hop", "one", "two", "two_mid"}) c->add({"RPUSH", list, "quit"});
      (void)c->flush();
    }
    for (pid_t p : workers) ::waitpid(p, nullptr, 0);
    server.kill(SIGTERM);
    pollfd gone{server.pidfd(), POLLIN, 0};
    ::poll(&gone, 1, 5000);  // (a shutdown that saves nothing is quick)
    if (server.try_reap().empty()) server.kill_and_reap();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  status fork_worker(const std::string& from, const std::string& to, bool hop) {
    pid_t p = ::fork();
    if (p < 0) return status::unavailable(std::string("fork: ") + std::strerror(errno));
    if (p == 0) worker(port, from, to, hop);
    workers.push_back(p);
    return {};
  }
};

// A redis-server on a free loopback port, answering PING.
result<std::unique_ptr<redis_run>> start_redis() {
  auto binary = find_program("redis-server");
  if (!binary)
    return status::not_found("trail-bench redis needs Debian's redis-server (scripts/deps installs it)");
  auto run = std::make_unique<redis_run>();
  run->dir = std::filesystem::temp_directory_path() / ("trail-bench-redis-" + std::to_string(::getpid()));
  std::filesystem::create_directories(run->dir);
  for (int tries = 1;; ++tries) {
    run->port = durable::free_loopback_ports(1)[0];
    auto p = shm::child_process::launch({*binary,
                                         {"--port", std::to_string(run->port), "--bind", "127.0.0.1", "--save", "",
                                          "--appendonly", "no", "--dir", run->dir.string(), "--daemonize", "no",
                                          "--loglevel", "warning"},
                                         {}});
    if (!p) return p.error();
    run->server = std::move(*p);
    status up = status::unavailable("redis-server exited before it answered");
    for (auto until = clock_type::now() + 10s; run->server.running() && clock_type::now() < until;) {
      if (!run->server.try_reap().empty()) break;
      if (auto c = resp::connect(run->port)) {
        c->add({"PING"});
        auto pong = c->flush().ok() ? c->reply() : result<std::vector<std::string>>(status::unavailable("no reply"));
        if (pong && pong->size() == 1 && (*pong)[0] == "PONG") {
          up = {};
          break;
        }
      }
      std::this_thread::sleep_for(10ms);  // not listening yet
    }
    if (up.ok()) return run;
    if (tries == 3) return status(up.code(), up.message() + " (redis-server " + run->server.try_reap() + ")");
    run->server.kill_and_reap();  // the port was taken meanwhile: another
  }
}

}  // namespace

int run_redis(const options& o) {
  auto sizes = parse_sizes(o.payloads.empty() ? "100B,1000B,100KiB,1MiB,10MiB" : o.payloads);
  if (!sizes) return fail(sizes.error());
  auto run = start_redis();
  if (!run) return fail(run.error());
  auto& r = **run;
  // Every worker before any thread (the floors start threads).
  // (A chain of its own per case: BLPOP serves the longest waiter first.)
  for (auto [from, to, hop] : {std::tuple{"hop", "lat", true}, {"one", "one_out", false}, {"two", "two_mid", false},
                               {"two_mid", "two_out", false}})
    if (status s = r.fork_worker(from, to, hop); !s.ok()) return fail(s);
  auto c = resp::connect(r.port);
  if (!c) return fail(c.error());
  auto blocking = summarize(shm_rtt_us(1000, false, std::chrono::milliseconds(1)));
  auto tcp = summarize(tcp_rtt_us(5000));
  const std::size_t warmup = o.runs / 10 + 1;
  for (std::uint64_t size : *sizes) {
    std::string payload(std::max<std::uint64_t>(size, 8), 'x');
    std::size_t runs = size >= (4u << 20) ? std::max<std::size_t>(20, o.runs / 10) : o.runs;
    std::vector<double> us;
    for (std::size_t i = 0; i < runs + warmup; ++i) {
      std::this_thread::sleep_for(1ms);  // the target, redis and this process fall asleep
      // Stamped once its bytes are ready to go, as trail's source stamps its object.
      std::size_t at = c->add({"RPUSH", "hop", payload});
      std::int64_t t = now_ns();
      c->patch(at, &t, sizeof t);
      if (status s = c->flush(); !s.ok()) return fail(s);
      std::this_thread::sleep_for(1ms);  // linger, as trail's source does
      auto pushed = c->reply();
      c->add({"BLPOP", "lat", "0"});
      auto lat = c->flush().ok() && pushed ? c->reply() : pushed;
      if (!lat || lat->size() != 2) return fail(lat ? status::invalid("redis: a malformed BLPOP reply") : lat.error());
      if (i >= warmup) us.push_back(std::stod((*lat)[1]) / 1000.0);
    }
    emit({{"bench", "redis"}, {"case", "hop asleep"}, {"payload_bytes", size}, {"runs", runs}}, summarize(us),
         "shm_rtt", "block_after_idle", blocking);
  }
  for (int fns : {1, 2}) {
    const char* first = fns == 1 ? "one" : "two";
    const char* last = fns == 1 ? "one_out" : "two_out";
    std::vector<double> us;
    for (std::size_t i = 0; i < o.runs + warmup; ++i) {
      auto t0 = clock_type::now();
      c->add({"RPUSH", first, "r"});
      c->add({"BLPOP", last, "0"});
      if (status s = c->flush(); !s.ok()) return fail(s);
      auto pushed = c->reply();
      auto got = pushed ? c->reply() : pushed;
      auto t1 = clock_type::now();
      if (!got || got->size() != 2) return fail(got ? status::invalid("redis: a malformed BLPOP reply") : got.error());
      if (i >= warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    emit({{"bench", "redis"}, {"case", "e2e"}, {"functions", fns}, {"runs", o.runs}}, summarize(us), "tcp_rtt",
         "block", tcp);
  }
  return 0;
}

}  // namespace trail::bench
