// trail's one error vocabulary, grouped by what the caller should do.
//
// Used by every layer below the actors (schema/, shm/, the pure cores) and by
// the client library. No exceptions for control flow: functions that can fail
// return `status` or `result<T>`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace trail {

// What the caller should do about a failure.
enum class errc : std::uint8_t {
  ok = 0,
  invalid_argument,  // fix the request; retrying the same request fails again
  not_found,         // the named thing (app, function, object, session) does not exist
  overloaded,        // back off and retry later (full store, queue limits)
  unavailable,       // a peer is gone or not reachable; retry elsewhere or later
  internal,          // a bug or an unexpected system failure
  cancelled,         // a client or an operator cancelled it; retrying starts it again
  deadline_exceeded, // it ran out of time; retry with a longer deadline, or look at what is slow
  app_error,         // the app's own code failed it (a function threw, crashed, timed out or
                     // misused the SDK after its retries, or the session ended without
                     // output); fix the app, retrying the same input fails again
};

// The highest code: a code read off the wire above it is not one of ours.
inline constexpr errc last_errc = errc::app_error;

constexpr std::string_view to_string(errc c) {
  switch (c) {
    case errc::ok: return "ok";
    case errc::invalid_argument: return "invalid argument";
    case errc::not_found: return "not found";
    case errc::overloaded: return "overloaded";
    case errc::unavailable: return "unavailable";
    case errc::internal: return "internal error";
    case errc::cancelled: return "cancelled";
    case errc::deadline_exceeded: return "deadline exceeded";
    case errc::app_error: return "app error";
  }
  return "unknown";
}

// Outcome of an operation: ok, or a code with a human-readable message.
class [[nodiscard]] status {
 public:
  status() = default;  // ok
  status(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static status ok_status() { return {}; }
  static status invalid(std::string m) { return {errc::invalid_argument, std::move(m)}; }
  static status not_found(std::string m) { return {errc::not_found, std::move(m)}; }
  static status overloaded(std::string m) { return {errc::overloaded, std::move(m)}; }
  static status unavailable(std::string m) { return {errc::unavailable, std::move(m)}; }
  static status internal(std::string m) { return {errc::internal, std::move(m)}; }
  static status cancelled(std::string m) { return {errc::cancelled, std::move(m)}; }
  static status deadline_exceeded(std::string m) { return {errc::deadline_exceeded, std::move(m)}; }
  static status app_error(std::string m) { return {errc::app_error, std::move(m)}; }

  // The same failure, told with what was being done: s.prefixed("put of b/k")
  // is "put of b/k: " + s.message(), with s's code. Ok stays ok.
  status prefixed(const std::string& what) const {
    return ok() ? status{} : status{code_, what + ": " + message_};
  }

  bool ok() const { return code_ == errc::ok; }
  explicit operator bool() const { return ok(); }
  errc code() const { return code_; }
  const std::string& message() const { return message_; }

  // "overloaded: store full (...)" — for logs and user-facing errors.
  std::string to_string() const {
    if (ok()) return "ok";
    return std::string(trail::to_string(code_)) + ": " + message_;
  }

 private:
  errc code_ = errc::ok;
  std::string message_;
};

// A value or the status explaining why there is none.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  result(status s) : v_(std::move(s)) {}     // NOLINT: REQUIRES: !s.ok()

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The failure; ok status when a value is held.
  status error() const { return ok() ? status{} : std::get<1>(v_); }

 private:
  std::variant<T, status> v_;
};

}  // namespace trail
