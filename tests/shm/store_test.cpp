#include "shm/store.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace trail::shm {
namespace {

std::unique_ptr<store> make_store(std::uint64_t capacity = 4 << 20) {
  auto s = store::create({capacity, "test_store", false});
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  return std::move(*s);
}

object_id put(store& st, session_id s, const std::string& key, std::string_view bytes) {
  auto id = st.create_object(s, "b", key, bytes.size());
  EXPECT_TRUE(id.ok()) << id.error().to_string();
  std::memcpy(st.data(*st.info(*id)), bytes.data(), bytes.size());
  auto r = st.seal(*id, bytes.size());
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r->id;
}

TEST(Store, LifecycleCreatedSealedReleased) {
  auto st = make_store();
  st->open_session(1);
  auto id = st->create_object(1, "b", "k", 100);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(st->info(*id)->state, object_state::created);
  EXPECT_FALSE(st->find(1, "b", "k")) << "a created object is not visible by name";
  std::memcpy(st->data(*st->info(*id)), "hello", 5);
  auto r = st->seal(*id, 5);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->fresh);
  EXPECT_EQ(st->info(*id)->state, object_state::sealed);
  EXPECT_EQ(st->find(1, "b", "k"), *id);
  EXPECT_EQ(std::string_view(reinterpret_cast<char*>(st->data(*st->info(*id))), 5), "hello");
  EXPECT_FALSE(st->seal(*id, 5).ok()) << "sealed objects are immutable";
  st->release_session(1);
  EXPECT_EQ(st->info(*id), nullptr);
  EXPECT_EQ(st->used_bytes(), 0u);
}

TEST(Store, EachHolderKeepsTheObjectAlive) {
  auto st = make_store();
  st->open_session(1);
  object_id id = put(*st, 1, "k", "data");
  st->retain(id);  // a trigger
  st->retain(id);  // an invocation
  st->release_session(1);
  ASSERT_NE(st->info(id), nullptr);
  EXPECT_FALSE(st->find(1, "b", "k")) << "the session's names are gone";
  st->release(id);
  ASSERT_NE(st->info(id), nullptr);
  st->release(id);
  EXPECT_EQ(st->info(id), nullptr);
  EXPECT_EQ(st->used_bytes(), 0u);
}

TEST(Store, FirstSealWins) {
  auto st = make_store();
  st->open_session(1);
  object_id first = put(*st, 1, "k", "first");
  auto again = st->create_object(1, "b", "k", 6);
  ASSERT_TRUE(again.ok());
  auto r = st->seal(*again, 6);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->fresh);
  EXPECT_EQ(r->id, first);
  EXPECT_EQ(st->object_count(), 1u) << "the loser's bytes are freed";
  st->release_session(1);
  EXPECT_EQ(st->used_bytes(), 0u);
}

TEST(Store, SameKeyInAnotherSessionIsAnotherObject) {
  auto st = make_store();
  st->open_session(1);
  st->open_session(2);
  object_id a = put(*st, 1, "k", "one");
  object_id b = put(*st, 2, "k", "two");
  EXPECT_NE(a, b);
  st->release_session(1);
  EXPECT_EQ(st->find(2, "b", "k"), b);
  st->release_session(2);
}

TEST(Store, AnAliasSharesTheBytesAndOutlivesTheSessionThatSealedThem) {
  auto st = make_store();
  st->open_session(1);
  st->open_session(9);  // the app's scope
  object_id id = put(*st, 1, "k", "result");
  auto a = st->alias(id, 9);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_TRUE(a->fresh);
  EXPECT_EQ(a->id, id);
  EXPECT_EQ(st->find(9, "b", "k"), id);
  EXPECT_EQ(st->object_count(), 1u) << "one set of bytes, two names";
  st->release_session(1);
  ASSERT_NE(st->info(id), nullptr) << "the alias holds a reference of its own";
  EXPECT_EQ(std::string_view(reinterpret_cast<char*>(st->data(*st->info(id))), 6), "result");
  st->release_session(9);
  EXPECT_EQ(st->info(id), nullptr);
  EXPECT_EQ(st->used_bytes(), 0u);
}

