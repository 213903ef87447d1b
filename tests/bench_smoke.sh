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
    assert r["floor"] in ("shm_rtt", "tcp_rtt", "tcp_oneway", "local_hop", "put_rtt", "in_memory_sort", "process_spawn"), l
    assert r["floor_wakeup"] in ("block", "spin", "block_after_idle", "none"), l
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
# Three coordinators sharing an etcd the bench starts: one holds the shards, two stand by;
# every invoke through the holder, which keeps it in etcd.
out=$("$bench" throughput --json --nodes 2 --coordinators 3 --via-coordinator --runs 200 --rounds 1)
echo "$out" | check
echo "$out" | python3 -c 'import json, sys
r = [json.loads(l) for l in sys.stdin if l.startswith("{")][-1]
assert r["coordinators"] == 3 and r["etcd"] is True and r["mode"] == "cluster" and r["via_coordinator"] is True, r'
# ... with two partitions: two of them act at once, one app each.
out=$("$bench" throughput --json --nodes 2 --coordinators 3 --partitions 2 --via-coordinator --runs 200 --rounds 1)
echo "$out" | check
echo "$out" | python3 -c 'import json, sys
r = [json.loads(l) for l in sys.stdin if l.startswith("{")][-1]
assert r["coordinators"] == 3 and r["partitions"] == 2 and r["invocations_per_s"] > 0, r'
# An executor crash, a node SIGKILLed, the coordinator SIGKILLed: each session still ends.
out=$("$bench" recovery --json --runs 2)
echo "$out" | check
echo "$out" | python3 -c 'import json, sys
cases = [json.loads(l)["case"] for l in sys.stdin if l.startswith("{")]
assert cases == ["executor-crash", "node-loss", "coordinator-failover"], cases'
"$bench" remote-data --json --sizes 8B,1MiB --runs 5 | check
"$bench" remote-object --json --sizes 1MiB --runs 2 | check
# With TLS on every wire and the secret inside it (certificates from scripts/tls-certs).
tls_dir=$(mktemp -d)
trap 'rm -rf "$tls_dir"' EXIT
"$(dirname "$0")/../scripts/tls-certs" "$tls_dir" >/dev/null
for sub in "e2e --runs 20" "remote-hop --runs 20" "remote-data --sizes 8B,1MiB --runs 5" "remote-object --sizes 1MiB --runs 2"; do
  # shellcheck disable=SC2086
  lines=$("$bench" --secret --tls "$tls_dir" $sub --json)
  check <<<"$lines"
  python3 -c 'import json,sys; assert all(json.loads(l).get("tls") is True and json.loads(l).get("auth") is True for l in sys.stdin if l.strip()), "a line without tls and auth"' <<<"$lines"
done
# With authentication on: the same lines, each saying so.
for sub in "e2e --runs 20" "remote-hop --runs 20" "remote-data --sizes 8B,1MiB --runs 5"; do
  # shellcheck disable=SC2086
  lines=$("$bench" --secret $sub --json)
  check <<<"$lines"
  python3 -c 'import json,sys; assert all(json.loads(l).get("auth") is True for l in sys.stdin if l.strip()), "a line without auth"' <<<"$lines"
done
"$bench" metrics --json --runs 50 | check
"$bench" redis --json --runs 20 --payloads 100B,1MiB | check
"$bench" streaming --json --rate 1000 --for 2 | check
"$bench" sort --json --size 1M --runs 1 | check
# all: every benchmark again, and a summary table with a row per result.
out=$("$bench" all --quick --json)
grep '^{' <<<"$out" | check
table=$(grep -c '^| [a-z]' <<<"$out")
[ "$table" -ge 15 ] || { echo "all: $table table rows"; exit 1; }
echo "all: $table table rows ok"
# paper: every figure's data and SVG from one command, and a table per figure.
out_dir=$(mktemp -d)  # (under TMPDIR, as every test scratch path)
out=$("$bench" paper --quick --out "$out_dir")
python3 - "$out_dir" <<'PY'
import json, pathlib, sys
d = pathlib.Path(sys.argv[1])
results = json.loads((d / "results.json").read_text())
assert results and all("bench" in r for r in results), "results.json"
figs = sorted(p.stem for p in d.glob("*.svg"))
for name in ("hop-local", "hop-remote", "chain", "fanout", "throughput", "streaming", "sort"):
    assert name in figs, f"no {name}.svg among {figs}"
    svg = (d / f"{name}.svg").read_text()
    assert "<svg" in svg and "trail p50" in svg and "</svg>" in svg, name
    rows = [l for l in (d / f"{name}.dat").read_text().splitlines() if not l.startswith("#")]
    assert len(rows) >= 2, f"{name}: {rows}"
    for r in rows:
        x, p50, p99, floor = map(float, r.split())
        assert p50 > 0 and floor > 0, f"{name}: {r}"
print("paper:", len(figs), "figures ok")
PY
[ "$(grep -c '^### ' <<<"$out")" -ge 7 ] || { echo "paper: too few tables"; exit 1; }
for r in streaming sort; do  # the case studies' results were checked, not only timed
  python3 -c 'import json,sys; rs=[r for r in json.load(open(sys.argv[1])) if r["bench"]==sys.argv[2]]; assert rs and all(r.get("exact", r.get("validated")) for r in rs), rs' "$out_dir/results.json" "$r"
done
rm -rf "$out_dir"
