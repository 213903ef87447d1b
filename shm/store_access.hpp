// How code off the store's owning thread reaches the store: it asks the
// owner to run a function on it and waits for the result.
//
// A node's store has one owner, the node loop (actors/loop.hpp), and only
// the data path's threads reach it this way. `locked_store` stands in for a
// store that no loop owns (tests, benchmarks): a mutex serialises callers.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <type_traits>

#include "shm/store.hpp"

namespace trail::shm {

class store_access {
 public:
  virtual ~store_access() = default;

  // Runs `f(store&)` where the store lives and returns its result. Keep `f`
  // short: it runs on the node's hot thread. REQUIRES: not called from
  // inside another with_store on the same store.
  template <class F>
  auto with_store(F&& f) -> std::invoke_result_t<F&, store&> {
    using R = std::invoke_result_t<F&, store&>;
    if constexpr (std::is_void_v<R>) {
      run([&](store& s) { f(s); });
    } else {
      std::optional<R> out;
      run([&](store& s) { out.emplace(f(s)); });
      return std::move(*out);
    }
  }

 protected:
  virtual void run(const std::function<void(store&)>& f) = 0;
};

class locked_store final : public store_access {
 public:
  // REQUIRES: `s` outlives this.
  explicit locked_store(store& s) : store_(s) {}

 protected:
  void run(const std::function<void(store&)>& f) override {
    std::lock_guard lock(mu_);
    f(store_);
  }

 private:
  store& store_;
  std::mutex mu_;
};

}  // namespace trail::shm
