#include "shm/executor.hpp"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <deque>
#include <iostream>
#include <thread>
#include <unordered_map>

#include <trail/function.hpp>

#include "shm/allocator.hpp"
#include "shm/channel.hpp"
#include <trail/check.hpp>

namespace trail::shm {
namespace {

// An executor in a workflow is typically handed its next function within a
// few microseconds of its last one (the node queues it in this ring, or
// dispatches at once): spinning that long saves a futex wake-up per hop.
// Longer would only take a core from the node or the client on a 2-vCPU
// machine; spin_policy stops it altogether when cores are short.
constexpr auto spin_budget = std::chrono::microseconds(50);

// -- the link to the node ---------------------------------------------------------

class node_link {
 public:
  node_link(channel& ch, int doorbell) : ch_(ch), doorbell_(doorbell) {}

  void send(const schema::to_node& m) {
    auto st = send_message(ch_.to_node(), m, std::chrono::milliseconds(5000));
    TRAIL_ASSERT(st.ok(), "cannot reach the node:", st.to_string());
    if (ch_.to_node().needs_wake()) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(doorbell_, &one, sizeof one);
    }
  }

  // The next message from the node (work that arrived while an invocation
  // waited for a reply first); spins briefly, then sleeps on the futex.
  schema::to_executor receive() {
    if (!stash_.empty()) {
      auto m = std::move(stash_.front());
      stash_.pop_front();
      return m;
    }
    return next();
  }

  // The reply an invocation waits for. Work queued behind it in the ring
  // meanwhile is kept for later, in order.
  template <class Reply>
  Reply await() {
    for (;;) {
      auto m = next();
      if (auto* rep = std::get_if<Reply>(&m)) return std::move(*rep);
      TRAIL_ASSERT(std::holds_alternative<schema::dispatch>(m) || std::holds_alternative<schema::shutdown>(m),
                   "unexpected message from the node while waiting for a reply, index", m.index());
      stash_.push_back(std::move(m));
    }
  }

 private:
  schema::to_executor next() {
    ring& r = ch_.to_executor();
    for (;;) {
      if (auto rec = r.peek()) {
        auto msg = schema::decode_to_executor(*rec);
        r.pop();
        TRAIL_ASSERT(msg.ok(), "malformed message from the node:", msg.error().to_string());
        return std::move(*msg);
      }
      if (spin_.should_spin() && spin_until([&] { return !r.empty(); }, spin_budget)) continue;
      if (r.prepare_wait()) {
        r.futex_wait(std::chrono::seconds(1));
        r.finish_wait();
      }
    }
  }

  channel& ch_;
  int doorbell_;
  spin_policy spin_;
  std::deque<schema::to_executor> stash_;
};

// -- user libraries ---------------------------------------------------------------

class library_cache {
 public:
  result<const function_entry*> find(const std::string& path, const std::string& fn) {
    auto key = path + '\0' + fn;
    if (auto it = functions_.find(key); it != functions_.end()) return it->second;
    auto lib = load(path);
    if (!lib) return lib.error();
    using getter = const function_entry* (*)();
    auto get = reinterpret_cast<getter>(::dlsym(*lib, ("trail_function_" + fn).c_str()));
    if (!get)
      return status::not_found("library '" + path + "' has no function '" + fn +
                               "' (no TRAIL_FUNCTION(" + fn + ") exported)");
    const function_entry* e = get();
    if (!e || e->abi_version != sdk_abi_version)
      return status::invalid("library '" + path + "' was built against trail SDK ABI version " +
                             std::to_string(e ? e->abi_version : 0) + "; this executor implements version " +
                             std::to_string(sdk_abi_version) + ": rebuild it against this trail");
    functions_.emplace(key, e);
    return e;
  }

 private:
  result<void*> load(const std::string& path) {
    if (auto it = libraries_.find(path); it != libraries_.end()) return it->second;
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) return status::invalid("cannot load library '" + path + "': " + ::dlerror());
    libraries_.emplace(path, h);
    return h;
  }

  std::unordered_map<std::string, void*> libraries_;  // never dlclosed: functions may leave threads
  std::unordered_map<std::string, const function_entry*> functions_;
};

// -- the context user code sees -------------------------------------------------------

class context_impl final : public context {
 public:
  context_impl(const schema::dispatch& d, std::byte* base, std::uint64_t store_size, node_link& link)
      : d_(d), base_(base), store_size_(store_size), link_(link), arena_next_(d.arena_offset), arena_end_(d.arena_offset + d.arena_size) {
    for (auto& a : d.args) args_.emplace_back(a);
    if (d.inputs_size > 0) {  // a large list, passed through the store
      auto listed = schema::decode_objects({reinterpret_cast<const char*>(base + d.inputs_offset), d.inputs_size});
      TRAIL_ASSERT(listed.ok(), "malformed input list from the node:", listed.error().to_string());
      listed_ = std::move(*listed);
    }
    auto add = [&](const schema::object_desc& in) { inputs_.emplace_back(in.bucket, in.key, base + in.offset, in.size); };
    std::for_each(d.inputs.begin(), d.inputs.end(), add);
    std::for_each(listed_.begin(), listed_.end(), add);
  }

  std::span<const std::string_view> args() const override { return args_; }
  std::span<const object> inputs() const override { return inputs_; }

