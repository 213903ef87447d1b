#include "shm/executor_pool.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "shm/channel.hpp"
#include <trail/check.hpp>
#include "shm/process.hpp"

namespace trail::shm {
namespace {

using clock = std::chrono::steady_clock;
constexpr int max_early_deaths = 3;  // executors dying before ready: stop respawning
constexpr auto spin_budget = std::chrono::microseconds(30);
// Whether a dispatch's input list should travel through the store rather than
// in the channel record: many inputs, or long names.
bool inputs_too_big(const std::vector<schema::object_desc>& inputs, std::size_t max_message) {
  std::size_t bytes = 0;
  for (auto& in : inputs) bytes += 40 + in.bucket.size() + in.key.size();
  return bytes > max_message / 2;
}

enum fd_kind : std::uint64_t { doorbell_fd = 0, pid_fd = 1, output_fd = 2, wake_fd = 3 };

std::uint64_t tag(int index, int generation, fd_kind k) {
  return (std::uint64_t(generation) << 32) | (std::uint64_t(index) << 2) | k;
}

}  // namespace

void pool_events::on_log(int slot, const invocation* inv, std::string_view line) {
  if (inv)
    std::fprintf(stderr, "[session %llu %s] %.*s\n", static_cast<unsigned long long>(inv->session),
                 inv->function.c_str(), static_cast<int>(line.size()), line.data());
  else
    std::fprintf(stderr, "[executor %d] %.*s\n", slot, static_cast<int>(line.size()), line.data());
}

struct executor_pool::slot {
  int index = 0;
  int generation = 0;
  int early_deaths = 0;
  executor_info info;
  child_process proc;
  std::unique_ptr<channel> ch;
  int doorbell = -1;
  std::string kill_reason;  // why the pool killed it, if it did
  std::string out_buf;
  // Invocations handed to it, in the order it runs them: the front one runs
  // (or is about to), the others wait in its ring.
  std::deque<job> jobs;

