#include "actors/net/handshake.hpp"

#include <algorithm>

namespace trail::net {
namespace {

constexpr std::string_view magic = "trail-m1";

}  // namespace

member_handshake::member_handshake(side s, const key& secret)
    : side_(s), secret_(secret), own_nonce_(fresh_nonce()) {
  if (side_ == side::dialer) {
    out_.append(magic).append(own_nonce_);
    step_ = step::answer;
    expect_ = answer_bytes;
  } else {
    step_ = step::greeting;
    expect_ = greeting_bytes;
  }
}

result<std::size_t> member_handshake::feed(std::span<const std::byte> bytes) {
  std::size_t used = 0;
  while (!done() && used < bytes.size()) {
    std::size_t take = std::min(expect_ - in_.size(), bytes.size() - used);
    std::size_t before = in_.size();
    in_.append(reinterpret_cast<const char*>(bytes.data() + used), take);
    used += take;
    if (step_ == step::greeting && before < magic.size()) {  // refuse a stranger at its first wrong byte
      std::size_t n = std::min(in_.size(), magic.size());
      if (in_.compare(0, n, magic.substr(0, n)) != 0)
        return status::invalid("not a cluster member's handshake (a peer without the cluster secret?)");
    }
    if (in_.size() == expect_)
      if (status st = complete(); !st.ok()) return st;
  }
  return used;
}

status member_handshake::complete() {
  switch (step_) {
    case step::greeting:  // (acceptor) magic | dialer nonce
      peer_nonce_ = in_.substr(magic.size());
      out_.append(own_nonce_).append(server_proof(secret_, role::admin, peer_nonce_, own_nonce_));
      step_ = step::proof;
      expect_ = proof_bytes;
      break;
    case step::answer:  // (dialer) acceptor nonce | its proof
      peer_nonce_ = in_.substr(0, 32);
      if (!same(in_.substr(32), server_proof(secret_, role::admin, own_nonce_, peer_nonce_)))
        return status::invalid("the peer did not prove it holds the cluster secret");
      out_.append(client_proof(secret_, role::admin, peer_nonce_, own_nonce_));
      step_ = step::done;
      break;
    case step::proof:  // (acceptor) the dialer's proof
      if (!same(in_, client_proof(secret_, role::admin, own_nonce_, peer_nonce_)))
        return status::invalid("wrong proof of the cluster secret");
      step_ = step::done;
      break;
    case step::done:
      break;
  }
  in_.clear();
  return {};
}

status closed_during_handshake(const std::string& peer, const status& why) {
  return status::unavailable("the peer " + peer +
                             " closed the connection during the secret handshake (does it hold the same "
                             "cluster secret?): " + why.message());
}

}  // namespace trail::net
