#include "actors/sched/dispatcher.hpp"

#include <sys/epoll.h>

#include <algorithm>

namespace trail::actors::sched {
namespace {

exec_event event(exec_event::kind what, const shm::invocation& inv) {
  exec_event e;
  e.what = what;
  e.invocation = inv.id;
  e.session = inv.session;
  e.slot = inv.slot;
  return e;
}

core::object_meta meta_of(const shm::store& st, std::uint64_t id) {
  const shm::object_info* o = st.info(id);
  if (!o) return {};
  return {o->session, o->bucket, o->key, o->id, o->size};
}

shm::invocation to_invocation(const task& t, std::uint64_t id) {
  shm::invocation inv{id, t.session, t.attempt, t.fn->library, t.fn->name, t.args, {},
                      std::chrono::milliseconds(t.fn->timeout_ms)};
  for (auto& o : t.inputs) inv.inputs.push_back(o.id);
  return inv;
}

}  // namespace

dispatcher::dispatcher() = default;

dispatcher::~dispatcher() {
  if (!pool_ || !loop_) return;
  loop_->remove(poller_);
  loop_->unwatch(pool_->wait_fd());
}

status dispatcher::start(node_loop& loop, shm::store& store, shm::pool_options opts, caf::actor owner) {
  listener_.store = &store;
  pool_ = std::make_unique<shm::executor_pool>(store, std::move(opts), listener_);
  if (status s = pool_->start(); !s.ok()) return s;
  pool_->wait_ready(std::chrono::seconds(10));  // up (or given up) before serving
  listener_.events.clear();                       // (nothing ran yet: only readiness)
  loop_ = &loop;
  poller_.pool = pool_.get();
  poller_.owner = owner;
  loop.add(poller_);
  loop.watch(pool_->wait_fd(), EPOLLIN, [owner](std::uint32_t) { caf::anon_send(owner, drain_atom::value, true); });
  return {};
}

std::vector<core::executor_view> dispatcher::views(const core::function_spec& fn) const {
  std::vector<core::executor_view> v(static_cast<std::size_t>(pool_->size()));
  for (int i = 0; i < pool_->size(); ++i) {
    const auto& info = pool_->info(i);
    auto& x = v[static_cast<std::size_t>(i)];
    x.st = info.dying                                 ? core::executor_view::state::unavailable
           : info.state == shm::executor_state::idle   ? core::executor_view::state::idle
           : info.state == shm::executor_state::busy   ? core::executor_view::state::busy
                                                        : core::executor_view::state::unavailable;
    x.since = info.since;
    x.queued = info.queued;
    x.has_library = std::find(info.libraries.begin(), info.libraries.end(), fn.library) != info.libraries.end();
  }
  return v;
}

namespace {
const std::string& timing_key(const core::function_spec& fn) {
  thread_local std::string key;
  key.assign(fn.library).push_back('\n');
  key.append(fn.name);
  return key;
}
}  // namespace

const dispatcher::timing* dispatcher::timing_of(const core::function_spec& fn) const {
  auto it = timing_.find(timing_key(fn));
  return it == timing_.end() ? nullptr : &it->second;
}

std::optional<int> dispatcher::choose(const task& t, task_table& tasks, clock::time_point now) const {
  core::task_view v;
  v.producer = t.producer;
  if (t.producer && *t.producer < pool_->size()) {
    auto running = pool_->info(*t.producer).invocation;
    if (const task* p = running ? tasks.by_attempt(running) : nullptr)
      if (const timing* tm = timing_of(*p->fn)) v.producer_tail = tm->tail.get();
  }
  if (const timing* tm = timing_of(*t.fn)) v.expected_run = tm->run.get();
  return core::choose_executor(views(*t.fn), v, now, params_);
}

status dispatcher::run(int slot, const task& t, std::uint64_t invocation) {
  return pool_->dispatch(slot, to_invocation(t, invocation));
}

std::vector<exec_event> dispatcher::service(bool fds) {
  pool_->service(fds);
  return std::exchange(listener_.events, {});
}

void dispatcher::learn(const exec_event& e, task* t, clock::time_point now) {
  using k = exec_event::kind;
  if (!t || (e.what != k::sealed && e.what != k::finished)) return;
  if (e.what == k::sealed) {
    producers_[producers_next_++ % producers_.size()] = {e.object.id, e.slot};
    t->seal_sum_ns += now.time_since_epoch().count();
    ++t->seals;
    return;
  }
  if (timing_.size() >= max_timings && !timing_of(*t->fn)) timing_.clear();
  auto& tm = timing_[timing_key(*t->fn)];
  tm.run.add(now - t->started_at);
  if (t->seals > 0) tm.tail.add(std::chrono::nanoseconds(now.time_since_epoch().count() - t->seal_sum_ns / t->seals));
}

std::optional<int> dispatcher::producer_of(std::uint64_t object) const {
  for (auto& [id, slot] : producers_)
    if (id == object && slot >= 0) return slot;
  return std::nullopt;
}

std::uint32_t dispatcher::idle() const {
  std::uint32_t n = 0;
  for (int i = 0; i < pool_->size(); ++i) n += pool_->info(i).state == shm::executor_state::idle;
  return n;
}

// -- the pool's events ------------------------------------------------------------

void dispatcher::listener::on_sealed(const shm::invocation& inv, const shm::sealed& s) {
  auto e = event(exec_event::kind::sealed, inv);
  e.object = meta_of(*store, s.id);
  e.fresh = s.fresh;
  events.push_back(std::move(e));
}

void dispatcher::listener::on_output(const shm::invocation& inv, const shm::sealed& s) {
  auto e = event(exec_event::kind::output, inv);
  e.object = meta_of(*store, s.id);
  e.fresh = s.fresh;
  events.push_back(std::move(e));
}

void dispatcher::listener::on_announce(const shm::invocation& inv, std::string_view bucket, std::uint64_t n) {
  auto e = event(exec_event::kind::announce, inv);
  e.bucket = bucket;
  e.count = n;
  events.push_back(std::move(e));
}

void dispatcher::listener::on_done(const shm::invocation& inv, std::string_view bucket) {
  auto e = event(exec_event::kind::done, inv);
  e.bucket = bucket;
  events.push_back(std::move(e));
}

void dispatcher::listener::on_finished(const shm::invocation& inv, const status& st) {
  auto e = event(exec_event::kind::finished, inv);
  e.outcome = st;
  events.push_back(std::move(e));
}

void dispatcher::listener::on_lost(const shm::invocation& inv, const std::string& why) {
  auto e = event(exec_event::kind::lost, inv);
  e.outcome = status::unavailable(why);
  events.push_back(std::move(e));
}

void dispatcher::listener::on_returned(const shm::invocation& inv, const std::string& why) {
  auto e = event(exec_event::kind::returned, inv);
  e.outcome = status::unavailable(why);
  events.push_back(std::move(e));
}

void dispatcher::listener::on_executor_died(int slot, const std::string& why) {
  exec_event e;
  e.what = exec_event::kind::died;
  e.slot = slot;
  e.outcome = status::unavailable("executor " + std::to_string(slot) + ": " + why);
  events.push_back(std::move(e));
}

void dispatcher::listener::on_log(int slot, const shm::invocation* inv, std::string_view line) {
  std::string text = inv ? "[session " + std::to_string(inv->session) + " " + inv->function + "] " + std::string(line)
                         : "[executor " + std::to_string(slot) + "] " + std::string(line);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  recent_logs().add(ms.count(), text);  // for `trail logs`
  log.post(std::move(text));
}

void dispatcher::poller::fire() {
  notified = true;
  caf::anon_send(owner, drain_atom::value, false);
}

}  // namespace trail::actors::sched
