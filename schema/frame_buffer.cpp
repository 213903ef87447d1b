#include "schema/frame_buffer.hpp"

#include <algorithm>
#include <cstring>

#include "schema/client.hpp"

namespace trail::schema {

frame_buffer::frame_buffer(std::size_t limit) : limit_(limit) {}

std::span<std::byte> frame_buffer::space(std::size_t want) {
  if (begin_ == end_) begin_ = end_ = 0;
  // Room grows with the bytes that actually arrive (doubling), never to the
  // size a frame merely announces: 8 bytes of header cannot make it allocate
  // hundreds of MiB.
  std::size_t missing = need_ > buffered() ? need_ - buffered() : 0;
  std::size_t needed = std::max(want, std::min(missing, std::max(buffered(), want)));
  if (capacity_ - end_ < needed) {
    std::size_t keep = buffered();
    if (capacity_ < keep + needed) {  // grow (to a multiple of 8 bytes)
      std::size_t cap = std::max(capacity_ * 2, keep + needed);
      cap = (cap + 7) / 8 * 8;
      auto words = std::make_unique<std::uint64_t[]>(cap / 8);
      if (keep) std::memcpy(words.get(), base() + begin_, keep);
      words_ = std::move(words);
      capacity_ = cap;
    } else if (keep) {  // move the frame in progress to the (aligned) start
      std::memmove(base(), base() + begin_, keep);
    }
    begin_ = 0;
    end_ = keep;
  }
  return {base() + end_, capacity_ - end_};
}

void frame_buffer::commit(std::size_t n) { end_ += n; }

result<std::span<const std::byte>> frame_buffer::next() {
  std::span<const std::byte> have{base() + begin_, buffered()};
  auto size = client_frame_size(have, limit_);
  if (!size) return size.error();
  if (*size > have.size()) {  // (under 8 bytes, the size asked for is 8)
    need_ = *size;
    return std::span<const std::byte>{};
  }
  need_ = 0;
  begin_ += *size;
  return have.first(*size);
}

}  // namespace trail::schema
