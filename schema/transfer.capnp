@0xcbec93c12d144517;
# Node-to-node object transfer: a consumer's node pulls an object's bytes
# straight from the producer's node (issue 4, section 3).
#
# Exchange, over a data connection beside CAF's BASP:
#   requester -> producer   PullRequest (with an initial credit of N chunks)
#   producer -> requester   ObjectHeader (size and chunking, or an error)
#   producer -> requester   Chunk, Chunk, ... at most `credit` not yet credited back
#   requester -> producer   Credit (more chunks), as the requester stores chunks
#   either way              Cancel (stop; the other side drops the transfer)
# Small objects (<= 64 KiB) skip all of this: ObjectInline rides along with the
# object's metadata.
#
# Every message is one TransferMessage, framed as a flat Cap'n Proto array
# (segment table + segments). No message exceeds one chunk plus a few words, so
# readers run with a traversal limit of one frame (schema/transfer.hpp).
#
# Rules: a comment after every field; ordinals are never reused or renumbered;
# new message kinds are appended to the union. A transfer id of 0 is invalid.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("trail::schema::wire");

struct PullRequest {
  transferId @0 :UInt64;   # chosen by the requester, unique among its open transfers; never 0
  session @1 :UInt64;      # session the object belongs to
  bucket @2 :Text;         # bucket name
  key @3 :Text;            # key within the bucket
  object :union {          # which object of (session, bucket, key)
    byName @4 :Void;       # whatever the producer holds under that name
    id @5 :UInt64;         # exactly this object id of the producer node
  }
  incarnation @6 :UInt64;  # the requester node's incarnation; the producer rejects stale ones
  credit @7 :UInt32;       # chunks the producer may send before the first Credit
}

struct ObjectHeader {
  transferId @0 :UInt64;   # the PullRequest's transferId
  union {
    ok :group {            # the object follows in chunks
      totalSize @1 :UInt64;  # object size in bytes; 0 = no chunks follow
      chunkSize @2 :UInt32;  # every chunk but the last has exactly this many bytes
    }
    error :group {         # no chunks follow; the transfer is over
      code @3 :UInt16;     # trail::errc (not 0)
      text @4 :Text;       # human-readable reason
    }
  }
}

struct Chunk {
  transferId @0 :UInt64;   # the PullRequest's transferId
  offset @1 :UInt64;       # byte offset of `data` in the object; a multiple of chunkSize
  data @2 :Data;           # 1 .. chunkSize bytes (chunkSize <= 4 MiB)
}

struct Credit {
  transferId @0 :UInt64;   # the PullRequest's transferId
  chunks @1 :UInt32;       # further chunks the producer may send
}

struct Cancel {
  transferId @0 :UInt64;   # the PullRequest's transferId
  code @1 :UInt16;         # trail::errc why (0 = simply no longer wanted)
  reason @2 :Text;         # human-readable reason, for logs
}

struct ObjectInline {
  session @0 :UInt64;      # session the object belongs to
  bucket @1 :Text;         # bucket name
  key @2 :Text;            # key within the bucket
  data @3 :Data;           # the whole object, at most 64 KiB
}

struct TransferMessage {
  union {                            # exactly one message per frame
    pullRequest @0 :PullRequest;     # requester -> producer
    objectHeader @1 :ObjectHeader;   # producer -> requester
    chunk @2 :Chunk;                 # producer -> requester
    credit @3 :Credit;               # requester -> producer
    cancel @4 :Cancel;               # either way
    objectInline @5 :ObjectInline;   # with the metadata of a small object
  }
}
