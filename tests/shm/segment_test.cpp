#include "shm/segment.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <filesystem>

namespace bip = boost::interprocess;

namespace trail::shm {
namespace {

bool exists(const std::string& name) { return std::filesystem::exists("/dev/shm/" + name); }

// The identity of a process that has exited and been reaped.
process_identity dead_process() {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[1]);
    char c;
    [[maybe_unused]] auto n = ::read(fds[0], &c, 1);  // wait until the parent read our identity
    ::_exit(0);
  }
  process_identity id = identity_of(pid);
  EXPECT_NE(id.start_time, 0u);
  ::close(fds[0]);
  ::close(fds[1]);  // EOF releases the child
  int st;
  ::waitpid(pid, &st, 0);
  EXPECT_EQ(identity_of(pid).start_time == id.start_time, false) << "reaped process still alive?";
  return id;
}

void make_raw_segment(const std::string& name) {
  bip::shared_memory_object shm(bip::create_only, name.c_str(), bip::read_write);
  shm.truncate(4096);
}

TEST(Segment, CreatorRemovesItOnDestruction) {
  std::string name;
  {
    auto seg = segment::create("unit", 1 << 20);
    ASSERT_TRUE(seg.ok()) << seg.error().to_string();
    name = (*seg)->name();
    EXPECT_TRUE(exists(name));
    process_identity owner;
    ASSERT_TRUE(parse_owner(name, owner));
    EXPECT_EQ(owner.pid, ::getpid());
    EXPECT_EQ(owner.start_time, self_identity().start_time);
  }
  EXPECT_FALSE(exists(name));
}

TEST(Segment, OpenerSeesTheSameBytes) {
  auto seg = segment::create("unit", 1 << 16);
  ASSERT_TRUE(seg.ok());
  std::memcpy((*seg)->base() + 100, "shared", 6);
  auto other = segment::open((*seg)->name());
  ASSERT_TRUE(other.ok()) << other.error().to_string();
  EXPECT_EQ(std::memcmp((*other)->base() + 100, "shared", 6), 0);
  EXPECT_FALSE((*other)->owner());
  other->reset();
  EXPECT_TRUE(exists((*seg)->name())) << "an opener never removes the segment";
}

TEST(Segment, OpeningAMissingSegmentIsNotFound) {
  auto r = segment::open("trail-0-0-0-nothing_here");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::not_found);
}

TEST(Segment, PretouchChangesNoByte) {
  auto seg = segment::create("unit", 8 << 20);
  ASSERT_TRUE(seg.ok());
  std::memset((*seg)->base(), 0x5a, 8 << 20);
  (*seg)->pretouch();
  for (std::size_t i = 0; i < (8u << 20); i += 4096) ASSERT_EQ((*seg)->base()[i], std::byte{0x5a});
}

TEST(Segment, StaleSegmentsOfADeadOwnerAreRemovedALiveOwnersKept) {
  process_identity dead = dead_process();
  std::string stale = segment_name(dead, 1, "stale_test");
  std::string live = segment_name(self_identity(), 999999, "live_test");
  make_raw_segment(stale);
  make_raw_segment(live);
  // Same pid as a live process but another start time: a recycled pid.
  std::string recycled = segment_name({::getpid(), self_identity().start_time + 1}, 1, "recycled");
  make_raw_segment(recycled);
  EXPECT_GE(remove_stale_segments(), 2);
  EXPECT_FALSE(exists(stale));
  EXPECT_FALSE(exists(recycled));
  EXPECT_TRUE(exists(live));
  bip::shared_memory_object::remove(live.c_str());
}

// A process that exited but was not reaped yet (a zombie) is gone too: its
// segments have no user left. (A node SIGKILLed under a parent that reaps
// late kept its segments past the next node's start.)
TEST(Segment, SegmentsOfAnExitedButUnreapedOwnerAreStale) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::pause();  // until SIGKILLed
    ::_exit(0);
  }
  process_identity child = identity_of(pid);
  ASSERT_NE(child.start_time, 0u);
  std::string name = segment_name(child, 1, "zombie_test");
  make_raw_segment(name);
  ::kill(pid, SIGKILL);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);  // exited, left unreaped
  EXPECT_EQ(identity_of(pid).start_time, 0u) << "a zombie counted as alive";
  remove_stale_segments();
  EXPECT_FALSE(exists(name));
  int st;
  ::waitpid(pid, &st, 0);
  bip::shared_memory_object::remove(name.c_str());
}

TEST(Segment, NamesAreUniquePerCall) {
  auto a = segment::create("same", 4096);
  auto b = segment::create("same", 4096);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->name(), (*b)->name());
}

TEST(Segment, ParseOwnerRejectsForeignNames) {
  process_identity o;
  EXPECT_FALSE(parse_owner("sem.foo", o));
  EXPECT_FALSE(parse_owner("trail-abc-1-x", o));
  EXPECT_FALSE(parse_owner("trail-12", o));
  EXPECT_TRUE(parse_owner("trail-12-34-0-x", o));
  EXPECT_EQ(o.pid, 12);
  EXPECT_EQ(o.start_time, 34u);
}

}  // namespace
}  // namespace trail::shm
