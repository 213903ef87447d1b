// The rules `check` judges a scenario's history by (cmd/trail/scenario_check),
// on hand-made histories and traces: no processes, no clock.
#include "scenario_check.hpp"

#include <gtest/gtest.h>

namespace trail::cli::scenario {
namespace {

request_record done(std::uint64_t seq, std::uint64_t session, outcome how, std::string text = "") {
  request_record r;
  r.seq = seq;
  r.load = 1;
  r.app = "chain";
  r.session = session;
  r.how = how;
  (how == outcome::ok ? r.output : r.error) = std::move(text);
  return r;
}

load_history chain_load(std::vector<request_record> records) {
  load_history l;
  l.spec.app = "chain";
  l.spec.expect = "<HI>";
  l.records = std::move(records);
  return l;
}

verdict judge(const std::vector<load_history>& loads, const std::vector<injected_fault>& injected = {},
              double min_ok = 0) {
  verdict v;
  judge_history(loads, injected, {min_ok}, v);
  return v;
}

bool says(const verdict& v, const std::string& words) {
  for (auto& line : v.violations)
    if (line.find(words) != std::string::npos) return true;
  return false;
}

const injected_fault kill_n2{1000, "kill n2", false, false, ""};
const injected_fault kill_coordinator{1000, "kill coordinator", true, true, ""};

TEST(ScenarioCheck, AHistoryOfExpectedOutputsPasses) {
  auto v = judge({chain_load({done(1, 11, outcome::ok, "<HI>"), done(2, 12, outcome::ok, "<HI>")})});
  EXPECT_TRUE(v.ok()) << ::testing::PrintToString(v.violations);
  EXPECT_FALSE(v.verified.empty());
}

TEST(ScenarioCheck, AWrongOutputIsAViolation) {
  auto v = judge({chain_load({done(1, 11, outcome::ok, "<HI>"), done(2, 12, outcome::ok, "<HI><HI>")})});
  EXPECT_TRUE(says(v, "wrong output")) << ::testing::PrintToString(v.violations);
}

TEST(ScenarioCheck, TwoRequestsWithOneSessionIdAreAViolation) {
  auto v = judge({chain_load({done(1, 11, outcome::ok, "<HI>"), done(2, 11, outcome::ok, "<HI>")})});
  EXPECT_TRUE(says(v, "session ids given to two requests"));
}

TEST(ScenarioCheck, ARestartedCoordinatorMayNumberSessionsAgain) {
  auto before = done(1, 11, outcome::ok, "<HI>"), after = done(2, 11, outcome::ok, "<HI>");
  before.accepted_ms = 500, after.accepted_ms = 1500;
  auto v = judge({chain_load({before, after})}, {kill_coordinator});
  EXPECT_TRUE(v.ok()) << ::testing::PrintToString(v.violations);
  injected_fault stop{1000, "stop coordinator for 1s", true, false, ""};
  EXPECT_TRUE(says(judge({chain_load({before, after})}, {stop}), "session ids given to two requests"));
}

TEST(ScenarioCheck, FailuresNeedAFaultAndAClearError) {
  auto failing = chain_load({done(1, 11, outcome::ok, "<HI>"), done(2, 12, outcome::failed, "unavailable: node n2 died")});
  EXPECT_TRUE(says(judge({failing}), "no fault was injected"));
  EXPECT_TRUE(judge({failing}, {kill_n2}).ok());
  auto unclear = chain_load({done(1, 11, outcome::ok, "<HI>"), done(2, 12, outcome::failed, "")});
  EXPECT_TRUE(says(judge({unclear}, {kill_n2}), "without a clear error"));
}

TEST(ScenarioCheck, UnknownOutcomesNeedTheCoordinatorHit) {
  auto l = chain_load({done(1, 11, outcome::ok, "<HI>"), done(2, 12, outcome::unknown, "unavailable: request timed out")});
  EXPECT_TRUE(says(judge({l}, {kill_n2}), "outcome never came"));
  EXPECT_TRUE(judge({l}, {kill_coordinator}).ok());
}

TEST(ScenarioCheck, AFaultThatCouldNotBeInjectedExcusesNothing) {
  auto l = chain_load({done(1, 11, outcome::ok, "<HI>"), done(2, 12, outcome::failed, "internal error: boom")});
  injected_fault missed{1000, "kill n9", false, false, "not found: no process named 'n9'"};
  EXPECT_TRUE(says(judge({l}, {missed}), "no fault was injected"));
}

TEST(ScenarioCheck, ExpectedErrorsMustSayWhatWasExpected) {
  load_history l;
  l.spec.app = "faults";
  l.spec.expect_error = "timed out";
  l.records = {done(1, 11, outcome::failed, "internal error: act timed out after 1000 ms"),
               done(2, 12, outcome::failed, "internal error: act aborted")};
  EXPECT_TRUE(says(judge({l}), "another error than expected"));
  l.records.pop_back();
  EXPECT_TRUE(judge({l}).ok());
  l.records.push_back(done(3, 13, outcome::ok, "fine"));
  EXPECT_TRUE(says(judge({l}), "ended ok where a failure was expected"));
}

TEST(ScenarioCheck, TooFewExpectedOutcomesFailTheLoad) {
  auto l = chain_load({done(1, 0, outcome::rejected, "unavailable: cannot connect to 127.0.0.1:1"),
                       done(2, 12, outcome::ok, "<HI>")});
  EXPECT_TRUE(judge({l}, {kill_n2}).ok()) << "one expected outcome is the default minimum";
  EXPECT_TRUE(says(judge({l}, {kill_n2}, 0.8), "too few expected outcomes"));
  auto none = chain_load({done(1, 0, outcome::rejected, "unavailable: cannot connect to 127.0.0.1:1")});
  EXPECT_TRUE(says(judge({none}, {kill_n2}), "too few expected outcomes"));
}

nlohmann::json event(std::string function, std::uint64_t invocation, int attempt, std::string outcome,
                     std::vector<std::string> keys) {
  nlohmann::json inputs = nlohmann::json::array();
  for (auto& k : keys) inputs.push_back({{"bucket", "a"}, {"key", k}, {"size", 5}});
  return {{"function", function}, {"invocation", invocation}, {"attempt", attempt}, {"node", "n1"},
          {"outcome", outcome}, {"inputs", inputs}, {"outputs", nlohmann::json::array()}};
}

TEST(ScenarioCheck, ATriggerThatFiredTwiceShowsInItsTrace) {
  nlohmann::json trace{{"session", 7},
                       {"events", {event("first", 1, 0, "ok", {}), event("second", 2, 0, "ok", {"text"}),
                                   event("second", 3, 0, "ok", {"text"}), event("third", 4, 0, "ok", {"text"})}}};
  auto d = duplicate_fires(trace);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].find("second(a/text) ended ok 2 times"), std::string::npos) << d[0];
}

TEST(ScenarioCheck, ARetryAfterAFailedAttemptIsNoDuplicate) {
  nlohmann::json trace{{"session", 7},
                       {"events", {event("second", 2, 0, "failed", {"text"}), event("second", 2, 1, "ok", {"text"}),
                                   event("third", 4, 0, "ok", {"x"}), event("third", 5, 0, "ok", {"y"})}}};
  EXPECT_TRUE(duplicate_fires(trace).empty());
}

}  // namespace
}  // namespace trail::cli::scenario
