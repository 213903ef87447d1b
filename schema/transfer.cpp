#include "schema/transfer.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string_view>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "transfer.capnp.h"  // generated beside the build's schema/ (or by hand, see tests)

namespace trail::schema {

static_assert(std::endian::native == std::endian::little,
              "the segment table is written with memcpy: little-endian hosts only");

// The encoders' access to a frame's words.
class frame_access {
 public:
  // Room for `words` words; contents unspecified, size 0.
  static std::uint64_t* prepare(frame& f, std::size_t words) {
    if (words > f.capacity_words_) {
      f.words_.reset(new std::uint64_t[words]);  // uninitialised: encoders write what they use
      f.capacity_words_ = words;
    }
    f.size_ = 0;
    return f.words_.get();
  }
  static void set_size(frame& f, std::size_t bytes) { f.size_ = bytes; }
};

std::span<const std::byte> frame::bytes() const {
  return {reinterpret_cast<const std::byte*>(words_.get()), size_};
}

void frame::reserve(std::size_t bytes) {
  std::size_t words = (bytes + 7) / 8;
  std::memset(frame_access::prepare(*this, words), 0, words * 8);  // touch every page now
}

std::span<std::byte> frame::assign(std::size_t bytes) {
  auto* p = reinterpret_cast<std::byte*>(frame_access::prepare(*this, (bytes + 7) / 8));
  size_ = bytes;
  return {p, bytes};
}

namespace {

namespace w = wire;

// Root pointer (1 word) + TransferMessage (2) + the largest member struct
// (PullRequest, 7), with room to spare. Everything else is blobs.
constexpr std::size_t fixed_words = 16;
// Every reader may traverse one maximal frame, no more (never Cap'n Proto's
// 64 MiB default: frames are small by construction).
constexpr std::uint64_t traversal_limit_words = max_frame_size / 8;
constexpr int nesting_limit = 8;       // TransferMessage -> member -> blob is 3 deep
constexpr std::uint32_t max_segments = 512;  // as FlatArrayMessageReader allows
constexpr std::uint16_t max_errc = static_cast<std::uint16_t>(last_errc);

std::size_t text_words(std::size_t n) { return (n + 1 + 7) / 8; }  // with its NUL
std::size_t data_words(std::size_t n) { return (n + 7) / 8; }

status invalid(std::string_view what) { return status::invalid(std::string(what)); }

// -- checks shared by encode and decode ----------------------------------------------

status check_transfer(std::uint64_t id) {
  return id != 0 ? status{} : invalid("transfer id 0 in a transfer message");
}

status check_names(const std::string& bucket, const std::string& key) {
  if (bucket.size() > max_name_length || key.size() > max_name_length)
    return status::invalid("bucket or key longer than " + std::to_string(max_name_length) +
                           " bytes in a transfer message");
  return {};
}

status check_code(std::uint16_t code) {
  if (code <= max_errc) return {};
  return status::invalid("unknown error code " + std::to_string(code) + " in a transfer message");
}

status check_chunk(std::uint64_t transfer, std::uint64_t offset, std::uint64_t size) {
  if (auto s = check_transfer(transfer); !s) return s;
  if (size == 0 || size > max_chunk_size)
    return status::invalid("chunk of " + std::to_string(size) + " bytes (1.." +
                           std::to_string(max_chunk_size) + " allowed)");
  if (offset > max_object_size - size)
    return status::invalid("chunk at offset " + std::to_string(offset) + " + " +
                           std::to_string(size) + " bytes ends beyond the largest object");
  return {};
}

status check(const pull_request& m) {
  if (auto s = check_transfer(m.transfer); !s) return s;
  return check_names(m.bucket, m.key);
}

status check(const object_header& m) {
  if (auto s = check_transfer(m.transfer); !s) return s;
  if (m.code != 0) return check_code(m.code);
  if (valid_chunking(m.total_size, m.chunk_size)) return {};
  return status::invalid("object header announces " + std::to_string(m.total_size) +
                         " bytes in chunks of " + std::to_string(m.chunk_size) + " (chunks " +
                         std::to_string(min_chunk_size) + ".." + std::to_string(max_chunk_size) +
                         ", objects up to " + std::to_string(max_object_size) + ")");
}

status check(const chunk& m) { return check_chunk(m.transfer, m.offset, m.data.size()); }
status check(const credit& m) { return check_transfer(m.transfer); }

status check(const cancel& m) {
  if (auto s = check_transfer(m.transfer); !s) return s;
  return check_code(m.code);
}

status check(const object_inline& m) {
  if (m.data.size() > max_inline_size)
    return status::invalid("inline object of " + std::to_string(m.data.size()) +
                           " bytes (at most " + std::to_string(max_inline_size) + ")");
  return check_names(m.bucket, m.key);
}

// -- encoding ------------------------------------------------------------------------

capnp::Text::Reader text(const std::string& s) { return {s.c_str(), s.size()}; }

capnp::Data::Reader data(std::span<const std::byte> d) {
  return {reinterpret_cast<const kj::byte*>(d.data()), d.size()};
}

std::size_t cut(const std::string& s) { return std::min(s.size(), max_error_text); }

// Writes the first cut(s) bytes of `s` as a Text built by `init(n)`.
template <class Init>
void set_cut_text(const std::string& s, Init init) {
  auto t = init(static_cast<unsigned>(cut(s)));
  if (t.size() > 0) std::memcpy(t.begin(), s.data(), t.size());
}

std::size_t blob_words(const pull_request& m) { return text_words(m.bucket.size()) + text_words(m.key.size()); }
std::size_t blob_words(const object_header& m) { return text_words(cut(m.error)); }
std::size_t blob_words(const credit&) { return 0; }
std::size_t blob_words(const cancel& m) { return text_words(cut(m.reason)); }
std::size_t blob_words(const object_inline& m) {
  return text_words(m.bucket.size()) + text_words(m.key.size()) + data_words(m.data.size());
}

void fill(w::TransferMessage::Builder root, const pull_request& m) {
  auto b = root.initPullRequest();
  b.setTransferId(m.transfer);
  b.setSession(m.session);
  b.setBucket(text(m.bucket));
  b.setKey(text(m.key));
  if (m.object) b.getObject().setId(*m.object);
  else b.getObject().setByName();
  b.setIncarnation(m.incarnation);
  b.setCredit(m.credit);
}

void fill(w::TransferMessage::Builder root, const object_header& m) {
  auto b = root.initObjectHeader();
  b.setTransferId(m.transfer);
  if (m.code == 0) {
    auto ok = b.initOk();
    ok.setTotalSize(m.total_size);
    ok.setChunkSize(m.chunk_size);
    return;
  }
  auto e = b.initError();
  e.setCode(m.code);
  set_cut_text(m.error, [&](unsigned n) { return e.initText(n); });
}

void fill(w::TransferMessage::Builder root, const credit& m) {
  auto b = root.initCredit();
  b.setTransferId(m.transfer);
  b.setChunks(m.chunks);
}

void fill(w::TransferMessage::Builder root, const cancel& m) {
  auto b = root.initCancel();
  b.setTransferId(m.transfer);
  b.setCode(m.code);
  set_cut_text(m.reason, [&](unsigned n) { return b.initReason(n); });
}

void fill(w::TransferMessage::Builder root, const object_inline& m) {
  auto b = root.initObjectInline();
  b.setSession(m.session);
  b.setBucket(text(m.bucket));
  b.setKey(text(m.key));
  b.setData(data(m.data));  // the one copy of an inline payload
}

// Prepares `out` for a message of at most `segment_words` words, built in
// place: word 0 of the frame is the segment table, the rest the one segment.
// Cap'n Proto builders expect zeroed memory; only the first `zeroed_words` of
// the segment are cleared (all of it for small messages; the fixed part for a
// chunk, whose payload region is overwritten anyway).
kj::ArrayPtr<capnp::word> segment_of(frame& out, std::size_t segment_words,
                                     std::size_t zeroed_words) {
  std::uint64_t* base = frame_access::prepare(out, 1 + segment_words);
  std::memset(base, 0, (1 + zeroed_words) * 8);
  return kj::arrayPtr(reinterpret_cast<capnp::word*>(base + 1), segment_words);
}

// Writes the segment table of a finished in-place message and sizes the frame.
// (FlatMessageBuilder rather than MallocMessageBuilder(firstSegment): the
// latter zeroes its first segment again when destroyed.)
status finish(capnp::FlatMessageBuilder& b, kj::ArrayPtr<capnp::word> segment, frame& out) {
  auto segments = b.getSegmentsForOutput();
  if (segments.size() != 1 || segments[0].begin() != segment.begin())
    return status::internal("transfer message did not build in one in-place segment");
  std::uint32_t table[2] = {0, static_cast<std::uint32_t>(segments[0].size())};  // count - 1, size
  std::memcpy(segment.begin() - 1, table, sizeof table);
  frame_access::set_size(out, (1 + segments[0].size()) * 8);
  return {};
}

status encoder_failed(const kj::Exception& e) {
  return status::internal(std::string("encoding a transfer message: ") + e.getDescription().cStr());
}

template <class T>
status encode_small(const T& m, frame& out) {
  if (auto s = check(m); !s) return s;
  std::size_t words = fixed_words + blob_words(m);
  try {
    auto segment = segment_of(out, words, words);
    capnp::FlatMessageBuilder b(segment);
    fill(b.initRoot<w::TransferMessage>(), m);
    return finish(b, segment, out);
  } catch (const kj::Exception& e) {
    return encoder_failed(e);
  }
}

status encode_one(const chunk& m, frame& out) {
  auto payload = encode_chunk_in_place(m.transfer, m.offset, m.data.size(), out);
  if (!payload) return payload.error();
  std::memcpy(payload->data(), m.data.data(), m.data.size());  // the one copy
  return {};
}

template <class T>
status encode_one(const T& m, frame& out) { return encode_small(m, out); }

// -- decoding ------------------------------------------------------------------------

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

std::span<const std::byte> view(capnp::Data::Reader d) {
  return {reinterpret_cast<const std::byte*>(d.begin()), d.size()};
}

template <class T>
result<transfer_message> checked(T m) {
  if (auto s = check(m); !s) return s;
  return transfer_message{std::move(m)};
}

status check_text(capnp::Text::Reader t) {
  if (t.size() <= max_error_text) return {};
  return status::invalid("error text of " + std::to_string(t.size()) + " bytes (at most " +
                         std::to_string(max_error_text) + ")");
}

result<transfer_message> from_wire(w::PullRequest::Reader r) {
  pull_request m;
  m.transfer = r.getTransferId();
  m.session = r.getSession();
  m.bucket = str(r.getBucket());
  m.key = str(r.getKey());
  auto object = r.getObject();
  switch (object.which()) {
    case w::PullRequest::Object::BY_NAME: break;
    case w::PullRequest::Object::ID: m.object = object.getId(); break;
    default: return invalid("unknown object selector in a pull request");
  }
  m.incarnation = r.getIncarnation();
  m.credit = r.getCredit();
  return checked(std::move(m));
}

result<transfer_message> from_wire(w::ObjectHeader::Reader r) {
  object_header m;
  m.transfer = r.getTransferId();
  switch (r.which()) {
    case w::ObjectHeader::OK:
      m.total_size = r.getOk().getTotalSize();
      m.chunk_size = r.getOk().getChunkSize();
      break;
    case w::ObjectHeader::ERROR: {
      auto e = r.getError();
      m.code = e.getCode();
      if (m.code == 0) return invalid("object header error with code 0");
      auto t = e.getText();
      if (auto s = check_text(t); !s) return s;
      m.error = str(t);
      break;
    }
    default: return invalid("unknown object header variant");
  }
  return checked(std::move(m));
}

result<transfer_message> from_wire(w::Chunk::Reader r) {
  return checked(chunk{r.getTransferId(), r.getOffset(), view(r.getData())});
}

result<transfer_message> from_wire(w::Credit::Reader r) {
  return checked(credit{r.getTransferId(), r.getChunks()});
}

result<transfer_message> from_wire(w::Cancel::Reader r) {
  auto t = r.getReason();
  if (auto s = check_text(t); !s) return s;
  return checked(cancel{r.getTransferId(), r.getCode(), str(t)});
}

result<transfer_message> from_wire(w::ObjectInline::Reader r) {
  return checked(object_inline{r.getSession(), str(r.getBucket()), str(r.getKey()),
                               view(r.getData())});
}

// A set discriminant with a null member pointer is rejected rather than read
// as an all-default message.
result<transfer_message> from_root(w::TransferMessage::Reader root) {
  using M = w::TransferMessage;
  auto missing = [](const char* what) { return invalid(std::string("empty ") + what + " message"); };
  switch (root.which()) {
    case M::PULL_REQUEST:
      return root.hasPullRequest() ? from_wire(root.getPullRequest()) : missing("pull request");
    case M::OBJECT_HEADER:
      return root.hasObjectHeader() ? from_wire(root.getObjectHeader()) : missing("object header");
    case M::CHUNK:
      return root.hasChunk() ? from_wire(root.getChunk()) : missing("chunk");
    case M::CREDIT:
      return root.hasCredit() ? from_wire(root.getCredit()) : missing("credit");
    case M::CANCEL:
      return root.hasCancel() ? from_wire(root.getCancel()) : missing("cancel");
    case M::OBJECT_INLINE:
      return root.hasObjectInline() ? from_wire(root.getObjectInline()) : missing("inline object");
  }
  return status::invalid("unknown transfer message type " +
                         std::to_string(static_cast<unsigned>(root.which())));
}

bool aligned(const std::byte* p) { return reinterpret_cast<std::uintptr_t>(p) % 8 == 0; }

status check_frame(std::span<const std::byte> bytes) {
  if (!aligned(bytes.data()))
    return status::invalid("misaligned transfer frame (address % 8 = " +
                           std::to_string(reinterpret_cast<std::uintptr_t>(bytes.data()) % 8) + ")");
  if (bytes.size() < 8 || bytes.size() % 8 != 0)
    return status::invalid("truncated transfer frame (" + std::to_string(bytes.size()) +
                           " bytes, not a whole number of words)");
  if (bytes.size() > max_frame_size)
    return status::invalid("transfer frame of " + std::to_string(bytes.size()) +
                           " bytes exceeds " + std::to_string(max_frame_size));
  return {};
}

capnp::ReaderOptions reader_options() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = traversal_limit_words;
  o.nestingLimit = nesting_limit;
  return o;
}

}  // namespace