  job* running() { return jobs.empty() ? nullptr : &jobs.front(); }
  const invocation* current() const { return jobs.empty() ? nullptr : &jobs.front().inv; }
};

executor_pool::executor_pool(store& st, pool_options opts, pool_events& events)
    : store_(st), opts_(std::move(opts)), events_(events) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  TRAIL_ASSERT(epoll_fd_ >= 0, "epoll_create1", std::strerror(errno));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  TRAIL_ASSERT(wake_fd_ >= 0, "eventfd", std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = wake_fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  for (int i = 0; i < opts_.executors; ++i) {
    slots_.push_back(std::make_unique<slot>());
    slots_.back()->index = i;
  }
}

executor_pool::~executor_pool() {
  for (auto& s : slots_) {
    s->proc = child_process{};  // SIGKILL + reap
    for (auto& j : s->jobs) j.release(store_);
    if (s->doorbell >= 0) ::close(s->doorbell);
  }
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void executor_pool::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

int executor_pool::size() const { return static_cast<int>(slots_.size()); }
const executor_info& executor_pool::info(int i) const { return slots_.at(i)->info; }

status executor_pool::start() {
  for (auto& s : slots_)
    if (auto st = launch(*s); !st.ok()) return st;
  return {};
}

// -- launching --------------------------------------------------------------------

status executor_pool::launch(slot& s) {
  ++s.generation;
  auto ch = channel::create("ch" + std::to_string(s.index) + "g" + std::to_string(s.generation));
  if (!ch) return ch.error();
  if (opts_.run_as)
    if (status given = (*ch)->give_to(*opts_.run_as); !given.ok()) return given;
  int bell = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (bell < 0) return status::internal(std::string("eventfd: ") + std::strerror(errno));
  launch_spec spec{opts_.executor_path,
                   {"--store", store_.seg().name(), "--channel", (*ch)->name(), "--doorbell",
                    std::to_string(bell), "--slot", std::to_string(s.index)},
                   {bell},
                   opts_.run_as};
  auto proc = child_process::launch(spec);
  if (!proc) {
    ::close(bell);
    return proc.error();
  }
  if (s.doorbell >= 0) ::close(s.doorbell);
  s.ch = std::move(*ch);
  s.doorbell = bell;
  s.proc = std::move(*proc);
  s.kill_reason.clear();
  s.out_buf.clear();
  s.info = executor_info{};
  s.info.state = executor_state::starting;
  s.info.pid = s.proc.pid();
  auto add = [&](int fd, fd_kind k) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag(s.index, s.generation, k);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  };
  add(s.doorbell, doorbell_fd);
  add(s.proc.pidfd(), pid_fd);
  add(s.proc.output_fd(), output_fd);
  return {};
}

std::optional<int> executor_pool::idle_executor(std::string_view library) const {
  std::optional<int> any;
  for (auto& s : slots_) {
    if (s->info.state != executor_state::idle || !s->kill_reason.empty()) continue;  // idle, or dying
    auto& libs = s->info.libraries;
    if (library.empty() || std::find(libs.begin(), libs.end(), library) != libs.end()) return s->index;
    if (!any) any = s->index;
  }
  return any;
}

// -- dispatch ---------------------------------------------------------------------

status executor_pool::dispatch(int index, invocation inv) {
  slot& s = *slots_.at(index);
  bool idle = s.info.state == executor_state::idle;
  bool can_queue = s.info.state == executor_state::busy && s.jobs.size() <= opts_.max_queued;
  if ((!idle && !can_queue) || !s.kill_reason.empty())
    return status::unavailable("executor " + std::to_string(index) + " cannot take more work now");
  schema::dispatch d{inv.id, inv.session, inv.attempt, inv.library, inv.function, inv.args, {}, 0, 0};
  for (object_id id : inv.inputs) {
    const object_info* o = store_.info(id);
    TRAIL_REQUIRE(o && o->state == object_state::sealed, "dispatch input not sealed", id);
    d.inputs.push_back({id, o->where.offset, o->size, o->bucket, o->key});
  }
  job j;
  if (inputs_too_big(d.inputs, s.ch->max_message())) {  // the list goes through the store
    std::string bytes;
    schema::encode_objects(d.inputs, bytes);
    auto b = store_.allocate(bytes.size());
    if (!b) return b.error();
    std::memcpy(store_.seg().base() + b->offset, bytes.data(), bytes.size());
    j.listing = *b;
    d.inputs.clear();
    d.inputs_offset = b->offset, d.inputs_size = bytes.size();
  }
  if (opts_.arena_bytes > 0)
    if (auto a = store_.allocate(opts_.arena_bytes)) j.arena = *a, d.arena_offset = a->offset, d.arena_size = a->size;
  // Behind a running invocation, keep room for the replies it may wait for
  // (the largest record): the node never waits for a ring to drain.
  std::size_t reserve = idle ? 0 : ring::space_for(s.ch->max_message());
  if (auto st = try_send_message(s.ch->to_executor(), d, reserve); !st.ok()) {
    j.release(store_);
    return st;
  }
  if (s.ch->to_executor().needs_wake()) s.ch->to_executor().futex_wake();
  for (object_id id : inv.inputs) store_.retain(id);
  j.refs = inv.inputs;
  inv.slot = index;
  if (std::find(s.info.libraries.begin(), s.info.libraries.end(), inv.library) == s.info.libraries.end())
    s.info.libraries.push_back(inv.library);
  j.inv = std::move(inv);
  s.jobs.push_back(std::move(j));
  if (idle) start_next(s, clock::now());
  s.info.queued = static_cast<std::uint32_t>(s.jobs.size() - 1);
  return {};
}

// The front job starts running (its timeout counts from now).
void executor_pool::start_next(slot& s, clock::time_point now) {
  job& j = s.jobs.front();
  j.deadline = now + j.inv.timeout;
  s.info.state = executor_state::busy;
  s.info.invocation = j.inv.id;
  s.info.since = now;
}

// A reply the running invocation waits for. Room for it was kept free (see
// dispatch); should it not fit after all, the executor is stuck: killed.
void executor_pool::reply(slot& s, const schema::to_executor& m) {
  if (auto st = try_send_message(s.ch->to_executor(), m, 0); !st.ok()) {
    s.kill_reason = "cannot answer it: " + st.message();
    s.info.dying = true;
    s.proc.kill(SIGKILL);
    return;
  }
  if (s.ch->to_executor().needs_wake()) s.ch->to_executor().futex_wake();
}

// -- the event loop -----------------------------------------------------------------

int executor_pool::drain_all() {
  int n = 0;
  for (auto& s : slots_)
    if (s->ch && !s->ch->to_node().empty()) drain(*s), ++n;
  return n;
}

bool executor_pool::rings_pending() const {
  for (auto& s : slots_)
    if (s->ch && !s->ch->to_node().empty()) return true;
  return false;
}

bool executor_pool::busy() const {
  return std::any_of(slots_.begin(), slots_.end(), [](auto& s) { return s->info.state == executor_state::busy; });
}

bool executor_pool::prepare_sleep() {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i]->ch || slots_[i]->ch->to_node().prepare_wait()) continue;
    for (std::size_t j = 0; j < i; ++j)
      if (slots_[j]->ch) slots_[j]->ch->to_node().finish_wait();
    return false;
  }
  return true;
}

