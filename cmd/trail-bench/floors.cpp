#include "floors.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "shm/ring.hpp"

namespace trail::bench {
namespace {

struct alignas(64) mailbox {
  std::atomic<std::uint32_t> value{0};
  std::atomic<std::uint32_t> waiting{0};
};

struct pingpong {
  mailbox to_child;
  mailbox to_parent;
};

void post(mailbox& m, std::uint32_t v) {
  m.value.store(v, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (m.waiting.load(std::memory_order_relaxed) && m.waiting.exchange(0))
    ::syscall(SYS_futex, &m.value, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

void await(mailbox& m, std::uint32_t v, bool spin, shm::spin_policy& policy, std::chrono::microseconds budget) {
  auto arrived = [&] { return m.value.load(std::memory_order_acquire) == v; };
  if (spin && policy.should_spin() && shm::spin_until(arrived, budget)) return;
  while (!arrived()) {
    std::uint32_t seen = m.value.load(std::memory_order_acquire);
    m.waiting.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // Timed, so that a lost wake-up shows up in p99 instead of hanging the run.
    timespec limit{0, 50 * 1000 * 1000};
    if (seen == m.value.load(std::memory_order_relaxed) && seen != v)
      ::syscall(SYS_futex, &m.value, FUTEX_WAIT, seen, &limit, nullptr, 0);
    m.waiting.store(0, std::memory_order_relaxed);
  }
}

}  // namespace

std::vector<double> shm_rtt_us(std::size_t trips, bool spin, std::chrono::microseconds idle) {
  void* mem = ::mmap(nullptr, sizeof(pingpong), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  auto* pp = new (mem) pingpong{};
  const std::size_t warmup = trips / 10;
  pid_t child = ::fork();
  if (child == 0) {
    shm::spin_policy policy;
    for (std::uint32_t i = 1; i <= trips + warmup; ++i) {
      await(pp->to_child, i, spin, policy, std::chrono::microseconds(50));  // as the executor
      post(pp->to_parent, i);
    }
    ::_exit(0);
  }
  shm::spin_policy policy;
  std::vector<double> us;
  us.reserve(trips);
  for (std::uint32_t i = 1; i <= trips + warmup; ++i) {
    if (idle.count() > 0) std::this_thread::sleep_for(idle);
    auto t0 = std::chrono::steady_clock::now();
    post(pp->to_child, i);
    await(pp->to_parent, i, spin, policy, std::chrono::microseconds(30));  // as the node
    auto t1 = std::chrono::steady_clock::now();
    if (i > warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  int st;
  ::waitpid(child, &st, 0);
  ::munmap(mem, sizeof(pingpong));
  return us;
}

}  // namespace trail::bench

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <thread>

namespace trail::bench {
namespace {

bool full_io(int fd, char* buf, std::size_t n, bool write) {
  for (std::size_t done = 0; done < n;) {
    ssize_t r = write ? ::send(fd, buf + done, n - done, MSG_NOSIGNAL) : ::recv(fd, buf + done, n - done, 0);
    if (r <= 0) return false;
    done += static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

std::pair<int, int> tcp_pair() {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listener, 1);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  int a = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::connect(a, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int b = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  int one = 1;
  for (int fd : {a, b}) ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return {a, b};
}

std::vector<double> tcp_oneway_us(std::size_t trips) {
  auto [s, c] = tcp_pair();
  const std::size_t warmup = trips / 10;
  std::vector<double> us;
  std::thread receiver([&, c = c] {
    for (std::size_t i = 0; i < trips + warmup; ++i) {
      std::int64_t sent = 0;
      if (!full_io(c, reinterpret_cast<char*>(&sent), sizeof sent, false)) break;
      auto now = std::chrono::steady_clock::now().time_since_epoch().count();
      if (i >= warmup) us.push_back(static_cast<double>(now - sent) / 1000.0);
      char ack = 1;
      if (!full_io(c, &ack, 1, true)) break;  // the next one leaves only now: no queueing
    }
    ::close(c);
  });
  for (std::size_t i = 0; i < trips + warmup; ++i) {
    std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    char ack;
    if (!full_io(s, reinterpret_cast<char*>(&now), sizeof now, true) || !full_io(s, &ack, 1, false)) break;
  }
  ::close(s);
  receiver.join();
  return us;
}

std::vector<double> tcp_rtt_us(std::size_t trips, std::size_t bytes) {
  auto [s, c] = tcp_pair();
  const std::size_t warmup = trips / 10;
  std::thread echo([&, c = c] {
    std::vector<char> buf(bytes);
    for (std::size_t i = 0; i < trips + warmup; ++i)
      if (!full_io(c, buf.data(), bytes, false) || !full_io(c, buf.data(), bytes, true)) break;
    ::close(c);
  });
  std::vector<char> buf(bytes, 'x');
  std::vector<double> us;
  for (std::size_t i = 0; i < trips + warmup; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (!full_io(s, buf.data(), bytes, true) || !full_io(s, buf.data(), bytes, false)) break;
    auto t1 = std::chrono::steady_clock::now();
    if (i >= warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  ::close(s);
  echo.join();
  return us;
}

}  // namespace trail::bench

namespace trail::bench {

std::vector<double> spawn_us(std::size_t runs, const char* binary, const char* arg) {
  std::vector<double> us;
  for (std::size_t i = 0; i < runs; ++i) {
    char* argv[] = {const_cast<char*>(binary), const_cast<char*>(arg), nullptr};
    auto t0 = std::chrono::steady_clock::now();
    pid_t pid = 0;
    posix_spawn_file_actions_t quiet;  // (what it prints is not the measurement's)
    ::posix_spawn_file_actions_init(&quiet);
    ::posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    ::posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
    int spawned = ::posix_spawn(&pid, binary, &quiet, nullptr, argv, environ);
    ::posix_spawn_file_actions_destroy(&quiet);
    if (spawned != 0) continue;
    int how = 0;
    ::waitpid(pid, &how, 0);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  return us;
}

}  // namespace trail::bench
