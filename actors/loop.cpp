#include "actors/loop.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace trail::actors {
namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// While actors keep the loop busy, sockets are still looked at this often.
constexpr auto fd_poll_interval = 20us;
// One burst of spinning between two looks at the sockets.
constexpr auto spin_burst = 5us;
// A blocked loop wakes up at least this often (a lost wake-up costs no more).
constexpr int max_sleep_ms = 1000;

}  // namespace

struct node_loop::watcher {
  int fd = -1;
  std::function<void(std::uint32_t)> on_ready;
  bool dead = false;
};

node_loop::node_loop(caf::actor_system& sys, loop_options opts) : caf::execution_unit(&sys), opts_(opts) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  TRAIL_ASSERT(epoll_fd_ >= 0, "epoll_create1:", std::strerror(errno));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  TRAIL_ASSERT(wake_fd_ >= 0, "eventfd:", std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

node_loop::~node_loop() {
  if (thread_.joinable()) stop();
  for (auto* j : jobs_) caf::intrusive_ptr_release(j);
  for (auto* j : foreign_jobs_) caf::intrusive_ptr_release(j);
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void node_loop::start() {
  TRAIL_REQUIRE(!thread_.joinable(), "node_loop started twice");
  std::promise<void> running;
  auto ready = running.get_future();
  thread_ = std::thread([this, &running] {
    ::pthread_setname_np(::pthread_self(), "trail.loop");
    thread_id_.store(std::this_thread::get_id(), std::memory_order_release);
    running.set_value();
    run();
  });
  ready.wait();
}

void node_loop::stop() {
  stop_.store(true, std::memory_order_seq_cst);
  wake();
  if (thread_.joinable()) thread_.join();
}

void node_loop::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

// -- handing work over ---------------------------------------------------------------

void node_loop::exec_later(caf::resumable* job) {
  if (on_loop()) {
    jobs_.push_back(job);
    return;
  }
  {
    std::lock_guard lock(mu_);
    foreign_jobs_.push_back(job);
  }
  foreign_pending_.store(true, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) wake();
}

void node_loop::post(std::function<void()> f) {
  {
    std::unique_lock lock(mu_);
    if (exited_) {  // nothing else runs the loop's work any more: the caller does, one at a time
      f();
      return;
    }
    foreign_calls_.push_back(std::move(f));
  }
  foreign_pending_.store(true, std::memory_order_seq_cst);
  if (on_loop() || sleeping_.load(std::memory_order_seq_cst)) wake();
}

bool node_loop::take_foreign() {
  if (!foreign_pending_.load(std::memory_order_acquire)) return false;
  std::vector<caf::resumable*> jobs;
  std::vector<std::function<void()>> calls;
  {
    std::lock_guard lock(mu_);
    jobs.swap(foreign_jobs_);
    calls.swap(foreign_calls_);
    foreign_pending_.store(false, std::memory_order_relaxed);
  }
  ++stats_.foreign;
  jobs_.insert(jobs_.end(), jobs.begin(), jobs.end());
  for (auto& f : calls) f();
  return true;
}

// -- one round -------------------------------------------------------------------------

bool node_loop::run_local() {
  if (jobs_.empty()) return false;
  std::vector<caf::resumable*> batch;
  batch.swap(jobs_);
  for (auto* job : batch) {
    switch (job->resume(this, opts_.max_throughput)) {
      case caf::resumable::resume_later: jobs_.push_back(job); break;
      case caf::resumable::shutdown_execution_unit: break;
      default: caf::intrusive_ptr_release(job);  // done, or waiting for its next message
    }
  }
  return true;
}

bool node_loop::poll_pollers() {
  bool any = false;
  for (std::size_t i = 0; i < pollers_.size(); ++i) {
    if (pollers_[i]->ready()) {
      pollers_[i]->fire();
      any = true;
    }
  }
  return any;
}

void node_loop::poll_fds(int timeout_ms) {
  epoll_event evs[64];
  int n = ::epoll_wait(epoll_fd_, evs, 64, timeout_ms);
  if (timeout_ms > 0) { }
  last_fd_poll_ = clock::now();
  for (int i = 0; i < n; ++i) {
    auto* w = static_cast<watcher*>(evs[i].data.ptr);
    if (!w) {
      std::uint64_t v;
      [[maybe_unused]] auto r = ::read(wake_fd_, &v, sizeof v);
      continue;
    }
    if (!w->dead) w->on_ready(evs[i].events);
  }
  retired_.clear();
}

// Spins one burst if an event is likely soon and cores allow; false when the
// loop should block instead.
bool node_loop::spin() {
  auto now = clock::now();
  if (now - last_event_ > opts_.spin_budget) return false;
  bool expecting = false;
  for (auto* p : pollers_) expecting = expecting || p->expecting();
  if (!expecting || !spin_.should_spin()) return false;
  ++stats_.spins;
  auto until = now + spin_burst;
  do {
    for (int i = 0; i < 32; ++i) {
      if (foreign_pending_.load(std::memory_order_relaxed)) return true;
      for (auto* p : pollers_)
        if (p->ready()) return true;
      __builtin_ia32_pause();
    }
  } while (clock::now() < until);
  poll_fds(0);
  std::this_thread::yield();  // a thread waiting for this core (an executor, say) gets it
  return true;
}

void node_loop::sleep() {
  sleeping_.store(true, std::memory_order_seq_cst);
  std::size_t armed = 0;
  while (armed < pollers_.size() && pollers_[armed]->prepare_sleep()) ++armed;
  if (armed == pollers_.size() && !foreign_pending_.load(std::memory_order_seq_cst)) {
    ++stats_.sleeps;
    poll_fds(max_sleep_ms);
  }
  sleeping_.store(false, std::memory_order_relaxed);
  for (std::size_t i = 0; i < armed; ++i) pollers_[i]->finish_sleep();
}

void node_loop::run() {
  last_event_ = clock::now();
  for (;;) {
    ++stats_.rounds;
    bool worked = take_foreign();
    worked = run_local() || worked;
    worked = poll_pollers() || worked;
    if (worked) {
      last_event_ = clock::now();
      if (last_event_ - last_fd_poll_ >= fd_poll_interval) poll_fds(0);
      continue;
    }
    if (stop_.load(std::memory_order_acquire)) break;
    if (spin()) continue;
    sleep();
  }
  // Whoever posts from now on runs its function on its own thread, under the
  // lock, one at a time: the loop's state has no other user left.
  std::lock_guard lock(mu_);
  exited_ = true;
  thread_id_.store(std::thread::id{}, std::memory_order_release);
  for (auto& f : foreign_calls_) f();
  foreign_calls_.clear();
}

// -- file descriptors and pollers ---------------------------------------------------------

void node_loop::watch(int fd, std::uint32_t events, std::function<void(std::uint32_t)> on_ready) {
  TRAIL_REQUIRE(on_loop() || !thread_.joinable(), "node_loop::watch off the loop thread");
  auto w = std::make_unique<watcher>();
  w->fd = fd;
  w->on_ready = std::move(on_ready);
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = w.get();
  int rc = ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  TRAIL_ASSERT(rc == 0, "epoll_ctl(ADD)", fd, std::strerror(errno));
  watchers_[fd] = std::move(w);
}

void node_loop::rewatch(int fd, std::uint32_t events) {
  auto it = watchers_.find(fd);
  TRAIL_REQUIRE(it != watchers_.end(), "rewatch of an unwatched fd", fd);
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = it->second.get();
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void node_loop::unwatch(int fd) {
  auto it = watchers_.find(fd);
  if (it == watchers_.end()) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  it->second->dead = true;
  retired_.push_back(std::move(it->second));  // an event for it may still be in this round's list
  watchers_.erase(it);
}

void node_loop::add(loop_poller& p) { pollers_.push_back(&p); }

void node_loop::remove(loop_poller& p) { std::erase(pollers_, &p); }

// -- loop_actor ------------------------------------------------------------------------------

loop_actor::loop_actor(caf::actor_config& cfg)
    : caf::event_based_actor(cfg), loop_(dynamic_cast<node_loop*>(cfg.host)) {
  TRAIL_REQUIRE(loop_ != nullptr, "a loop_actor must be spawned with spawn_on()");
}

void loop_actor::enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit*) {
  caf::event_based_actor::enqueue(std::move(ptr), loop_);
}

void loop_actor::launch(caf::execution_unit*, bool lazy, bool hide) {
  caf::event_based_actor::launch(loop_, lazy, hide);
}

}  // namespace trail::actors