void executor_pool::finish_sleep() {
  for (auto& s : slots_)
    if (s->ch) s->ch->to_node().finish_wait();
}

std::optional<clock::time_point> executor_pool::next_deadline() const {
  std::optional<clock::time_point> t;
  auto consider = [&](clock::time_point d) {
    if (!t || d < *t) t = d;
  };
  for (auto& s : slots_) {
    const job* j = s->running();
    if (!j) continue;
    if (s->kill_reason.empty()) consider(j->deadline);
    if (j->pending_alloc) consider(j->alloc_deadline);
  }
  return t;
}

// Handles what the epoll set reports within `timeout_ms` (0: what is there).
int executor_pool::handle_fds(int timeout_ms) {
  epoll_event evs[32];
  int n = ::epoll_wait(epoll_fd_, evs, 32, timeout_ms);
  last_fd_check_ = clock::now();
  int handled = 0;
  for (int i = 0; i < n; ++i) {
    std::uint64_t t = evs[i].data.u64;
    if (t == wake_fd) {  // wake(): nothing to handle but returning
      std::uint64_t v;
      [[maybe_unused]] auto r = ::read(wake_fd_, &v, sizeof v);
      ++handled;
      continue;
    }
    auto index = static_cast<std::size_t>((t & 0xFFFFFFFFu) >> 2);
    if (index >= slots_.size()) continue;
    slot& s = *slots_[index];
    if (static_cast<int>(t >> 32) != s.generation) continue;  // a replaced executor's fd
    switch (static_cast<fd_kind>(t & 3)) {
      case doorbell_fd: {
        std::uint64_t v;
        [[maybe_unused]] auto r = ::read(s.doorbell, &v, sizeof v);
        break;
      }
      case output_fd: read_output(s, false); break;
      case pid_fd: on_death(s, s.proc.try_reap()); break;
      case wake_fd: break;
    }
    ++handled;
  }
  return handled;
}

int executor_pool::service(bool fds) {
  auto now = clock::now();
  check_timeouts(now);
  retry_allocations(now);
  int handled = drain_all();
  // Even while the rings stay busy, deaths and output pipes are looked at
  // at least every millisecond.
  if (fds || now - last_fd_check_ >= std::chrono::milliseconds(1)) handled += handle_fds(0);
  return handled + drain_all();
}

int executor_pool::poll(std::chrono::milliseconds timeout) {
  int handled = service(false);
  if (!handled && busy() && spin_.should_spin() && spin_until([&] { return rings_pending(); }, spin_budget))
    handled = drain_all();
  if (handled) return handled + service(false);
  int wait_ms = static_cast<int>(next_wait(timeout).count());
  if (prepare_sleep()) {
    handled = handle_fds(wait_ms);
    finish_sleep();
  }
  return handled + service(false);
}

bool executor_pool::wait_ready(std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  auto state_is = [&](executor_state st) {
    return std::all_of(slots_.begin(), slots_.end(), [st](auto& s) { return s->info.state == st; });
  };
  auto settled = [&] {  // nothing is starting any more
    return std::none_of(slots_.begin(), slots_.end(),
                        [](auto& s) { return s->info.state == executor_state::starting; });
  };
  while (!settled()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return false;
    poll(left);
  }
  return state_is(executor_state::idle);
}

std::chrono::milliseconds executor_pool::next_wait(std::chrono::milliseconds cap) const {
  auto now = clock::now();
  auto wait = cap;
  auto consider = [&](clock::time_point t) {
    auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - now) + std::chrono::milliseconds(1);
    wait = std::clamp(d, std::chrono::milliseconds(0), wait);
  };
  for (auto& s : slots_) {
    const job* j = s->running();
    if (!j) continue;
    consider(j->deadline);
    if (j->pending_alloc) consider(j->alloc_deadline);
  }
  return wait;
}

void executor_pool::kill(int index, int sig) { slots_.at(index)->proc.kill(sig); }

void executor_pool::check_timeouts(clock::time_point now) {
  for (auto& s : slots_) {
    const job* j = s->running();
    if (!j || now < j->deadline || !s->kill_reason.empty()) continue;
    s->kill_reason = "timed out after " + std::to_string(j->inv.timeout.count()) + " ms";
    s->info.dying = true;
    s->proc.kill(SIGKILL);  // its pidfd reports the death
  }
}

