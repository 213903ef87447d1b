#!/bin/bash
# scripts/cluster with partitions, as a user runs it: `up --coordinators 3
# --partitions 2 --nodes 2` starts two holders, a spare and two nodes, one
# per partition; `trail status` shows both partitions with their holders
# and nodes; apps of both partitions deploy and run through one client
# command; with partition 1's holder SIGKILLed, partition 0's app never
# stops answering, and partition 1's works again once the spare claims it.
# A layout that cannot work (no spare, fewer nodes than partitions) is
# refused before anything starts.
#
#   cluster_partitions_test.sh BUILD_DIR EXAMPLES_DIR
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(realpath "$here/../..")
build=$(realpath -m "$1")
examples=$(realpath -m "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/trail-cluster-partitions-test.XXXXXX")
export TRAIL_CLUSTER_DIR="$work/state"
unset TRAIL_SECRET_FILE TRAIL_TOKEN_FILE TRAIL_ADDR TRAIL_TLS_CA
# shellcheck source=common.sh
source "$here/common.sh"
cleanup() {
  "$repo/scripts/cluster" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

for bad in "--coordinators 2 --partitions 2" "--coordinators 3 --partitions 2 --nodes 1"; do
  # shellcheck disable=SC2086  # (the words are the arguments)
  if out=$("$repo/scripts/cluster" up $bad --build "$build" 2>&1); then
    fail "up $bad started a cluster"
    "$repo/scripts/cluster" down >/dev/null 2>&1 || true
  else
    grep -q -- "--partitions 2 wants at least" <<<"$out" && pass "up $bad is refused: $out" || fail "up $bad said: $out"
  fi
done

"$repo/scripts/cluster" up --nodes 2 --coordinators 3 --partitions 2 --build "$build" >"$work/up.out" 2>&1 || {
  cat "$work/up.out" >&2
  fail "scripts/cluster up failed"
  exit 1
}
export TRAIL_SECRET_FILE="$TRAIL_CLUSTER_DIR/secret"
export TRAIL_ADDR
TRAIL_ADDR=$(cat "$TRAIL_CLUSTER_DIR/connect.addr")
trail="$build/bin/trail"
pids=$(cat "$TRAIL_CLUSTER_DIR"/*.pid | awk '{print $1}')
first=$(cat "$TRAIL_CLUSTER_DIR/coordinator.addr")
second=$(cat "$TRAIL_CLUSTER_DIR/coordinator2.addr")

# (The holders read each other's node counts from etcd at each lease renewal.)
deadline=$(( $(date +%s) + 20 ))
until out=$("$trail" status 2>&1) && grep -q "partition 0: held by $first, 1 node(s)" <<<"$out" &&
      grep -q "partition 1: held by $second, 1 node(s)" <<<"$out"; do
  [ "$(date +%s)" -lt "$deadline" ] || break
  sleep 0.2  # polls the cluster: the listing is its event, not ours
done
grep -q "^cluster: 2 partitions of 2 shards, 2 live nodes" <<<"$out" && pass "status shows the whole cluster" ||
  fail "status: $out"
grep -q "partition 1: held by $second, 1 node(s)" <<<"$out" && pass "one node in each partition" || fail "status: $out"
grep -q "(holds partition 1: shards 2-3)" <<<"$out" && pass "status says which coordinator holds which partition and its shards" || fail "status: $out"

out=$("$trail" nodes 2>&1)
grep -qE "^n1 +0 " <<<"$out" && grep -qE "^n2 +1 " <<<"$out" && pass "nodes lists both partitions' nodes, each with its partition" ||
  fail "nodes: $out"

# wordcount lives in partition 0, chain in partition 1 (fnv1a % 4 / 2).
"$trail" deploy "$examples/chain/chain.yaml" >/dev/null
"$trail" deploy "$examples/wordcount/wordcount.yaml" >/dev/null
out=$("$trail" invoke chain hello there)
[ "$out" = "<HELLO THERE>" ] && pass "an app of partition 1 runs" || fail "chain printed '$out'"
out=$("$trail" invoke wordcount "a b a")
[ "$out" = "a=2,b=1" ] && pass "an app of partition 0 runs" || fail "wordcount printed '$out'"
out=$("$trail" apps | tr '\n' ' ')
[[ $out == *chain* && $out == *wordcount* ]] && pass "apps lists both partitions' apps" || fail "apps: $out"

read -r holder _ <"$TRAIL_CLUSTER_DIR/coordinator2.pid"
kill -KILL "$holder"
# Partition 0 answers at once, and all along.
for i in 1 2 3 4 5; do
  out=$("$trail" invoke wordcount "x$i x$i" 2>&1) || true
  [ "$out" = "x$i=2" ] || fail "partition 0's app failed while partition 1 had no holder: $out"
done
pass "partition 0 answers while partition 1 has no holder"
deadline=$(( $(date +%s) + 30 ))
until out=$("$trail" invoke chain after failover 2>&1) && [ "$out" = "<AFTER FAILOVER>" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || break
  sleep 0.2  # polls the cluster: the takeover is its event, not ours
done
[ "$out" = "<AFTER FAILOVER>" ] && pass "the spare claimed partition 1: its app works again" ||
  fail "after partition 1's holder died, chain still printed '$out'"

down_leaves_nothing "$pids"

[ $failures = 0 ] || exit 1
