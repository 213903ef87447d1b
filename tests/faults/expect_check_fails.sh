#!/usr/bin/env bash
# Runs a scenario that must FAIL its `check` (a deliberately broken build),
# and passes only if trail exits non-zero and its output says WHY.
#
#   expect_check_fails.sh TRAIL SCENARIO WHY
set -uo pipefail
[ $# -eq 3 ] || { echo "usage: $0 TRAIL SCENARIO WHY" >&2; exit 2; }
out=$("$1" --script "$2" 2>&1)
code=$?
printf '%s\n' "$out"
if [ $code -eq 0 ]; then
  echo "expect_check_fails: the scenario passed; its check should have failed" >&2
  exit 1
fi
if ! grep -q "check: FAILED" <<<"$out" || ! grep -qF "$3" <<<"$out"; then
  echo "expect_check_fails: trail failed (exit $code), but not by a check saying '$3'" >&2
  exit 1
fi
echo "expect_check_fails: check failed as it should: $3"
