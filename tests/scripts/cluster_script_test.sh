#!/bin/bash
# scripts/cluster as a user runs it: `up --coordinators 2 --tls` starts etcd,
# two coordinators (one holds the shards, one stands by) and two nodes with
# a fresh cluster secret (mode 0600) and TLS on every wire; a client without
# the CA or without the secret is refused, one with both deploys and
# invokes; with the holder SIGKILLed, the same client command works again
# once the standby took over; `down` stops every process and removes the
# state dir, secret and certificates included.
#
#   cluster_script_test.sh BUILD_DIR EXAMPLES_DIR
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(realpath "$here/../..")
build=$(realpath -m "$1")
examples=$(realpath -m "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/trail-cluster-script-test.XXXXXX")
export TRAIL_CLUSTER_DIR="$work/state"
unset TRAIL_SECRET_FILE TRAIL_TOKEN_FILE TRAIL_ADDR
# shellcheck source=common.sh
source "$here/common.sh"
cleanup() {
  "$repo/scripts/cluster" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$repo/scripts/cluster" up --nodes 2 --coordinators 2 --tls --build "$build" >"$work/up.out" 2>&1 || {
  cat "$work/up.out" >&2
  fail "scripts/cluster up failed"
  exit 1
}
secret="$TRAIL_CLUSTER_DIR/secret"
coord=$(cat "$TRAIL_CLUSTER_DIR/connect.addr")  # both coordinators
[[ $coord == *,* ]] && pass "clients are given both coordinators ($coord)" || fail "connect address '$coord'"
[ "$(stat -c %a "$secret")" = 600 ] && pass "the secret is mode 0600" || fail "secret mode $(stat -c %a "$secret")"
grep -q "export TRAIL_SECRET_FILE=$secret" "$work/up.out" && pass "up says how to use the secret" ||
  fail "up did not print the secret's export line: $(cat "$work/up.out")"
grep -q "export TRAIL_TLS_CA=$TRAIL_CLUSTER_DIR/tls/ca.pem" "$work/up.out" && pass "up says where the CA is" ||
  fail "up did not print the CA's export line"
pids=$(cat "$TRAIL_CLUSTER_DIR"/*.pid | awk '{print $1}')

if out=$(TRAIL_SECRET_FILE=$secret "$build/bin/trail" --connect "$coord" apps 2>&1); then
  fail "a client without TLS was served: $out"
else
  pass "a client without the CA is refused"
fi
export TRAIL_TLS_CA=$TRAIL_CLUSTER_DIR/tls/ca.pem

if out=$("$build/bin/trail" --connect "$coord" apps 2>&1); then
  fail "a client without the secret was served: $out"
else
  grep -q "requires authentication" <<<"$out" && pass "a client without the secret is refused" || fail "refused, but said: $out"
fi
TRAIL_SECRET_FILE=$secret "$build/bin/trail" --connect "$coord" deploy "$examples/chain/chain.yaml" >/dev/null
out=$(TRAIL_SECRET_FILE=$secret "$build/bin/trail" --connect "$coord" invoke chain hello there)
[ "$out" = "<HELLO THERE>" ] && pass "deploy and invoke with the secret" || fail "invoke printed '$out'"

# status lists both coordinators (the holder refreshes the list from etcd at
# each renewal of its lease).
standby=$(cat "$TRAIL_CLUSTER_DIR/coordinator2.addr")
deadline=$(( $(date +%s) + 20 ))
until out=$(TRAIL_SECRET_FILE=$secret "$build/bin/trail" --connect "$coord" status 2>&1) &&
      grep -q "^coordinators:.* (holds shards 0-1)" <<<"$out" && grep -q "$standby pid [0-9]* (standing by)" <<<"$out"; do
  [ "$(date +%s)" -lt "$deadline" ] || break
  sleep 0.2  # polls the cluster: the listing is its event, not ours
done
grep -q "$standby pid [0-9]* (standing by)" <<<"$out" && pass "status lists the standby ($standby)" ||
  fail "status does not list $standby standing by: $out"
grep -q "^etcd: writes go through" <<<"$out" && pass "status says the writes to etcd go through" ||
  fail "status says nothing of the writes to etcd: $out"

# The holder dies: the standby takes the shards over (within two lease
# periods), the nodes join it, and the same command works again.
read -r holder _ <"$TRAIL_CLUSTER_DIR/coordinator.pid"
kill -KILL "$holder"
deadline=$(( $(date +%s) + 30 ))
out=""
until out=$(TRAIL_SECRET_FILE=$secret "$build/bin/trail" --connect "$coord" invoke chain after failover 2>&1) &&
      [ "$out" = "<AFTER FAILOVER>" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || break
  sleep 0.2  # polls the cluster: the takeover is its event, not ours
done
[ "$out" = "<AFTER FAILOVER>" ] && pass "the standby took over: invoke works again" ||
  fail "after the holder died, invoke still printed '$out'"
out=$(TRAIL_SECRET_FILE=$secret "$build/bin/trail" --connect "$coord" status 2>&1 || true)
grep -q "all held (etcd lease) as $standby " <<<"$out" && pass "status names the new holder ($standby)" ||
  fail "status does not name $standby as the holder: $out"

down_leaves_nothing "$pids"

[ $failures = 0 ] || exit 1
