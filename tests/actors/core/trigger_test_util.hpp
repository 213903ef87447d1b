// Helpers shared by the trigger core tests: specs, objects, a fake time line,
// seeds for the randomized tests, and a checker of the reference contract.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "actors/core/trigger.hpp"

namespace trail::core {

// Readable gtest failure output.
inline void PrintTo(const object_meta& o, std::ostream* os) {
  *os << "{s" << o.session << " " << o.key << " #" << o.id << "}";
}

inline void PrintTo(const fire& f, std::ostream* os) {
  *os << "fire{" << f.target << " session=";
  if (f.session) *os << *f.session;
  else *os << "new";
  *os << " [";
  for (const auto& o : f.inputs) PrintTo(o, os);
  *os << "]}";
}

}  // namespace trail::core

namespace trail::core::test {

using namespace std::chrono_literals;

// A fixed origin for fake time; tests advance it by hand.
inline time_point t0() {
  return time_point{} + 1h;
}

inline trigger_spec spec_of(std::string type, scope sc = scope::session) {
  trigger_spec s;
  s.name = "t";
  s.type = std::move(type);
  s.target = "f";
  s.sc = sc;
  return s;
}

// Builds a trigger from a spec that must be valid.
inline std::unique_ptr<trigger> make(const trigger_spec& s) {
  auto r = make_trigger(s);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(r).value() : nullptr;
}

inline object_meta obj(session_id s, std::string key, std::uint64_t id) {
  return object_meta{s, "b", std::move(key), id, 16};
}

inline fire fire_of(std::optional<session_id> s, std::vector<object_meta> inputs) {
  return fire{"f", s, std::move(inputs)};
}

// Seed for a randomized test: $TRAIL_SEED if set, else random. Printed so a
// failure can be replayed with TRAIL_SEED=<seed>.
inline std::uint64_t test_seed() {
  const char* env = std::getenv("TRAIL_SEED");
  const std::uint64_t seed = env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::cout << "[ seed     ] TRAIL_SEED=" << seed << "\n";
  return seed;
}

// Follows which objects the trigger holds and checks the reference contract:
// a fire only hands on the new object or held ones, each at most once;
// end_session returns exactly the held objects of that session (session
// scope) or nothing (app scope).
class holdings {
 public:
  void on_result(const object_meta& o, const on_object_result& r) {
    for (const auto& f : r.fires) on_fires({f}, &o);
    if (!r.held) return;
    EXPECT_TRUE(held_.emplace(o.id, o).second) << "object held twice: " << o.id;
    for (const auto& f : r.fires)
      for (const auto& in : f.inputs) EXPECT_NE(in.id, o.id) << "object both held and fired";
  }

  void on_fires(const std::vector<fire>& fires, const object_meta* incoming = nullptr) {
    for (const auto& f : fires)
      for (const auto& in : f.inputs) {
        if (incoming && in.id == incoming->id) continue;
        EXPECT_EQ(held_.erase(in.id), 1u) << "fired an object the trigger did not hold: " << in.id;
      }
  }

  void on_end(session_id s, const std::vector<object_meta>& released) {
    for (const auto& o : released) {
      EXPECT_EQ(o.session, s);
      EXPECT_EQ(held_.erase(o.id), 1u) << "released an object not held: " << o.id;
    }
  }

  std::size_t held_in(session_id s) const {
    std::size_t n = 0;
    for (const auto& [id, o] : held_) n += o.session == s ? 1 : 0;
    return n;
  }

  std::size_t size() const { return held_.size(); }

 private:
  std::map<std::uint64_t, object_meta> held_;  // id -> object
};

}  // namespace trail::core::test