status encode(const transfer_message& m, frame& out) {
  return std::visit([&](const auto& x) { return encode_one(x, out); }, m);
}

result<std::span<std::byte>> encode_chunk_in_place(std::uint64_t transfer, std::uint64_t offset,
                                                   std::size_t size, frame& out) {
  if (auto s = check_chunk(transfer, offset, size); !s) return s;
  try {
    auto segment = segment_of(out, fixed_words + data_words(size), fixed_words);
    capnp::FlatMessageBuilder b(segment);
    auto c = b.initRoot<w::TransferMessage>().initChunk();
    c.setTransferId(transfer);
    c.setOffset(offset);
    auto d = c.initData(static_cast<unsigned>(size));
    // The payload must follow the zeroed fixed part; its last word's padding must be zero.
    auto start = reinterpret_cast<const capnp::word*>(d.begin()) - segment.begin();
    if (start < 0 || static_cast<std::size_t>(start) > fixed_words)
      return status::internal("chunk payload placed at word " + std::to_string(start));
    if (size % 8 != 0) std::memset(d.begin() + size - size % 8, 0, 8);
    if (auto s = finish(b, segment, out); !s) return s;
    return std::span<std::byte>(reinterpret_cast<std::byte*>(d.begin()), size);
  } catch (const kj::Exception& e) {
    return encoder_failed(e);
  }
}

