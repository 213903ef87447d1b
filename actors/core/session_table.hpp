// Session lifecycle on one node (issue 3 §2): follows every session and
// decides when it ends. A pure core: no CAF, threads or I/O; time is an input.
//
// A session ends exactly once, for the first of:
//   - output:   its first ctx.output (even while work is still running);
//   - failed:   fail() (retries exhausted, a client cancelled), its deadline
//               passed, or an invoked session went quiet without output
//               ("no output");
//   - quiet:    an app-triggered session went quiet without output (not an
//               error; it simply ends).
// "Quiet" means: work_added was called at least once, every work_added has
// its work_done, and no bucket reports that it is waiting for the session.
// A freshly started session is never quiet before its first work_added (the
// caller adds the entry invocation right after start); until then only its
// deadline can end it.
//
// When a decision is made: output() and fail() end a session at once.
// Quiet and deadline are judged only by collect(now), so a caller may apply
// all updates of one message in any order (e.g. "invocation done" before
// "its sends are in flight") and call collect once afterwards. If a session
// is both quiet and past its deadline at collect, quiet wins: it finished
// its work, the late check is the caller's.
//
// After a session ended, every call naming it (work_added, work_done,
// set_waiting, output, fail) is a no-op; so are calls naming an unknown id.
// Ended sessions are reported once by collect and then forgotten, after which
// the id may be started again.
//
// Threading: not thread-safe; one owner (the session tracker actor) calls it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <trail/status.hpp>

#include "actors/core/trigger.hpp"

namespace trail::core {

// Who started a session; decides what going quiet without output means.
enum class session_origin {
  invoked,      // by a client (trail invoke): quiet without output fails it
  app_trigger,  // by an app-scoped trigger firing: quiet without output ends it
};

// Per-node session limits. Limits count live (not yet ended) sessions.
struct session_limits {
  std::uint32_t per_app = 1024;               // live sessions per app
  std::uint32_t per_node = 8192;              // live sessions on the node
  std::chrono::milliseconds deadline{60000};  // default session deadline, > 0
};

// How and why a session ended; reported once by collect().
struct session_end {
  session_id session = 0;
  std::string app;
  enum class kind {
    output,  // its first ctx.output
    failed,  // see `error`
    quiet,   // an app-triggered session went quiet without output
  } how = kind::failed;
  std::uint64_t output_object = 0;  // kind::output: the output object's id
  std::string error;                // kind::failed: "no output", "deadline of N ms
                                    // exceeded", "cancelled: ...", a function's error
  errc code = errc::ok;             // kind::failed: what kind of failure (never ok)

  friend bool operator==(const session_end&, const session_end&) = default;
};

class session_table {
 public:
  // Longest session deadline accepted (keeps `now + deadline` far from overflow).
  static constexpr std::chrono::milliseconds max_deadline{365LL * 24 * 3600 * 1000};

  explicit session_table(session_limits limits = {});

  // Starts following session `s` of `app`; its deadline is `now + deadline`
  // (default: limits.deadline). Errors: overloaded when the app or the node
  // is at its limit of live sessions; invalid_argument if `s` is in use
  // (live, or ended and not yet collected) or the deadline is not in
  // 1 ms..max_deadline.
  status start(session_id s, std::string_view app, session_origin origin, time_point now,
               std::optional<std::chrono::milliseconds> deadline = {});

  // Started and not ended. A session that went quiet or passed its deadline
  // stays live until the collect() that ends it.
  bool live(session_id s) const;

  // Work accounting: anything that can still produce data in the session —
  // an invocation queued or running, an event in flight to a bucket actor.
  void work_added(session_id s);
  // REQUIRES (for a live session): a matching work_added.
  void work_done(session_id s);

  // Bucket `bucket` reports whether one of its triggers still waits for
  // something in session `s` (e.g. an open by_time window). The last report
  // per bucket counts.
  void set_waiting(session_id s, std::string_view bucket, bool waiting);

  // ctx.output: true if this was the first output, which ends the session;
  // later outputs (or outputs of ended/unknown sessions) return false.
  bool output(session_id s, std::uint64_t object);

  // Ends a live session as failed with `why` (never ok); no-op otherwise.
  void fail(session_id s, status why);

  // Ends quiet sessions and those whose deadline is <= now, and returns
  // every session that ended since the last collect, in ascending id order.
  // Each is returned exactly once, then forgotten.
  std::vector<session_end> collect(time_point now);

  // Earliest deadline among live sessions; nullopt if none (one timer).
  std::optional<time_point> next_deadline() const;

  std::size_t in_flight() const { return live_; }  // live sessions
  std::size_t in_flight(std::string_view app) const;

 private:
  struct entry {
    std::string app;
    session_origin origin = session_origin::invoked;
    std::chrono::milliseconds budget{};  // this session's deadline length
    time_point deadline{};
    std::uint64_t work = 0;                      // work_added minus work_done
    bool worked = false;                         // work_added was called at least once
    std::set<std::string, std::less<>> waiting;  // buckets waiting for it
    std::optional<session_end> end;              // set once ended; then not live
  };

  status admit(std::string_view app) const;
  entry* find_live(session_id s);
  static bool quiet(const entry& e);
  static session_end quiet_end(session_id s, const entry& e);
  static session_end deadline_end(session_id s, const entry& e);
  void end(session_id s, entry& e, session_end how);

  session_limits limits_;
  std::unordered_map<session_id, entry> sessions_;         // live and ended-uncollected
  std::set<std::pair<time_point, session_id>> deadlines_;  // live sessions only
  std::set<session_id> maybe_quiet_;                       // live sessions to check at collect
  std::set<session_id> ended_;                             // ended, not yet collected
  std::map<std::string, std::size_t, std::less<>> live_per_app_;  // no zero entries
  std::size_t live_ = 0;
};

}  // namespace trail::core