TEST(Store, TheFirstNameInAnAliasedSessionWins) {
  auto st = make_store();
  st->open_session(1);
  st->open_session(2);
  st->open_session(9);
  object_id first = put(*st, 1, "k", "first");
  object_id second = put(*st, 2, "k", "second");
  ASSERT_TRUE(st->alias(first, 9).ok());
  auto again = st->alias(second, 9);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->fresh);
  EXPECT_EQ(again->id, first);
  EXPECT_FALSE(st->alias(first, 3).ok()) << "session 3 is not open";
  st->release_session(2);
  EXPECT_EQ(st->info(second), nullptr) << "a losing alias took no reference";
  st->release_session(1);
  st->release_session(9);
  EXPECT_EQ(st->used_bytes(), 0u);
}

TEST(Store, SealAfterSessionEndDropsTheObject) {
  auto st = make_store();
  st->open_session(1);
  auto id = st->create_object(1, "b", "k", 10);
  ASSERT_TRUE(id.ok());
  st->release_session(1);
  auto r = st->seal(*id, 10);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::not_found);
  EXPECT_EQ(st->object_count(), 0u);
  EXPECT_EQ(st->used_bytes(), 0u);
}

TEST(Store, SealReturnsUnusedCapacity) {
  auto st = make_store();
  st->open_session(1);
  auto id = st->create_object(1, "b", "k", 1 << 20);
  ASSERT_TRUE(id.ok());
  EXPECT_GE(st->used_bytes(), 1u << 20);
  ASSERT_TRUE(st->seal(*id, 3).ok());
  EXPECT_EQ(st->used_bytes(), 64u);
  st->release_session(1);
}

TEST(Store, FullStoreIsOverloadedWithAClearMessage) {
  auto st = make_store(1 << 20);
  st->open_session(1);
  auto a = st->create_object(1, "b", "a", 700 << 10);
  ASSERT_TRUE(a.ok());
  auto b = st->create_object(1, "b", "b", 700 << 10);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), errc::overloaded);
  EXPECT_NE(b.error().message().find("store full"), std::string::npos) << b.error().message();
  st->release(*a);
  EXPECT_TRUE(st->create_object(1, "b", "b", 700 << 10).ok()) << "space comes back";
}

TEST(Store, OversizeObjectIsInvalidWithAClearMessage) {
  auto st = make_store(1 << 20);
  st->open_session(1);
  auto r = st->create_object(1, "b", "k", 2 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find("exceeds the store's capacity"), std::string::npos);
}

TEST(Store, TenThousandSessionsReleaseEverything) {
  auto st = make_store(8 << 20);
  const std::uint64_t start = st->used_bytes();
  for (session_id s = 1; s <= 10000; ++s) {
    st->open_session(s);
    object_id a = put(*st, s, "a", std::string(s % 5000, 'x'));
    put(*st, s, "b", "small");
    put(*st, s, "a", "duplicate loses");
    if (s % 3 == 0) {
      st->retain(a);  // held past the session by a trigger, then let go
      st->release_session(s);
      st->release(a);
    } else {
      st->release_session(s);
    }
  }
  EXPECT_EQ(st->used_bytes(), start);
  EXPECT_EQ(st->object_count(), 0u);
  EXPECT_EQ(st->session_count(), 0u);
}

TEST(ParseSize, SuffixesAndErrors) {
  EXPECT_EQ(*parse_size("512M"), 512ull << 20);
  EXPECT_EQ(*parse_size("64k"), 64ull << 10);
  EXPECT_EQ(*parse_size("2G"), 2ull << 30);
  EXPECT_EQ(*parse_size("1GiB"), 1ull << 30);
  EXPECT_EQ(*parse_size("4096"), 4096u);
  for (const char* bad : {"", "M", "12X", "-5", "0", "99999999999G"}) {
    auto r = parse_size(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find(std::string("'") + bad + "'"), std::string::npos);
  }
}

}  // namespace
}  // namespace trail::shm