  object_writer create(std::string_view bucket, std::string_view key, std::size_t capacity) override {
    check_name("bucket", bucket);
    check_name("key", key);
    return reserve(bucket, key, capacity);
  }

  void send(object_writer&& w) override {
    object_writer mine = std::move(w);
    if (!mine.data()) throw error("send() of an empty object_writer (already sent?)");
    auto offset = static_cast<std::uint64_t>(reinterpret_cast<std::byte*>(mine.data()) - base_);
    link_.send(schema::seal{d_.invocation, mine.handle(), offset, mine.size(), std::string(mine.bucket()),
                            std::string(mine.key())});
  }

  std::optional<object> get(std::string_view bucket, std::string_view key) override {
    link_.send(schema::get_request{d_.invocation, std::string(bucket), std::string(key)});
    auto rep = link_.await<schema::get_reply>();
    if (!rep.found) return std::nullopt;
    names_.push_back(std::move(rep.object.bucket));
    auto& b = names_.back();
    names_.push_back(std::move(rep.object.key));
    return object(b, names_.back(), base_ + rep.object.offset, rep.object.size);
  }

  void output(std::string_view bytes) override {
    object_writer w = reserve("", "output", bytes.size());
    if (!bytes.empty()) std::memcpy(w.data(), bytes.data(), bytes.size());
    auto offset = static_cast<std::uint64_t>(reinterpret_cast<std::byte*>(w.data()) - base_);
    link_.send(schema::output{d_.invocation, w.handle(), offset, bytes.size()});
  }

  void announce(std::string_view bucket, std::uint64_t n) override {
    check_name("bucket", bucket);
    link_.send(schema::announce{d_.invocation, std::string(bucket), n});
  }
  void done(std::string_view bucket) override {
    check_name("bucket", bucket);
    link_.send(schema::done{d_.invocation, std::string(bucket)});
  }

  std::uint64_t session() const override { return d_.session; }
  std::string_view function() const override { return d_.function; }
  std::uint32_t attempt() const override { return d_.attempt; }

 private:
  static void check_name(const char* what, std::string_view name) {
    if (name.empty()) throw error(std::string(what) + " name must not be empty");
    if (name.size() > schema::max_name_length)
      throw error(std::string(what) + " name longer than " + std::to_string(schema::max_name_length) + " bytes");
  }

  // Carves from the arena when it fits (no round trip), else asks the node.
  object_writer reserve(std::string_view bucket, std::string_view key, std::size_t capacity) {
    if (capacity > store_size_)
      throw error("object of " + std::to_string(capacity) + " bytes exceeds the store's capacity of " +
                  std::to_string(store_size_) + " bytes");
    std::uint64_t need = block_allocator::round_up(capacity);
    if (arena_end_ - arena_next_ >= need) {
      char* p = reinterpret_cast<char*>(base_ + arena_next_);
      arena_next_ += need;
      return object_writer(std::string(bucket), std::string(key), p, capacity, 0);
    }
    link_.send(schema::alloc_request{d_.invocation, std::string(bucket), std::string(key), capacity});
    auto rep = link_.await<schema::alloc_reply>();
    if (rep.code != 0) throw error(rep.error);
    return object_writer(std::string(bucket), std::string(key), reinterpret_cast<char*>(base_ + rep.offset),
                         capacity, rep.object);
  }

  const schema::dispatch& d_;
  std::byte* base_;
  std::uint64_t store_size_;
  node_link& link_;
  std::uint64_t arena_next_;
  std::uint64_t arena_end_;
  std::vector<std::string_view> args_;
  std::vector<object> inputs_;
  std::vector<schema::object_desc> listed_;  // inputs passed through the store; owns their names
  std::deque<std::string> names_;  // bucket/key storage of get() results
};

// Runs one invocation; the error text when it failed.
status invoke(const schema::dispatch& d, library_cache& libs, const segment& store, node_link& link) {
  auto fn = libs.find(d.library, d.function);
  if (!fn) return fn.error();
  context_impl ctx(d, store.base(), store.size(), link);
  try {
    (*fn)->fn(ctx);
    return {};
  } catch (const std::exception& e) {
    return status::internal(std::string(e.what()).substr(0, schema::max_error_text));
  } catch (...) {
    return status::internal("unknown exception (not derived from std::exception)");
  }
}

}  // namespace

status run_executor(const executor_options& opts) {
  auto store = segment::open(opts.store);
  if (!store) return store.error();
  auto ch = channel::open(opts.channel);
  if (!ch) return ch.error();
  (*store)->pretouch();  // page-table entries for the whole store before any work: off the hot path
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  node_link link(**ch, opts.doorbell);
  library_cache libs;
  link.send(schema::ready{static_cast<std::uint32_t>(::getpid()), sdk_abi_version});
  for (;;) {
    auto msg = link.receive();
    if (std::holds_alternative<schema::shutdown>(msg)) return {};
    auto* d = std::get_if<schema::dispatch>(&msg);
    TRAIL_ASSERT(d, "unexpected message from the node, index", msg.index());
    status st = invoke(*d, libs, **store, link);
    std::cout.flush();
    std::fflush(stdout);
    std::fflush(stderr);
    link.send(schema::complete{d->invocation, static_cast<std::uint16_t>(st.code()), st.message()});
  }
}

}  // namespace trail::shm
