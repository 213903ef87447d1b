#include <gtest/gtest.h>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

// A valid spec of every primitive.
std::vector<trigger_spec> valid_specs() {
  std::vector<trigger_spec> out;
  out.push_back(spec_of("immediate"));
  out.push_back(spec_of("by_name"));
  out.back().key = "k";
  out.push_back(spec_of("by_batch_size"));
  out.back().count = 2;
  out.push_back(spec_of("by_set"));
  out.back().keys = {"a", "b"};
  out.push_back(spec_of("by_time"));
  out.back().window_ms = 10;
  out.push_back(spec_of("redundant"));
  out.back().k = 1;
  out.back().n = 2;
  out.push_back(spec_of("dynamic_group"));
  out.push_back(spec_of("dynamic_join"));
  return out;
}

trigger_spec valid(const std::string& type) {
  for (auto& s : valid_specs())
    if (s.type == type) return s;
  ADD_FAILURE() << "no valid spec for " << type;
  return {};
}

// The error message of building `s`, which must fail with invalid_argument.
std::string error_of(const trigger_spec& s) {
  auto r = make_trigger(s);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  return r.error().message();
}

TEST(MakeTrigger, BuildsEveryPrimitive) {
  for (const auto& s : valid_specs()) {
    auto r = make_trigger(s);
    ASSERT_TRUE(r.ok()) << s.type << ": " << r.error().to_string();
    EXPECT_EQ((*r)->spec().type, s.type);
  }
}

TEST(MakeTrigger, AppScopeAllowedWhereDocumented) {
  for (auto s : valid_specs()) {
    s.sc = scope::app;
    const bool session_only =
        s.type == "by_set" || s.type == "dynamic_group" || s.type == "dynamic_join";
    EXPECT_EQ(make_trigger(s).ok(), !session_only) << s.type;
  }
}

TEST(MakeTrigger, RejectsAppScopeForSessionOnlyPrimitives) {
  for (const char* type : {"by_set", "dynamic_group", "dynamic_join"}) {
    auto s = valid(type);
    s.sc = scope::app;
    auto msg = error_of(s);
    EXPECT_NE(msg.find("scope \"app\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("session-only"), std::string::npos) << msg;
  }
}

TEST(MakeTrigger, RejectsUnknownTypeQuotingIt) {
  auto msg = error_of(spec_of("by_nmae"));
  EXPECT_NE(msg.find("\"by_nmae\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("by_name"), std::string::npos) << msg;  // lists the known types
}

TEST(MakeTrigger, RejectsEmptyTarget) {
  auto s = valid("immediate");
  s.target.clear();
  EXPECT_NE(error_of(s).find("target"), std::string::npos);
}

// Each bad parameter: the error names the parameter and quotes its value.
TEST(MakeTrigger, RejectsBadParametersNamingThem) {
  struct bad_case {
    trigger_spec spec;
    std::string param, value;
  };
  std::vector<bad_case> cases;
  auto add = [&](const std::string& type, auto mutate, std::string param, std::string value) {
    auto s = valid(type);
    mutate(s);
    cases.push_back({s, std::move(param), std::move(value)});
  };
  add("by_name", [](trigger_spec& s) { s.key = ""; }, "key", "\"\"");
  add("by_batch_size", [](trigger_spec& s) { s.count = 0; }, "count", "\"0\"");
  add("by_set", [](trigger_spec& s) { s.keys = {}; }, "keys", "[]");
  add("by_set", [](trigger_spec& s) { s.keys = {"a", "b", "a"}; }, "keys", "\"a\"");
  add("by_set", [](trigger_spec& s) { s.keys = {"a", ""}; }, "keys", "\"\"");
  add("by_time", [](trigger_spec& s) { s.window_ms = 0; }, "window_ms", "\"0\"");
  add("by_time", [](trigger_spec& s) { s.window_ms = ~0ULL; }, "window_ms",
      "\"" + std::to_string(~0ULL) + "\"");
  add("redundant", [](trigger_spec& s) { s.k = 0; }, "k", "\"0\"");
  add("redundant", [](trigger_spec& s) { s.k = 3; s.n = 2; }, "n", "\"2\"");
  add("dynamic_group", [](trigger_spec& s) { s.producers = 0; }, "producers", "\"0\"");
  for (const auto& c : cases) {
    auto msg = error_of(c.spec);
    EXPECT_NE(msg.find(c.param), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.value), std::string::npos) << msg;
    EXPECT_NE(msg.find("trigger \"t\" (" + c.spec.type + ")"), std::string::npos) << msg;
  }
}

TEST(MakeTrigger, ValidateAgreesWithMakeTrigger) {
  auto s = valid("by_batch_size");
  EXPECT_TRUE(validate(s).ok());
  s.count = 0;
  EXPECT_EQ(validate(s).code(), errc::invalid_argument);
}

TEST(Trigger, UnsupportedOperationsAreErrors) {
  auto t = make(valid("immediate"));
  std::vector<fire> out;
  EXPECT_EQ(t->announce(1, 1, t0(), out).code(), errc::invalid_argument);
  EXPECT_EQ(t->done(1, 1, t0(), out).code(), errc::invalid_argument);
  EXPECT_EQ(t->replica_failed(1).error().code(), errc::invalid_argument);
  EXPECT_TRUE(out.empty());
}

TEST(Trigger, AnnounceIsOnlyForDynamicTriggers) {
  for (const auto& s : valid_specs()) {
    auto t = make(s);
    std::vector<fire> out;
    const bool dynamic = s.type == "dynamic_group" || s.type == "dynamic_join";
    EXPECT_EQ(t->announce(1, 1, t0(), out).ok(), dynamic) << s.type;
  }
}

TEST(Trigger, NonTimedTriggersHaveNoDeadline) {
  for (const auto& s : valid_specs()) {
    if (s.type == "by_time") continue;
    auto t = make(s);
    (void)t->on_object(obj(1, "a", 1), t0());
    EXPECT_EQ(t->next_deadline(), std::nullopt) << s.type;
    EXPECT_TRUE(t->on_timer(t0() + 1h).empty()) << s.type;
    EXPECT_FALSE(t->waiting(1)) << s.type;
  }
}

}  // namespace
}  // namespace trail::core::test