// -- messages from executors ----------------------------------------------------------

void executor_pool::drain(slot& s) {
  ring& r = s.ch->to_node();
  while (s.ch) {
    auto rec = r.peek();
    if (!rec) break;
    auto msg = schema::decode_to_node(*rec);
    r.pop();
    if (!msg) {
      events_.on_log(s.index, s.current(), "protocol error: " + msg.error().message());
      s.kill_reason = "protocol error: " + msg.error().message();
      s.info.dying = true;
      s.proc.kill(SIGKILL);
      return;
    }
    handle(s, std::move(*msg));
  }
}

// One handler per message kind; `s` is the sending executor.
struct executor_pool::handlers {
  executor_pool& p;
  slot& s;

  // A message about an invocation the executor is not running: a bug or a
  // confused executor. Kill it; its death reports the invocation as lost.
  bool stray(std::uint64_t invocation) {
    if (s.current() && s.current()->id == invocation) return false;
    s.kill_reason = "protocol error: message for invocation " + std::to_string(invocation);
    s.info.dying = true;
    s.proc.kill(SIGKILL);
    return true;
  }
  job& j() { return s.jobs.front(); }  // REQUIRES: !stray(...)

  void operator()(const schema::ready&) {
    if (s.info.state != executor_state::starting) return;
    s.info.state = executor_state::idle;
    s.info.since = clock::now();
    s.early_deaths = 0;
    p.events_.on_ready(s.index);
  }

  void operator()(schema::alloc_request& m) {
    if (stray(m.invocation)) return;
    j().pending_alloc = std::move(m);
    j().alloc_deadline = clock::now() + p.opts_.alloc_wait;
    p.try_allocate(s, clock::now());
  }

  void operator()(const schema::seal& m) {
    if (stray(m.invocation)) return;
    if (auto r = seal(m.object, m.offset, m.size, m.bucket, m.key)) p.events_.on_sealed(j().inv, *r);
  }

  void operator()(const schema::output& m) {
    if (stray(m.invocation)) return;
    if (auto r = seal(m.object, m.offset, m.size, "", "output")) p.events_.on_output(j().inv, *r);
  }

  // Seals a dedicated object (id != 0) or an arena carve (id == 0). Nullopt
  // when there is nothing to report (session over) or the executor lied.
  std::optional<sealed> seal(object_id id, std::uint64_t offset, std::uint64_t size, std::string_view bucket,
                             std::string_view key) {
    result<sealed> r = status::internal("unreachable");
    if (id != 0) {
      auto it = std::find(j().created.begin(), j().created.end(), id);
      if (it == j().created.end()) return violation("seal of an object it does not hold");
      j().created.erase(it);
      r = p.store_.seal(id, size);
      if (!r && r.error().code() != errc::not_found) {  // too large, sealed twice: the executor lied
        p.store_.release(id);
        return violation(r.error().message());
      }
    } else {
      auto b = j().carve(offset, size);
      if (!b) return violation("seal outside its arena or over another object");
      j().arena_kept.emplace(b->offset, b->size);
      r = p.store_.seal_block(j().inv.session, bucket, key, *b, size);
    }
    if (!r) return std::nullopt;  // the session ended meanwhile: dropped
    return *r;
  }

  std::nullopt_t violation(const std::string& what) {
    s.kill_reason = "protocol error: " + what;
    s.info.dying = true;
    s.proc.kill(SIGKILL);
    return std::nullopt;
  }

  void operator()(const schema::get_request& m) {
    if (stray(m.invocation)) return;
    schema::get_reply rep{m.invocation, false, {}};
    if (auto id = p.store_.find(j().inv.session, m.bucket, m.key)) {
      const object_info* o = p.store_.info(*id);
      p.store_.retain(*id);
      j().refs.push_back(*id);
      rep.found = true;
      rep.object = {*id, o->where.offset, o->size, o->bucket, o->key};
    }
    p.reply(s, rep);
  }

  void operator()(const schema::announce& m) {
    if (!stray(m.invocation)) p.events_.on_announce(j().inv, m.bucket, m.count);
  }
  void operator()(const schema::done& m) {
    if (!stray(m.invocation)) p.events_.on_done(j().inv, m.bucket);
  }

