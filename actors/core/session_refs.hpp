// Who keeps a session's name space open in a node's store.
//
// A node holds objects of a session for up to three reasons at once: it is
// the session's home; it runs work of the session for another home; an
// app-scoped trigger it owns imports objects of the session (several such
// imports may run). The store session (store::open_session) is opened by the
// first holder and released (store::release_session, which drops every name
// and the session's references) when the last one lets go — never earlier,
// never twice.
//
//   if (refs.acquire(s, holder::worker)) store.open_session(s);
//   if (refs.release(s, holder::worker)) store.release_session(s);
//
// Pure: it only counts. Releasing what is not held is a no-op (false).
#pragma once

#include <cstdint>
#include <unordered_map>

namespace trail::core {

class session_refs {
 public:
  enum class holder : std::uint8_t { home, worker, import };

  // True when the session had no holder before: open it in the store. A
  // home or a worker holds a session at most once (acquiring it again is a
  // no-op); imports count.
  bool acquire(std::uint64_t session, holder h);
  // True when that was the last holder: release it in the store.
  bool release(std::uint64_t session, holder h);
  bool holds(std::uint64_t session, holder h) const;
  bool open(std::uint64_t session) const { return sessions_.contains(session); }
  std::size_t size() const { return sessions_.size(); }

 private:
  struct holders {
    bool home = false, worker = false;
    std::uint32_t imports = 0;
    bool none() const { return !home && !worker && imports == 0; }
  };
  std::unordered_map<std::uint64_t, holders> sessions_;
};

}  // namespace trail::core
