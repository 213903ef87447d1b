#include "shm/executor_service.hpp"

#include <future>

namespace trail::shm {

result<std::unique_ptr<executor_service>> executor_service::start(service_options opts, pool_events& events) {
  std::unique_ptr<executor_service> svc(new executor_service());
  svc->opts_ = std::move(opts);
  auto st = store::create(svc->opts_.store);
  if (!st) return st.error();
  svc->store_ = std::move(*st);
  std::promise<status> started;
  auto ready = started.get_future();
  svc->io_ = std::thread([&svc = *svc, &events, &started] { svc.run(events, started); });
  if (status s = ready.get(); !s.ok()) {
    svc->io_.join();
    return s;
  }
  return svc;
}

// The I/O thread: owns the pool's lifetime so that executors die with it.
void executor_service::run(pool_events& events, std::promise<status>& started) {
  std::unique_lock lock(mu_);
  pool_ = std::make_unique<executor_pool>(*store_, opts_.pool, events);
  pool_->unlock_while_waiting(mu_);
  status s = pool_->start();
  if (s.ok()) pool_->wait_ready(std::chrono::seconds(10));  // up (or given up) before serving
  started.set_value(s);  // `started` is gone after this
  if (!s.ok()) return;
  while (!stop_.load(std::memory_order_acquire)) pool_->poll(std::chrono::milliseconds(50));
  pool_.reset();  // kills and reaps the executors on their launching thread
}

executor_service::~executor_service() {
  stop_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(mu_);
    if (pool_) pool_->wake();
  }
  if (io_.joinable()) io_.join();
}

status executor_service::dispatch(invocation inv) {
  std::lock_guard lock(mu_);
  auto slot = pool_->idle_executor(inv.library);
  if (!slot) return status::unavailable("no idle executor");
  return pool_->dispatch(*slot, std::move(inv));
}

int executor_service::idle_executors() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (int i = 0; i < pool_->size(); ++i) n += pool_->info(i).state == executor_state::idle;
  return n;
}

int executor_service::executors() const {
  std::lock_guard lock(mu_);
  return pool_->size();
}

}  // namespace trail::shm
