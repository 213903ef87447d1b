# What the scripts/cluster tests share (sourced): counting failures, and
# checking that `down` left nothing behind.

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# `scripts/cluster down`, then: its state dir is gone, and none of the
# processes $1 (pids) still runs (a zombie has exited: whoever adopted it
# reaps it).
down_leaves_nothing() {
  local pids=$1 p state left=""
  "$repo/scripts/cluster" down >/dev/null
  [ ! -e "$TRAIL_CLUSTER_DIR" ] && pass "down removed the state dir, secret included" || fail "$TRAIL_CLUSTER_DIR is left"
  for p in $pids; do
    state=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1) || true
    [ -n "$state" ] && [ "$state" != Z ] && left+="$p "
  done
  [ -z "$left" ] && pass "down stopped every process" ||
    fail "processes left: $left($(for p in $left; do tr "\\0" " " <"/proc/$p/cmdline"; echo; done))"
}