result<transfer_message> decode(std::span<const std::byte> bytes) {
  if (auto s = check_frame(bytes); !s) return s;
  auto words = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / 8);
  try {
    capnp::FlatArrayMessageReader reader(words, reader_options());
    if (reader.getEnd() != words.end())
      return status::invalid("trailing bytes after a transfer message (" +
                             std::to_string((words.end() - reader.getEnd()) * 8) + ")");
    if (reader.getRoot<capnp::AnyPointer>().isNull()) return invalid("empty transfer message");
    return from_root(reader.getRoot<w::TransferMessage>());
  } catch (const kj::Exception& e) {
    return status::invalid(std::string("malformed transfer message: ") + e.getDescription().cStr());
  }
}

result<std::size_t> frame_size(std::span<const std::byte> prefix) {
  if (!aligned(prefix.data())) return invalid("misaligned transfer frame prefix");
  if (prefix.size() < 8) return std::size_t{8};
  std::uint32_t segments_minus_one = 0;
  std::memcpy(&segments_minus_one, prefix.data(), 4);
  if (segments_minus_one >= max_segments)
    return status::invalid("transfer frame announces " + std::to_string(segments_minus_one + 1ull) +
                           " segments");
  auto words = capnp::expectedSizeInWordsFromPrefix(
      kj::arrayPtr(reinterpret_cast<const capnp::word*>(prefix.data()), prefix.size() / 8));
  if (words > max_frame_size / 8)
    return status::invalid("transfer frame announces " + std::to_string(words * 8) +
                           " bytes, more than " + std::to_string(max_frame_size));
  return words * 8;
}

}  // namespace trail::schema
