// The functional core of trail's trigger primitives (brief §2, issue 3 §1).
//
// A trigger is a plain object: objects, announcements, `done` calls and the
// current time go in; `fire` actions come out. No CAF, shared memory, threads
// or I/O inside: the bucket actor that owns a trigger carries the actions out
// and arms one node-level timer for `next_deadline()`.
//
// Threading: a trigger is not thread-safe; exactly one owner (its bucket
// actor) calls it, which is what makes "a satisfied condition fires exactly
// once" hold.
//
// Object references: `on_object_result::held` tells the caller that the
// trigger now refers to the object from its state. The caller keeps the
// object alive until the trigger hands it on in a `fire` (the fired
// invocation then holds it) or returns it from `end_session`. Objects that
// appear in a fire are handed on; objects neither held nor fired are not
// referred to by the trigger at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <trail/status.hpp>

namespace trail::core {

using time_point = std::chrono::steady_clock::time_point;
using session_id = std::uint64_t;

// Metadata of a sealed object; the bytes stay in the store.
struct object_meta {
  session_id session = 0;  // the session that produced the object
  std::string bucket;      // bucket the object landed in
  std::string key;         // unique within (session, bucket): the first seal wins
  std::uint64_t id = 0;    // store-wide object id
  std::uint64_t size = 0;  // payload size in bytes

  friend bool operator==(const object_meta&, const object_meta&) = default;
};

// Where a trigger keeps its state and where its firings run.
enum class scope {
  session,  // state per session; a firing runs in the object's session
  app,      // state shared by all sessions; every firing starts a new session
};

std::string_view to_string(scope sc);

// A trigger as written in the manifest. Only the parameters of `type` are
// read; the manifest layer rejects keys that do not belong to the type.
struct trigger_spec {
  std::string name;                      // optional; used in error messages
  std::string type;                      // one of the eight primitive names
  std::string target;                    // function to invoke; non-empty
  scope sc = scope::session;             // by_set and dynamic_* are session-only
  std::string key;                       // by_name: the key that fires
  std::uint64_t count = 0;               // by_batch_size: objects per batch, >= 1
  std::vector<std::string> keys;         // by_set: the set, non-empty, distinct
  std::uint64_t window_ms = 0;           // by_time: window length, >= 1
  std::uint32_t k = 0;                   // redundant: objects delivered per round
  std::uint32_t n = 0;                   // redundant: objects expected per round
  std::optional<std::uint32_t> producers;  // dynamic_group: fixed producer count, >= 1
};

// One invocation to start.
struct fire {
  std::string target;                 // function to invoke
  std::optional<session_id> session;  // run in this session; nullopt: start a new one
  std::vector<object_meta> inputs;    // in the order the primitive defines

  friend bool operator==(const fire&, const fire&) = default;
};

struct on_object_result {
  bool held = false;        // the trigger's state now refers to the object
  std::vector<fire> fires;  // invocations to start, in order
};

// The interface every primitive implements. Methods a primitive does not
// support return an invalid_argument status naming the trigger.
class trigger {
 public:
  explicit trigger(trigger_spec spec) : spec_(std::move(spec)) {}
  virtual ~trigger() = default;
  trigger(const trigger&) = delete;
  trigger& operator=(const trigger&) = delete;

  const trigger_spec& spec() const { return spec_; }

  // An object landed in the trigger's bucket at `now`. The caller feeds each
  // (session, bucket, key) at most once and `now` never goes backwards.
  virtual on_object_result on_object(const object_meta& o, time_point now) = 0;

  // The node timer went off: fire every condition due at `now` (by_time).
  virtual std::vector<fire> on_timer(time_point now);

  // Earliest time at which `on_timer` has something to fire; nullopt: none.
  virtual std::optional<time_point> next_deadline() const;

  // Session `s` announced `n` (dynamic_group: producers; dynamic_join:
  // objects). Once per session: the same n again is a no-op, a different n
  // is invalid_argument. Fires, if any, are appended to `out`.
  virtual status announce(session_id s, std::uint64_t n, time_point now,
                          std::vector<fire>& out);

  // Producer `producer` of session `s` is finished (dynamic_group). The
  // producer id is stable across retries, so a repeated call is a no-op.
  virtual status done(session_id s, std::uint64_t producer, time_point now,
                      std::vector<fire>& out);

  // A replica of session `s` ended without its object landing here
  // (redundant). REQUIRES: called at most once per such replica. Returns
  // whether the round can still deliver (or already delivered) its k objects.
  virtual result<bool> replica_failed(session_id s);

  // Session `s` ended: drop its state and return the objects the trigger
  // held for it, which the caller releases. App-scoped state is not tied to
  // sessions and survives (returns nothing).
  virtual std::vector<object_meta> end_session(session_id s) = 0;

  // True while the trigger will still fire in session `s` without any further
  // input (an open by_time window waiting for its timer). Partial state that
  // needs more objects, announcements or `done` calls does not count: those
  // can only come from work still running in the session. App-scoped
  // triggers never keep a session waiting.
  virtual bool waiting(session_id s) const;

  // What the trigger still waits for in session `s`, for people (`trail
  // session ID`), e.g. "2 of 4 objects of the batch"; empty: nothing (it
  // fires on each object, or holds nothing for `s`).
  virtual std::string waits_for(session_id s, time_point now) const;

 protected:
  // "trigger 'name' (type)" for error messages.
  std::string describe() const;
  // Where a firing for an object of session `s` runs.
  std::optional<session_id> fire_session(session_id s) const;
  fire make_fire(session_id s, std::vector<object_meta> inputs) const;

 private:
  trigger_spec spec_;
};

// Validates `spec` (type, target, parameters, scope) and builds the trigger.
// Errors are invalid_argument and name the parameter and quote its value.
result<std::unique_ptr<trigger>> make_trigger(const trigger_spec& spec);

// Just the validation of make_trigger.
status validate(const trigger_spec& spec);

}  // namespace trail::core