  void operator()(const schema::complete& m) {
    if (stray(m.invocation)) return;
    p.read_output(s, true);  // the executor flushed before completing
    invocation inv = std::move(j().inv);
    j().release(p.store_);
    s.jobs.pop_front();
    auto now = clock::now();
    if (s.jobs.empty()) {
      s.info.state = executor_state::idle;
      s.info.invocation = 0;
      s.info.since = now;
    } else {
      p.start_next(s, now);  // the executor goes on with the next in its ring
    }
    s.info.queued = s.jobs.empty() ? 0 : static_cast<std::uint32_t>(s.jobs.size() - 1);
    status st = m.code == 0 ? status{} : status(static_cast<errc>(m.code), m.error);
    p.events_.on_finished(inv, st);
  }
};

void executor_pool::handle(slot& s, schema::to_node msg) { std::visit(handlers{*this, s}, msg); }

// Answers the running job's pending allocation unless it must keep waiting
// for space; true when answered.
bool executor_pool::try_allocate(slot& s, clock::time_point now) {
  job& j = s.jobs.front();
  auto& req = *j.pending_alloc;
  auto id = store_.create_object(j.inv.session, req.bucket, req.key, req.capacity);
  if (!id && id.error().code() == errc::overloaded && now < j.alloc_deadline) return false;
  schema::alloc_reply rep{req.invocation, 0, {}, 0, 0, 0};
  if (id) {
    j.created.push_back(*id);
    const object_info* o = store_.info(*id);
    rep.object = *id, rep.offset = o->where.offset, rep.capacity = o->where.size;
  } else {
    rep.code = static_cast<std::uint16_t>(id.error().code());
    rep.error = id.error().message();
  }
  j.pending_alloc.reset();
  reply(s, rep);
  return true;
}

// Retries waiting allocations when space was freed, and fails them at their deadline.
void executor_pool::retry_allocations(clock::time_point now) {
  bool freed = store_.free_generation() != seen_free_generation_;
  seen_free_generation_ = store_.free_generation();
  for (auto& s : slots_) {
    job* j = s->running();
    if (j && j->pending_alloc && (freed || now >= j->alloc_deadline)) try_allocate(*s, now);
  }
}

void executor_pool::on_death(slot& s, const std::string& how) {
  if (how.empty()) return;  // not dead after all
  drain(s);  // what it said before dying still counts, in order
  read_output(s, true);
  std::string why = s.kill_reason.empty()
                        ? "executor (pid " + std::to_string(s.info.pid) + ") " + how
                        : "executor (pid " + std::to_string(s.info.pid) + ") " + s.kill_reason;
  bool early = s.info.state == executor_state::starting;
  s.early_deaths = early ? s.early_deaths + 1 : 0;
  // The front job was running; the others never started.
  std::vector<invocation> dropped;
  for (auto& j : s.jobs) {
    j.release(store_);
    dropped.push_back(std::move(j.inv));
  }
  s.jobs.clear();
  s.info.state = executor_state::dead;
  s.proc = child_process{};
  s.ch.reset();
  // Replace it before reporting, so that listeners see the pool as it is now.
  bool respawning = opts_.respawn && s.early_deaths < max_early_deaths;
  status respawned = respawning ? launch(s) : status::unavailable("not respawned");
  if (dropped.empty()) events_.on_executor_died(s.index, why);
  for (std::size_t i = 0; i < dropped.size(); ++i) {
    if (i == 0) events_.on_lost(dropped[i], why);
    else events_.on_returned(dropped[i], why);
  }
  if (opts_.respawn && !respawned.ok())
    events_.on_executor_died(s.index, respawning ? "respawn failed: " + respawned.message()
                                                 : "died " + std::to_string(s.early_deaths) +
                                                       " times before it started: not respawned");
}

int executor_pool::live_executors() const {
  return static_cast<int>(std::count_if(slots_.begin(), slots_.end(),
                                        [](auto& s) { return s->info.state != executor_state::dead; }));
}

void executor_pool::read_output(slot& s, bool flush) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(s.proc.output_fd(), buf, sizeof buf);
    if (n == 0 && s.proc.output_fd() >= 0)  // the executor closed its stdout/stderr: stop watching
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.proc.output_fd(), nullptr);
    if (n <= 0) break;
    s.out_buf.append(buf, static_cast<std::size_t>(n));
  }
  const invocation* inv = s.current();
  std::size_t start = 0;
  for (std::size_t nl; (nl = s.out_buf.find('\n', start)) != std::string::npos; start = nl + 1)
    events_.on_log(s.index, inv, std::string_view(s.out_buf).substr(start, nl - start));
  s.out_buf.erase(0, start);
  if (flush && !s.out_buf.empty()) {
    events_.on_log(s.index, inv, s.out_buf);
    s.out_buf.clear();
  }
}

}  // namespace trail::shm
