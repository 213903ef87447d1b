#include "shm/segment.hpp"

#include <atomic>

#include <dirent.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

namespace bip = boost::interprocess;

namespace trail::shm {
namespace {

std::atomic<std::uint64_t> next_seq{0};

std::string sanitize(std::string_view tag) {
  std::string out(tag);
  for (char& c : out)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) c = '_';
  return out.empty() ? "seg" : out;
}

// Maps the whole of `shm` read-write and shared; nullptr on failure.
std::byte* map_whole(const bip::shared_memory_object& shm, std::uint64_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, shm.get_mapping_handle().handle, 0);
  return p == MAP_FAILED ? nullptr : static_cast<std::byte*>(p);
}

}  // namespace

// -- process identity -----------------------------------------------------------

process_identity identity_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {pid, 0};
  // Field 2 (comm) may contain spaces and parentheses: fields resume after
  // the last ')'. starttime is field 22, i.e. the 20th after comm.
  auto close = line.rfind(')');
  if (close == std::string::npos) return {pid, 0};
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 3 && (field == "Z" || field == "X")) return {pid, 0};  // exited, not yet reaped
    if (i == 22) return {pid, std::stoull(field)};
  }
  return {pid, 0};
}

process_identity self_identity() {
  static const process_identity self = identity_of(::getpid());
  // A forked child has a new pid: never reuse the parent's identity.
  if (self.pid != ::getpid()) return identity_of(::getpid());
  return self;
}

std::string segment_name(const process_identity& owner, std::uint64_t seq, std::string_view tag) {
  return std::string(segment_prefix) + std::to_string(owner.pid) + "-" +
         std::to_string(owner.start_time) + "-" + std::to_string(seq) + "-" + sanitize(tag);
}

bool parse_owner(std::string_view name, process_identity& owner) {
  if (!name.starts_with(segment_prefix)) return false;
  name.remove_prefix(segment_prefix.size());
  auto parse = [&](auto& out) {
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), out);
    if (ec != std::errc{} || p == name.data() + name.size() || *p != '-') return false;
    name.remove_prefix(p - name.data() + 1);
    return true;
  };
  return parse(owner.pid) && parse(owner.start_time);
}

int remove_stale_segments() {
  DIR* dir = ::opendir("/dev/shm");
  if (!dir) return 0;
  int removed = 0;
  while (dirent* e = ::readdir(dir)) {
    process_identity owner;
    if (!parse_owner(e->d_name, owner)) continue;
    if (identity_of(owner.pid).start_time == owner.start_time) continue;  // alive
    if (bip::shared_memory_object::remove(e->d_name)) ++removed;
  }
  ::closedir(dir);
  return removed;
}

// -- segment --------------------------------------------------------------------

result<std::unique_ptr<segment>> segment::create(std::string_view tag, std::uint64_t size) {
  if (size == 0) return status::invalid("segment size must be positive");
  struct statvfs fs {};
  if (::statvfs("/dev/shm", &fs) == 0 && size > std::uint64_t(fs.f_bavail) * fs.f_frsize)
    return status::overloaded("cannot create a shared memory segment of " + std::to_string(size) +
                              " bytes: /dev/shm has only " +
                              std::to_string(std::uint64_t(fs.f_bavail) * fs.f_frsize) + " free");
  std::string name = segment_name(self_identity(), next_seq++, tag);
  try {
    bip::shared_memory_object shm(bip::create_only, name.c_str(), bip::read_write, bip::permissions(0600));
    shm.truncate(static_cast<bip::offset_t>(size));
    std::byte* base = map_whole(shm, size);
    if (!base) {
      bip::shared_memory_object::remove(name.c_str());
      return status::overloaded("cannot map " + std::to_string(size) + " bytes of shared memory: " +
                                std::strerror(errno));
    }
    return std::unique_ptr<segment>(new segment(name, base, size, true));
  } catch (const bip::interprocess_exception& e) {
    bip::shared_memory_object::remove(name.c_str());
    return status::overloaded("cannot create shared memory segment '" + name + "' of " +
                              std::to_string(size) + " bytes: " + e.what());
  }
}

result<std::unique_ptr<segment>> segment::open(const std::string& name) {
  try {
    bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_write);
    bip::offset_t size = 0;
    if (!shm.get_size(size) || size <= 0)
      return status::invalid("shared memory segment '" + name + "' is empty");
    std::byte* base = map_whole(shm, static_cast<std::uint64_t>(size));
    if (!base) return status::internal("cannot map segment '" + name + "': " + std::strerror(errno));
    return std::unique_ptr<segment>(new segment(name, base, static_cast<std::uint64_t>(size), false));
  } catch (const bip::interprocess_exception& e) {
    return status::not_found("cannot open shared memory segment '" + name + "': " + e.what());
  }
}

status segment::give_to(uid_t uid, gid_t gid) const {
  std::string path = "/dev/shm/" + name_;
  if (::chown(path.c_str(), uid, gid) != 0)
    return status::internal("cannot hand segment '" + name_ + "' to uid " + std::to_string(uid) + ": " +
                            std::strerror(errno));
  return {};
}

segment::~segment() {
  ::munmap(base_, size_);
  if (owner_) bip::shared_memory_object::remove(name_.c_str());
}

void segment::pretouch() {
  constexpr std::uint64_t chunk = 4u << 20;
  for (std::uint64_t off = 0; off < size_; off += chunk) {
    std::uint64_t len = std::min(chunk, size_ - off);
    if (::madvise(base_ + off, len, MADV_POPULATE_WRITE) == 0) continue;
    if (errno != EINVAL) break;  // out of memory: leave the rest to demand paging
    // Kernels before 5.14: touch each page with an atomic no-op, which never
    // changes a byte another process may be writing.
    for (std::uint64_t p = 0; p < len; p += 4096)
      reinterpret_cast<std::atomic<std::uint8_t>*>(base_ + off + p)->fetch_or(0, std::memory_order_relaxed);
  }
}

}  // namespace trail::shm
