#!/usr/bin/env bash
# Runs a trail command that must FAIL its `check` (a deliberately broken
# build), and passes only if it exits non-zero and its output says WHY.
#
#   expect_check_fails.sh WHY COMMAND [ARGS...]
#   e.g. expect_check_fails.sh "fired twice" trail --script broken.scenario
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 WHY COMMAND [ARGS...]" >&2; exit 2; }
why=$1
shift
out=$("$@" 2>&1)
code=$?
printf '%s\n' "$out"
if [ $code -eq 0 ]; then
  echo "expect_check_fails: '$*' passed; its check should have failed" >&2
  exit 1
fi
if ! grep -q "check: FAILED" <<<"$out" || ! grep -qF "$why" <<<"$out"; then
  echo "expect_check_fails: '$*' failed (exit $code), but not by a check saying '$why'" >&2
  exit 1
fi
echo "expect_check_fails: check failed as it should: $why"
