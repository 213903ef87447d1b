@0xb7c41e2a90d36f18;
# The client wire: what `trail`, the client library and trail-bench say to a
# node or coordinator, and what nodes say when they join a coordinator. One
# Cap'n Proto message per frame, as a flat array (segment table + segments),
# on a plain TCP connection — the same framing as the data path. A client may
# send several requests before reading; replies carry the request's id.
#
# Rules: a comment after every field; ordinals are never reused or renumbered.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("trail::schema::wire");

struct Request {
  id @0 :UInt64;                 # chosen by the client; its reply carries it
  union {
    hello @1 :UInt32;            # the client's protocol version; the first request
    invoke @2 :Invoke;           # run an app
    result @3 :ResultOf;         # the output of a session started earlier
    deploy @4 :Deploy;           # upload a manifest and its libraries
    status @5 :Void;             # the node's or cluster's status (JSON)
    apps @6 :Void;               # deployed apps, "name vN" each
    undeploy @7 :Text;           # an app's name
    control @8 :Void;            # a joining node asks for the coordinator's control (CAF) and wire addresses
    admin @9 :Admin;             # an operator's command (nodes, sessions, trace...); the reply's text is JSON
    put @10 :Put;                # begin a put; the reply (a session) says it may go on with putData frames
    putData @11 :PutData;        # the next bytes of a put begun on this connection; the last one is answered
    get @12 :Get;                # read an app-scoped object; answered by data frames, the last one marked
    auth @13 :Auth;              # the answer to a challenge (actors/net/auth.hpp)
    member @14 :Text;            # to a coordinator: is the node with this client address a live member?
                                 # (asked by a client waiting on a direct invoke there; text "live" or "gone")
  }
}

struct Auth {
  nonce @0 :Data;                # the client's fresh nonce (32 bytes)
  role @1 :Text;                 # "admin" (proved with the secret) or "invoke" (with the invoke token)
  proof @2 :Data;                # HMAC-SHA256(key, "trail-client|role|server nonce|client nonce")
}

struct Put {
  app @0 :Text;                  # app name
  bucket @1 :Text;               # one of the app's buckets
  key @2 :Text;                  # the object's key (non-empty, at most 1024 bytes)
  size @3 :UInt64;               # the object's size in bytes: its putData frames bring exactly this many
  newSession @4 :Bool;           # in a new session's scope (whose id the reply carries); else the app's scope
  timeoutMs @5 :UInt32;          # newSession: the session is cancelled after this long (0: the node's default)
  session @6 :UInt64;            # to a cluster node: the session its coordinator started for this put (its redirect)
}

struct PutData {
  put @0 :UInt64;                # the id of the put request it continues
  bytes @1 :Data;                # the next bytes, in order (at most max_put_chunk)
  last @2 :Bool;                 # the object is complete: seal it and answer this frame
}

struct Get {
  app @0 :Text;                  # app name
  bucket @1 :Text;               # bucket
  key @2 :Text;                  # key of an app-scoped object
}

struct Admin {
  command @0 :Text;              # e.g. "nodes", "trace"
  args @1 :List(Text);           # its words after the command, e.g. ["17"] or ["--app", "chain"]
}

struct Invoke {
  app @0 :Text;                  # app name
  args @1 :List(Data);           # arguments of its entry function
  timeoutMs @2 :UInt32;          # the session is cancelled after this long
  async @3 :Bool;                # reply at once with the session id only
  request @4 :UInt64;            # the client's id for this request (0: none): sent again after a
                                 # coordinator died, it names the session it started, not a new one
  direct @5 :Bool;               # synchronous: a coordinator may answer with a redirect to the node
                                 # to send it to (which runs it as its own session)
}

struct ResultOf {
  session @0 :UInt64;            # session id from an earlier (async) invoke
  timeoutMs @1 :UInt32;          # how long to wait for it to end
}

struct Deploy {
  manifest @0 :Text;             # the manifest's YAML
  names @1 :List(Text);          # each library as the manifest names it
  libraries @2 :List(Data);      # ... and its bytes
}

struct Reply {
  id @0 :UInt64;                 # the request's id; 0 when the request could not be read
  union {
    error @1 :Error;             # the request failed
    hello @2 :UInt32;            # the server's protocol version
    session @3 :Session;         # invoke, result
    text @4 :Text;               # deploy ("app vN"), status (JSON), undeploy
    apps @5 :List(Text);         # apps
    control @7 :Control;         # where a joining node reaches the coordinator
    controlV1 @6 :Text;          # (reserved: protocol 1's control answer, the CAF address alone)
    data @8 :DataChunk;          # get: one piece of the object
    redirect @9 :Redirect;       # put, get (a coordinator): the node that holds the object's scope; ask it there.
                                 # A direct invoke (a coordinator): the node to run it on.
                                 # hello (a coordinator standing by): the coordinator that holds the shards (empty: none known)
    challenge @10 :Challenge;    # hello, to a server that wants proof first: send auth
    authOk @11 :Data;            # auth: the server's proof, HMAC-SHA256(key, "trail-server|role|client nonce|server nonce")
  }
  coordinators @12 :List(Text);  # hello or authOk, whichever ends the handshake, from a coordinator
                                 # serving: the others etcd lists (host:port each), for a client given
                                 # one address to find the rest when that one is lost; and the next
                                 # reply of any kind after that list changed (a standby started later)
  partitions @13 :Partitions;    # sent as coordinators is, from a coordinator of a cluster with several
                                 # partitions (issue 11): where to send what (the client routes by it)
}

# A cluster's shards split among coordinators: app A lives in shard
# fnv1a64(A) % (shards * |holders|), held by the holder of partition shard / shards;
# a session numbered by shard s (its top 16 bits: s + 1) is that shard's
# partition's, one numbered by node n (top bit set) partition n / (32768 / |holders|)'s.
struct Partitions {
  holders @0 :List(Text);        # each partition's holder (host:port), "" while none holds it
  shards @1 :UInt32;             # per partition
  mine @2 :UInt32;               # the partition of the coordinator that says this
}

struct Challenge {
  version @0 :UInt32;            # the server's protocol version
  nonce @1 :Data;                # its fresh nonce (32 bytes), new on every connection
}

struct Redirect {
  address @0 :Text;              # host:port of that node's client wire
  session @1 :UInt64;            # put in a new session: the session the coordinator started for it there
  why @2 :Text;                  # hello, to a coordinator standing by: what it says; `address` holds the shards
}

struct DataChunk {
  size @0 :UInt64;               # the whole object's size
  bytes @1 :Data;                # the next bytes, in order
  last @2 :Bool;                 # the object is complete
}

struct Control {
  caf @0 :Text;                  # host:port of its CAF endpoint (membership, control)
  wire @1 :Text;                 # host:port of its node wire (sessions started and ended)
}

struct Error {
  code @0 :UInt16;               # trail::errc
  message @1 :Text;              # what went wrong, for people
}

struct Session {
  session @0 :UInt64;            # session id
  output @1 :Data;               # the app's output (empty for an async invoke)
}
