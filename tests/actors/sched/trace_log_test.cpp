#include "actors/sched/trace_log.hpp"

#include <gtest/gtest.h>

namespace trail::actors::sched {
namespace {

core::object_meta object(std::uint64_t session, std::string bucket, std::string key, std::uint64_t size) {
  return {session, std::move(bucket), std::move(key), 1, size};
}

TEST(TraceLog, RecordsASessionAndItsAttemptsWithTimesRelativeToItsStart) {
  trace_log log("n1");
  log.session_started(7, "chain", 1'000'000);
  log.attempt_started(7, 1, "first", 0, 0, {}, 1'000'010, 1'000'020);
  log.attempt_wrote(1, object(7, "mid", "k", 100));
  log.attempt_ended(1, "ok", 1'000'050);
  log.attempt_started(7, 2, "second", 0, 1, {object(7, "mid", "k", 100)}, 1'000'060, 1'000'070);
  log.attempt_ended(2, "ok", 1'000'090);
  log.session_ended(7, true, "", 1'000'100);

  auto part = log.part(7);
  ASSERT_TRUE(part);
  auto trace = merge_traces(7, {*part});
  ASSERT_TRUE(trace);
  EXPECT_EQ((*trace)["app"], "chain");
  EXPECT_EQ((*trace)["started_ms"], 1000);
  auto& ev = (*trace)["events"];
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]["function"], "first");
  EXPECT_EQ(ev[0]["queued_us"], 10);
  EXPECT_EQ(ev[0]["started_us"], 20);
  EXPECT_EQ(ev[0]["ended_us"], 50);
  EXPECT_EQ(ev[0]["outputs"][0]["bucket"], "mid");
  EXPECT_EQ(ev[0]["outputs"][0]["size"], 100);
  EXPECT_EQ(ev[1]["function"], "second");
  EXPECT_EQ(ev[1]["executor"], 1);
  EXPECT_EQ(ev[1]["inputs"][0]["key"], "k");
  EXPECT_EQ(ev[1]["node"], "n1");

  auto s = merge_session(7, {*part});
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)["state"], "ok");
  EXPECT_EQ((*s)["attempts"][1]["state"], "ok");
}

TEST(TraceLog, ListsSessionsNewestFirstAndFiltersByAppAndState) {
  trace_log log("n1");
  log.session_started(1, "a", 1000);
  log.session_started(2, "b", 2000);
  log.session_started(3, "a", 3000);
  log.session_ended(1, false, "boom", 4000);
  auto all = log.sessions({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]["id"], 3);
  EXPECT_EQ(log.sessions({.app = "a", .state = ""}).size(), 2u);
  auto failed = log.sessions({.app = "", .state = "failed"});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["error"], "boom");
  EXPECT_EQ(log.sessions({.app = "", .state = "running"}).size(), 2u);
  EXPECT_EQ(log.sessions({.app = "", .state = "", .limit = 1}).size(), 1u);
}

TEST(TraceLog, ForgetsTheOldestSessionsBeyondItsLimits) {
  trace_log log("n1", {.max_sessions = 2, .max_attempts = 1, .max_objects = 1});
  for (std::uint64_t s = 1; s <= 3; ++s) log.session_started(s, "a", 1000 * s);
  EXPECT_FALSE(log.part(1));
  EXPECT_TRUE(log.part(3));
  EXPECT_EQ(log.size(), 2u);
  log.attempt_started(3, 10, "f", 0, 0, {object(3, "b", "x", 1), object(3, "b", "y", 1)}, 3000, 3000);
  log.attempt_started(3, 11, "g", 0, 0, {}, 3000, 3000);  // over max_attempts: counted only
  auto p = *log.part(3);
  EXPECT_EQ(p["attempts"].size(), 1u);
  EXPECT_EQ(p["attempts_not_kept"], 1);
  EXPECT_EQ(p["attempts"][0]["inputs"].size(), 1u);
  EXPECT_EQ(p["attempts"][0]["objects_not_kept"], 1);
  log.attempt_ended(11, "ok", 4000);  // unknown attempt: ignored
  log.attempt_wrote(99, object(3, "b", "z", 1));
}

TEST(TraceLog, MergesTheHomeAndTheNodesThatRanForwardedWork) {
  trace_log home("n1"), worker("n2");
  home.session_started(5, "spread", 1'000'000);
  home.attempt_started(5, 1, "first", 0, 0, {}, 1'000'000, 1'000'010);
  home.attempt_ended(1, "ok", 1'000'020);
  home.attempt_started(5, 2, "second", 0, -1, {}, 1'000'030, 1'000'030);
  home.attempt_forwarded(2, "n2");
  home.attempt_started(5, 3, "third", 0, -1, {}, 1'000'100, 1'000'100);
  home.attempt_forwarded(3, "n3");  // n3 is gone: only the home's record is left
  worker.attempt_started(5, 40, "second", 0, 1, {}, 1'000'040, 1'000'050);
  worker.attempt_ended(40, "ok", 1'000'070);
  home.session_ended(5, true, "", 1'000'200);

  auto t = merge_traces(5, {*home.part(5), *worker.part(5)});
  ASSERT_TRUE(t);
  auto& ev = (*t)["events"];
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0]["function"], "first");
  EXPECT_EQ(ev[1]["function"], "second");
  EXPECT_EQ(ev[1]["node"], "n2");
  EXPECT_EQ(ev[1]["started_us"], 50);
  EXPECT_EQ(ev[2]["function"], "third");
  EXPECT_EQ(ev[2]["outcome"], "forwarded");
  EXPECT_EQ(ev[2]["forwarded_to"], "n3");
  EXPECT_EQ((*t)["node"], "n1");
  EXPECT_FALSE(merge_traces(6, {*home.part(5)}));
}

TEST(TraceLog, AFailedAttemptShowsItsError) {
  trace_log log("n1");
  log.session_started(1, "a", 1000);
  log.attempt_started(1, 1, "f", 0, 0, {}, 1000, 1000);
  log.attempt_ended(1, "function threw: bad", 2000);
  log.session_ended(1, false, "function 'f' failed: bad", 2000);
  auto s = *merge_session(1, {*log.part(1)});
  EXPECT_EQ(s["state"], "failed");
  EXPECT_EQ(s["attempts"][0]["state"], "failed");
  EXPECT_EQ(s["attempts"][0]["error"], "function threw: bad");
}

}  // namespace
}  // namespace trail::actors::sched
