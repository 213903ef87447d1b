// The trail function SDK: the whole contract user code compiles against.
//
// A function library needs nothing but this header:
//   g++ -std=c++20 -shared -fPIC -I include f.cpp -o libf.so
// There is no link-time dependency on trail: the executor process implements
// `trail::context` and hands it to the function. Everything here is inline or
// a virtual call, so its layout is the ABI; `sdk_abi_version` names it and the
// executor refuses a library built against another version.
//
//   TRAIL_FUNCTION(split)(trail::context& ctx) {
//     for (const trail::object& in : ctx.inputs()) { std::string_view s = in.str(); }
//     ctx.put("words", "part-0", "bytes");
//     ctx.output("done");
//   }
//
// Failure = an exception escaping the function; its what() becomes the
// invocation's error text and the platform may re-run the function. Side
// effects outside trail are therefore at-least-once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace trail {

// Bump whenever anything in this header changes layout or virtual order.
inline constexpr std::uint32_t sdk_abi_version = 1;

// Thrown by context operations that cannot be carried out (store full, object
// too large, bad bucket name, ...). Letting it escape fails the invocation.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A sealed, immutable object: a view of bytes in the node's shared-memory
// store. Valid until the function returns; copying an `object` copies the view,
// never the bytes.
class object {
 public:
  object() = default;
  // For the runtime: `data` points into the store and outlives the invocation.
  object(std::string_view bucket, std::string_view key, const std::byte* data, std::size_t size)
      : bucket_(bucket), key_(key), data_(data), size_(size) {}

  std::string_view str() const { return {reinterpret_cast<const char*>(data_), size_}; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::string_view bucket() const { return bucket_; }
  std::string_view key() const { return key_; }

 private:
  std::string_view bucket_;
  std::string_view key_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// A new object being written in place in the store: write up to capacity()
// bytes at data(), set the final size with resize(), then ctx.send() it.
// Move-only; an unsent writer's space is reclaimed when the invocation ends.
class object_writer {
 public:
  object_writer() = default;
  // For the runtime: `data` points at `capacity` writable bytes in the store;
  // `handle` is the runtime's name for the reservation.
  object_writer(std::string bucket, std::string key, char* data, std::size_t capacity,
                std::uint64_t handle)
      : bucket_(std::move(bucket)), key_(std::move(key)), data_(data),
        capacity_(capacity), handle_(handle) {}

  object_writer(object_writer&& o) noexcept { swap(o); }
  object_writer& operator=(object_writer&& o) noexcept {
    object_writer(std::move(o)).swap(*this);
    return *this;
  }
  object_writer(const object_writer&) = delete;
  object_writer& operator=(const object_writer&) = delete;
  ~object_writer() = default;

  char* data() { return data_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t size() const { return size_; }
  // Sets the object's final size. Throws trail::error beyond capacity().
  void resize(std::size_t n) {
    if (n > capacity_)
      throw error("object_writer::resize(" + std::to_string(n) + ") exceeds capacity " +
                  std::to_string(capacity_));
    size_ = n;
  }
  std::string_view bucket() const { return bucket_; }
  std::string_view key() const { return key_; }
  // For the runtime. A moved-from writer has a null data() and capacity 0.
  std::uint64_t handle() const { return handle_; }

 private:
  void swap(object_writer& o) noexcept {
    std::swap(bucket_, o.bucket_), std::swap(key_, o.key_), std::swap(data_, o.data_);
    std::swap(capacity_, o.capacity_), std::swap(size_, o.size_);
    std::swap(handle_, o.handle_);
  }

  std::string bucket_;
  std::string key_;
  char* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
  std::uint64_t handle_ = 0;
};

// What a running function sees of the platform. Implemented by the executor;
// one context per invocation, valid only during the call. Not thread-safe.
class context {
 public:
  // Arguments of the invocation (the entry function's command-line args).
  virtual std::span<const std::string_view> args() const = 0;
  // The objects that fired the trigger, in the trigger's order.
  virtual std::span<const object> inputs() const = 0;
  // Reserves `capacity` bytes in the store for (bucket, key) in this session.
  // Throws trail::error when the store cannot hold it (after a bounded wait).
  virtual object_writer create(std::string_view bucket, std::string_view key,
                               std::size_t capacity) = 0;
  // Seals the object and publishes it: the bucket's triggers see it. The
  // first seal of a (session, bucket, key) wins; later ones are ignored.
  virtual void send(object_writer&& w) = 0;
  // Any sealed object of this session, or nullopt.
  virtual std::optional<object> get(std::string_view bucket, std::string_view key) = 0;
  // The app's output. The first output of a session completes it.
  virtual void output(std::string_view bytes) = 0;
  // Tells the bucket's dynamic trigger how many objects (dynamic_join) or
  // producers (dynamic_group) to expect in this session.
  virtual void announce(std::string_view bucket, std::uint64_t n) = 0;
  // This producer of the bucket's dynamic_group is finished.
  virtual void done(std::string_view bucket) = 0;
  // Identity of this invocation, for logs.
  virtual std::uint64_t session() const = 0;
  virtual std::string_view function() const = 0;
  virtual std::uint32_t attempt() const = 0;

  // create + copy + send, for small data.
  void put(std::string_view bucket, std::string_view key, std::string_view bytes) {
    object_writer w = create(bucket, key, bytes.size());
    if (!bytes.empty()) std::memcpy(w.data(), bytes.data(), bytes.size());
    w.resize(bytes.size());
    send(std::move(w));
  }

 protected:
  context() = default;
  ~context() = default;
};

// What TRAIL_FUNCTION exports. `abi_version` stays the first member in every
// version so that the executor can check it before touching anything else.
struct function_entry {
  std::uint32_t abi_version;
  const char* name;
  void (*fn)(context&);
};

}  // namespace trail

// Defines an exported function `name` taking `trail::context&`:
//   TRAIL_FUNCTION(count)(trail::context& ctx) { ... }
// Exports the C symbol `trail_function_<name>` returning the entry.
#define TRAIL_FUNCTION(name)                                                       \
  static void trail_body_##name(::trail::context&);                                \
  extern "C" __attribute__((visibility("default"))) const ::trail::function_entry* \
  trail_function_##name() {                                                        \
    static const ::trail::function_entry entry{::trail::sdk_abi_version, #name,   \
                                               &trail_body_##name};                \
    return &entry;                                                                 \
  }                                                                                \
  static void trail_body_##name
