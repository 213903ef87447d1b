#!/usr/bin/env bash
# Every trail-bench subcommand runs (small sizes) and prints result lines of
# the agreed shape. A shape check, not a timing test.
set -euo pipefail
bench="$1"
check() {
  python3 -c '
import json, sys
lines = [l for l in sys.stdin if l.strip()]
assert lines, "no result lines"
for l in lines:
    r = json.loads(l)
    for k in ("bench", "p50_us", "p99_us", "floor", "floor_p50_us", "floor_wakeup"):
        assert k in r, f"missing {k}: {l}"
    # A ratio to the floor only where the result is a latency like it.
    assert ("ratio_p50" in r) == (r["bench"] != "throughput"), l
    assert r["floor"] in ("shm_rtt", "tcp_rtt", "tcp_oneway", "local_hop"), l
    assert r["floor_wakeup"] in ("block", "spin", "block_after_idle"), l
    assert r["p50_us"] > 0 and r["floor_p50_us"] > 0, l
print(len(lines), "result lines ok")'
}
"$bench" channel --json --trips 2000 | check
"$bench" local-hop --json --runs 20 | check
"$bench" e2e --json --runs 20 | check
"$bench" chain --json --length 50 --runs 1 | check
"$bench" fanout --json --width 100 --runs 1 | check
"$bench" remote-hop --json --runs 20 | check
"$bench" throughput --json --nodes 2 --runs 200 --rounds 1 | check
"$bench" remote-data --json --sizes 8B,1MiB --runs 5 | check
"$bench" remote-object --json --sizes 1MiB --runs 2 | check
"$bench" metrics --json --runs 50 | check
# all: every benchmark again, and a summary table with a row per result.
out=$("$bench" all --quick --json)
grep '^{' <<<"$out" | check
table=$(grep -c '^| [a-z]' <<<"$out")
[ "$table" -ge 15 ] || { echo "all: $table table rows"; exit 1; }
echo "all: $table table rows ok"
