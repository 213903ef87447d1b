@0xd4a1f0c3b2e59a07;
# Messages between nodes: forwarded work and what a worker node reports back
# to the session's home node, on the node-to-node wire (PeerMessage frames,
# flat Cap'n Proto arrays on plain TCP, the data path's framing). Bulk bytes
# never travel here: objects over 64 KiB are named and pulled over the data
# path (transfer.capnp).
#
# Rules: a comment after every field; ordinals are never reused or renumbered.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("trail::schema::wire");

struct ObjectRef {
  session @0 :UInt64;      # node-level session id the object belongs to
  bucket @1 :Text;         # bucket name
  key @2 :Text;            # key within the bucket
  id @3 :UInt64;           # object id in the store of the node that holds it
  size @4 :UInt64;         # payload bytes
  hasInline @5 :Bool;      # `inline` carries the whole payload (size <= 64 KiB)
  inline @6 :Data;         # the payload when hasInline
}

struct Work {
  session @0 :UInt64;      # node-level session id (the home's)
  invocation @1 :UInt64;   # the home's id of this attempt; reports quote it
  attempt @2 :UInt32;      # 0-based attempt of the task
  app @3 :Text;            # app name
  version @4 :UInt32;      # app version (as numbered by its coordinator shard)
  function @5 :Text;       # function to run
  args @6 :List(Data);     # entry invocations: the client's arguments
  inputs @7 :List(ObjectRef);  # the home's objects; pulled from homeData unless inline
  homeNumber @8 :UInt64;   # the home node's cluster number
  homeData @9 :Text;       # the home node's data-path address, host:port
  timeoutMs @10 :UInt32;   # the function's timeout
}

struct Report {
  enum Kind {
    sealed @0;             # the invocation sealed `object`
    output @1;             # the invocation set `object` as its session's output
    announce @2;           # ctx.announce(bucket, count)
    done @3;               # ctx.done(bucket)
    finished @4;           # the attempt ended with code/message (code 0 = ok)
    appObject @5;          # an object for an app-scoped trigger this node owns
  }
  kind @0 :Kind;           # what happened
  invocation @1 :UInt64;   # the home's invocation id (Work.invocation); 0 for appObject
  session @2 :UInt64;      # node-level session id
  fromNumber @3 :UInt64;   # the reporting node's cluster number
  fromIncarnation @4 :UInt64;  # ... and its incarnation (fencing)
  object @5 :ObjectRef;    # sealed, output, appObject
  dataAddress @6 :Text;    # where to pull `object` from unless inline
  bucket @7 :Text;         # announce, done
  count @8 :UInt64;        # announce
  code @9 :UInt16;         # finished: trail::errc, 0 = ok
  message @10 :Text;       # finished: error text
  app @11 :Text;           # appObject: the app ...
  version @12 :UInt32;     # ... and version whose app-scoped trigger gets `object`
  seq @13 :UInt32;         # 0, 1, 2, ... per invocation: the home applies reports in this order
}

# One frame of the node wire, between nodes and between a coordinator and
# its nodes. Each side dials the other to send; every connection starts with
# `hello`, then carries the dialer's messages. A coordinator says hello as
# number 0.
struct PeerMessage {
  union {
    hello @0 :PeerHello;   # first frame: who is sending
    work @1 :Work;         # home -> worker: run this attempt
    refused @2 :Refused;   # worker -> home: it will not run that attempt
    report @3 :Report;     # worker -> home, or to the owner of an app's app-scoped triggers
    release @4 :UInt64;    # home -> worker: this session is over; drop what it holds of it
    lent @5 :UInt64;       # app-scope owner -> home: done pulling this object of yours
    run @6 :Run;           # coordinator -> home node: start this session
    ended @7 :Ended;       # home node -> coordinator: a session it placed ended
  }
}

struct Run {
  session @0 :UInt64;      # node-level session id (the shard's numbering)
  app @1 :Text;            # app name
  version @2 :UInt32;      # app version to run it on
  args @3 :List(Data);     # the entry function's arguments
  timeoutMs @4 :UInt32;    # the session is cancelled after this long; 0 = the node's default
}

struct Ended {
  session @0 :UInt64;      # node-level session id
  ok @1 :Bool;             # ended with an output
  output @2 :Data;         # the output, when ok
  code @3 :UInt16;         # trail::errc when not ok
  message @4 :Text;        # why not, when not ok
}

struct PeerHello {
  number @0 :UInt64;       # the sender's cluster number
  incarnation @1 :UInt64;  # ... and incarnation (fencing)
}

struct Refused {
  invocation @0 :UInt64;   # Work.invocation
  code @1 :UInt16;         # trail::errc: why
  message @2 :Text;        # why, for people
}
