#!/usr/bin/env bash
# Multi-host trail in network namespaces: a coordinator and three nodes, each
# in its own namespace, joined by veth pairs to a bridge in a "switch"
# namespace (the host's network is never touched). Deploys and invokes every
# example as scripts/demo does, runs the check files, and ends with a clean
# SIGTERM of every process. Without TLS every member listens on every
# interface (0.0.0.0), so nodes must reach the coordinator's ports at the
# address they dialed, and each other at the one it sees them at; with TLS,
# each on its own address.
#
#   netns_test.sh BIN_DIR EXAMPLES_DIR APPS_DIR
#
# Exit status: 0 all checks passed, 1 some failed, 77 skipped (no network
# namespaces here: needs root or CAP_NET_ADMIN; or trail-coordinator not built).
#
# Every member proves the cluster secret. With TRAIL_NETNS_TLS=1, every wire
# is TLS too (certificates from scripts/tls-certs). Either way a tap in the
# switch namespace (capture.py) keeps every packet between members, and the
# run ends by looking in it for plaintext: a session's argument and output,
# a node's address as the control and node wires spell it, the members'
# handshake magic. Without TLS each must be seen (the tap works); with TLS,
# none may be.
#
# Scratch files go under $TMPDIR (scripts/test makes a private one per run).
#
# Check files: APPS_DIR/cluster/*.check, then tests/cluster/*.check (beside
# this script), each in name order, one directive per line ('#' comments and
# blank lines are ignored; arguments are split on whitespace):
#
#   deploy MANIFEST            `trail deploy`; MANIFEST is relative to APPS_DIR
#                              unless absolute. Must succeed.
#   invoke APP [ARGS...]       `trail invoke` (synchronous). Must succeed unless
#                              an `expect_fail` follows.
#   invoke_async ID APP [ARGS...]
#                              `trail invoke --async`: returns once the session
#                              is accepted; its session id is remembered as ID.
#   wait ID                    `trail result` of session ID: like `invoke`.
#   expect OUTPUT              the last invoke/wait printed exactly OUTPUT (the
#                              rest of the line; trailing newlines ignored).
#   expect_fail                the last invoke/wait failed (exit status != 0).
#   cut NODE                   breaks every node-to-node connection of NODE
#                              (ss -K of those not to the coordinator, inside its
#                              namespace); the node and its peers stay up, and
#                              must notice and recover.
#   kill NODE                  SIGKILL node NODE (n1, n2 or n3); checks that its
#                              executors die with it. The node stays dead for the
#                              rest of the run, so put such checks in files that
#                              sort last.
#
# Every directive prints a PASS or FAIL line.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 BIN_DIR EXAMPLES_DIR APPS_DIR" >&2
  exit 2
fi
bin=$(realpath -m "$1")
examples=$(realpath -m "$2")
apps=$(realpath -m "$3")
here=$(cd "$(dirname "$0")" && pwd)
examples_src=$(realpath -m "$here/../../examples")   # the READMEs live in the source tree
tls=${TRAIL_NETNS_TLS:-0}

prefix="trl-$$-"                # every namespace of this run; the pid marks whose
subnet="10.211.$(( $$ % 250 + 1 ))"
coord_ip="$subnet.1"
coord_port=7500
node_port=7411
nodes=(n1 n2 n3)
ready_timeout_s=20
stop_timeout_s=10
cmd_timeout_s=90                # any one `trail` command

work=""                         # logs; made in main()
declare -A pid_of=()            # coordinator, n1.. -> pid (the `ip netns exec` became it)
declare -A ns_of=()             # coordinator, n1.. -> namespace
declare -A ip_of=()             # coordinator, n1.. -> address
member_args=()                  # what every member is started with: the secret, TLS
client_args=()                  # what `trail` is started with
capture_pid=""
failures=0
finished=0

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
skip() { echo "SKIP: $*"; exit 77; }

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# alive PID: exists and is not a zombie.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# until_ms DEADLINE_MS COMMAND...: polls COMMAND until it succeeds or the
# deadline passes (then fails).
until_ms() {
  local deadline=$1
  shift
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

# -- namespaces -------------------------------------------------------------

our_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix" || true; }

ns_empty() { [ -z "$(ip netns pids "$1" 2>/dev/null)" ]; }

none_alive() { local p; for p in "$@"; do alive "$p" && return 1; done; return 0; }

# Removes what dead trail processes left: shared memory and node state dirs.
remove_leftovers_of() {
  local p
  for p in "$@"; do
    alive "$p" && continue
    rm -rf /dev/shm/trail-"$p"-* "$tmp_root/trail-node-$p"
  done
}

# reap_namespace NS GRACE_S: SIGTERM everything running in NS, SIGKILL what is
# left after GRACE_S, then delete NS (its veth ends go with it).
reap_namespace() {
  local ns=$1 grace=$2 pids
  read -r -a pids <<<"$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
  if [ ${#pids[@]} -gt 0 ]; then
    if [ "$grace" -gt 0 ]; then
      kill -TERM "${pids[@]}" 2>/dev/null || true
      until_ms $(( $(now_ms) + grace * 1000 )) none_alive "${pids[@]}" || true
    fi
    kill -KILL "${pids[@]}" 2>/dev/null || true
    until_ms $(( $(now_ms) + 5000 )) none_alive "${pids[@]}" || true
    remove_leftovers_of "${pids[@]}"
  fi
  ip netns del "$ns" 2>/dev/null || true
}

# Namespaces of earlier runs whose test process is gone (killed by a ctest
# timeout, say): their processes and the namespaces themselves.
remove_stale_namespaces() {
  local ns pid dir
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns =~ ^trl-([0-9]+)- ]] || continue
    pid=${BASH_REMATCH[1]}
    [ "$pid" != $$ ] || continue
    if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q netns_test; then continue; fi
    echo "removing stale namespace $ns (its test, pid $pid, is gone)"
    reap_namespace "$ns" 0
  done
  for dir in "$tmp_root"/trail-netns-test-*.*; do
    [[ $dir =~ /trail-netns-test-([0-9]+)\.[^/]*$ ]] || continue
    alive "${BASH_REMATCH[1]}" || rm -rf "$dir"
  done
}

show_logs() {
  local f
  for f in "$work"/*.log; do
    [ -f "$f" ] || continue
    echo "---- $(basename "$f") (last 60 lines)" >&2
    tail -n 60 "$f" >&2
  done
}

cleanup() {
  local status=$? ns
  trap - EXIT INT TERM
  if [ $finished = 0 ] || [ $failures -gt 0 ]; then show_logs; fi
  # The nodes first (they may still talk to the coordinator), the switch last.
  for ns in $(our_namespaces | grep -v -e 'coordinator$' -e 'switch$'); do reap_namespace "$ns" "$stop_timeout_s"; done
  for ns in $(our_namespaces); do reap_namespace "$ns" "$stop_timeout_s"; done
  wait 2>/dev/null || true
  rm -rf "$work"
  exit "$status"
}

# add_host NAME IP: a namespace for NAME, its eth0 (IP/24) cabled to the switch.
add_host() {
  local name=$1 ip_addr=$2 ns="${prefix}$1"
  ip netns add "$ns"
  ip -n "${prefix}switch" link add "v-$name" type veth peer name eth0 netns "$ns"
  ip -n "${prefix}switch" link set "v-$name" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$ip_addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ns_of[$name]=$ns
  ip_of[$name]=$ip_addr
}

build_topology() {
  local i
  ip netns add "${prefix}switch"
  ip -n "${prefix}switch" link set lo up
  ip -n "${prefix}switch" link add br0 type bridge
  ip -n "${prefix}switch" link set br0 up
  add_host coordinator "$coord_ip"
  for i in "${!nodes[@]}"; do add_host "${nodes[$i]}" "$subnet.$((11 + i))"; done
}

# -- processes --------------------------------------------------------------

# start NAME COMMAND...: COMMAND in NAME's namespace, output to NAME.log.
start() {
  local name=$1
  shift
  ip netns exec "${ns_of[$name]}" "$@" </dev/null >"$work/$name.log" 2>&1 &
  pid_of[$name]=$!
}

has_line() { grep -qE "$2" "$work/$1.log" || ! alive "${pid_of[$1]}"; }

# wait_line NAME PATTERN: PASS once NAME.log has a line matching PATTERN.
wait_line() {
  local name=$1 pattern=$2
  if until_ms $(( $(now_ms) + ready_timeout_s * 1000 )) has_line "$name" "$pattern" &&
     grep -qE "$pattern" "$work/$name.log"; then
    pass "$name: $(grep -m1 -E "$pattern" "$work/$name.log")"
    return 0
  fi
  if alive "${pid_of[$name]}"; then
    fail "$name printed no line matching '$pattern' within ${ready_timeout_s} s"
  else
    fail "$name exited before printing a line matching '$pattern'"
  fi
  return 1
}

start_cluster() {
  local n
  # With a cluster secret, as a cluster on a real network runs: the
  # coordinator creates it; every node and client proves it holds it.
  # Without TLS every member listens on every interface, as on a real
  # machine: the nodes reach the coordinator's control and node wire ports
  # at the address they dialed, and are listed at the one it sees them at.
  local listen=$coord_ip
  [ "$tls" = 1 ] || listen=0.0.0.0
  start coordinator "$bin/trail-coordinator" --listen "$listen:$coord_port" "${member_args[@]}"
  wait_line coordinator "^trail-coordinator: listening on $listen:$coord_port\$" || return 1
  for n in "${nodes[@]}"; do
    start "$n" "$bin/trail-node" --coordinator "$coord_ip:$coord_port" \
      --listen "$([ "$tls" = 1 ] && echo "${ip_of[$n]}" || echo 0.0.0.0):$node_port" \
      --name "$n" --executors 2 --store-size 512M "${member_args[@]}"
  done
  local ok=0
  for n in "${nodes[@]}"; do
    wait_line "$n" "^trail-node: joined .* as $n\$" || ok=1
  done
  return $ok
}

# trail ARGS...: the client, run in the coordinator's namespace. Output on
# stdout; stderr to $work/stderr.
trail() {
  timeout "$cmd_timeout_s" ip netns exec "${ns_of[coordinator]}" \
    "$bin/trail" --connect "$coord_ip:$coord_port" "${client_args[@]}" "$@" </dev/null 2>"$work/stderr"
}

last_error() { tr '\n' ' ' <"$work/stderr" | cut -c1-300; }

# -- the examples, as scripts/demo runs them ----------------------------------

run_examples() {
  local readme ex manifest expected output invoke
  for readme in "$examples_src"/*/README.md; do
    ex=$(basename "$(dirname "$readme")")
    manifest="$examples/$ex/$ex.yaml"
    if [ ! -f "$manifest" ]; then fail "example $ex: $manifest not built"; continue; fi
    if ! trail deploy "$manifest" >/dev/null; then fail "example $ex: deploy: $(last_error)"; continue; fi
    # An example driven by its own program (README "Driven by:", e.g. a stream
    # of puts) deploys here; its driver has tests of its own.
    if grep -q '^Driven by: ' "$readme"; then echo "NOTE example $ex: deployed; $(sed -n 's/^Driven by: //p' "$readme")"; continue; fi
    read -r -a invoke <<<"$(sed -n 's/^Invoke: trail invoke //p' "$readme")"
    expected=$(sed -n 's/^Expected output: //p' "$readme")
    if [ ${#invoke[@]} -eq 0 ]; then fail "example $ex: README has no Invoke: line"; continue; fi
    if ! output=$(trail invoke "${invoke[@]}"); then
      fail "example $ex: trail invoke ${invoke[*]}: $(last_error)"
    elif [ "$output" != "$expected" ]; then
      fail "example $ex: trail invoke ${invoke[*]}: got '$output', wanted '$expected'"
    else
      pass "example $ex: trail invoke ${invoke[*]} -> $output"
    fi
  done
}

# -- check files ------------------------------------------------------------

# kill_node NAME: SIGKILL, then the node's executors must follow it.
kill_node() {
  local name=$1 where=$2 pid=${pid_of[$1]:-} pids
  if [ -z "$pid" ] || ! alive "$pid"; then fail "$where: kill $name: no such running node"; return; fi
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  if until_ms $(( $(now_ms) + stop_timeout_s * 1000 )) ns_empty "${ns_of[$name]}"; then
    pass "$where: kill $name (pid $pid): the node and its executors are gone"
  else
    read -r -a pids <<<"$(ip netns pids "${ns_of[$name]}" | tr '\n' ' ')"
    fail "$where: kill $name: processes outlived the node for ${stop_timeout_s} s: ${pids[*]}"
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  # A SIGKILLed node cannot clean up after itself; the test does.
  remove_leftovers_of "$pid"
}

cut_node() {
  local name=$1 where=$2 killed
  if [ -z "${ns_of[$name]:-}" ]; then fail "$where: cut $name: no such node"; return; fi
  # Its connections that do not lead to the coordinator lead to peers (the
  # control connections between their CAF ports, and data-path ones).
  killed=$(ip netns exec "${ns_of[$name]}" ss -K -tn state established "( not dst $coord_ip )" 2>&1 | grep -c "$subnet" || true)
  if [ "$killed" -gt 0 ]; then
    pass "$where: cut $name: $killed node-to-node connections broken"
  else
    fail "$where: cut $name: no connection to break (ss -K unsupported?)"
  fi
}

# run_check_file FILE: the directives of FILE (see the top of this script).
run_check_file() {
  local file=$1 base label lineno=0 line verb rest words manifest
  local pending="" last_rc=0 last_out="" last_err=""
  local -A sessions=()
  # A result nobody `expect`ed must at least have succeeded.
  settle() {
    if [ -n "$pending" ]; then
      if [ "$last_rc" = 0 ]; then pass "$pending"; else fail "$pending: $last_err"; fi
      pending=""
    fi
  }
  run_client() {   # run_client LABEL ARGS...: sets last_rc, last_out, last_err
    pending=$1
    shift
    last_rc=0
    last_out=$(trail "$@") || last_rc=$?
    last_err=$(last_error)
  }
  base=$(basename "$file")
  while IFS= read -r -u 3 line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    line="${line#"${line%%[![:space:]]*}"}"
    if [ -z "$line" ] || [ "${line:0:1}" = "#" ]; then continue; fi
    verb=${line%%[[:space:]]*}
    rest=""
    [ "$verb" = "$line" ] || rest=${line#"$verb"[[:space:]]}
    read -r -a words <<<"$rest"
    label="$base:$lineno: $verb $rest"
    case $verb in
      expect|expect_fail) ;;
      *) settle ;;
    esac
    case $verb in
      deploy)
        manifest=${words[0]:-}
        [[ $manifest == /* ]] || manifest="$apps/$manifest"
        if trail deploy "$manifest" >/dev/null; then pass "$label"; else fail "$label: $(last_error)"; fi ;;
      invoke)
        run_client "$label" invoke "${words[@]}" ;;
      invoke_async)
        if [ ${#words[@]} -lt 2 ]; then fail "$label: wants ID APP [ARGS...]"; continue; fi
        if sessions[${words[0]}]=$(trail invoke "${words[@]:1}" --async) && [ -n "${sessions[${words[0]}]}" ]; then
          pass "$label: accepted as session ${sessions[${words[0]}]}"
        else
          fail "$label: $(last_error)"
        fi ;;
      wait)
        if [ -z "${sessions[${words[0]:-}]:-}" ]; then fail "$label: no session '${words[0]:-}' (invoke_async it first)"; continue; fi
        run_client "$label (session ${sessions[${words[0]}]})" result "${sessions[${words[0]}]}" ;;
      expect|expect_fail)
        if [ -z "$pending" ]; then fail "$label: no invoke or wait before it"; continue; fi
        if [ "$verb" = expect_fail ]; then
          if [ "$last_rc" != 0 ]; then pass "$pending: failed as expected ($last_err)"; else fail "$pending: succeeded with '$last_out', expected a failure"; fi
        elif [ "$last_rc" != 0 ]; then
          fail "$pending: $last_err"
        elif [ "$last_out" = "$rest" ]; then
          pass "$pending -> $last_out"
        else
          fail "$pending: got '$last_out', wanted '$rest'"
        fi
        pending="" ;;
      kill)
        kill_node "${words[0]:-}" "$base:$lineno" ;;
      cut)
        cut_node "${words[0]:-}" "$base:$lineno" ;;
      *)
        fail "$label: unknown directive '$verb'" ;;
    esac
  done 3<"$file"
  settle
}

run_checks() {
  local f checks=() covered
  if [ -d "$apps/cluster" ]; then
    for f in "$apps"/cluster/*.check; do [ -f "$f" ] && checks+=("$f"); done
    for f in "$apps"/cluster/*.yaml; do
      [ -f "$f" ] || continue
      covered=0
      for c in "${checks[@]}"; do grep -qE "^[[:space:]]*deploy[[:space:]]+(cluster/)?$(basename "$f")([[:space:]]|\$)" "$c" && covered=1; done
      [ $covered = 1 ] || echo "NOTE: $f is deployed by no $apps/cluster/*.check file"
    done
  fi
  [ ${#checks[@]} -gt 0 ] || echo "NOTE: no $apps/cluster/*.check files yet"
  for f in "$here"/*.check; do [ -f "$f" ] && checks+=("$f"); done
  for f in "${checks[@]}"; do
    echo "== $f"
    run_check_file "$f"
  done
}

# -- the end: every process stops cleanly on SIGTERM -------------------------

stop_cluster() {
  local name pid
  for name in "${nodes[@]}" coordinator; do
    pid=${pid_of[$name]:-}
    if [ -z "$pid" ] || ! alive "$pid"; then continue; fi
    kill -TERM "$pid"
    if until_ms $(( $(now_ms) + stop_timeout_s * 1000 )) ns_empty "${ns_of[$name]}"; then
      wait "$pid" 2>/dev/null || true
      local f left=""
      for f in /dev/shm/trail-"$pid"-* "$tmp_root/trail-node-$pid"; do [ -e "$f" ] && left+="$f "; done
      if [ -z "$left" ]; then pass "$name stopped on SIGTERM and left nothing behind"; else fail "$name stopped on SIGTERM but left $left"; fi
    else
      fail "$name (or a process it started) still ran ${stop_timeout_s} s after SIGTERM"
    fi
  done
}

# Starts the tap in the switch namespace: every frame crossing it goes to
# $work/capture.bin.
start_capture() {
  ip netns exec "${prefix}switch" python3 "$here/capture.py" "$work/capture.bin" >"$work/capture.log" 2>&1 &
  capture_pid=$!
  if until_ms $(( $(now_ms) + ready_timeout_s * 1000 )) grep -q '^capturing' "$work/capture.log"; then
    pass "a tap keeps every packet between members"
  else
    fail "the tap did not start: $(tr '\n' ' ' <"$work/capture.log" | cut -c1-300)"
  fi
}

# One session whose argument and output are easy to find, then the tap's
# verdict on what crossed between members in plaintext.
check_capture() {
  local needle="okapi-needle-7f3c" word seen
  local output
  if output=$(trail invoke chain "$needle") && [ "$output" = "<${needle^^}>" ]; then
    pass "capture: trail invoke chain $needle -> $output"
  else
    fail "capture: trail invoke chain $needle: got '${output:-}' ($(last_error))"
  fi
  [ -n "$capture_pid" ] && kill -TERM "$capture_pid" 2>/dev/null && wait "$capture_pid" 2>/dev/null || true
  local size
  size=$(stat -c %s "$work/capture.bin" 2>/dev/null || echo 0)
  for word in "$needle" "${needle^^}" "${ip_of[n2]}:" "trail-m1"; do
    seen=$(grep -c -a -F -- "$word" "$work/capture.bin" 2>/dev/null || true)
    if [ "$tls" = 1 ]; then
      if [ "${seen:-0}" = 0 ]; then pass "capture ($size bytes): no '$word' in plaintext between members (TLS)"
      else fail "capture: '$word' crossed between members in plaintext despite TLS ($seen packets)"; fi
    else
      if [ "${seen:-0}" != 0 ]; then pass "capture ($size bytes): '$word' seen between members without TLS"
      else fail "capture: the tap never saw '$word' between members without TLS: does it work?"; fi
    fi
  done
}

main() {
  tmp_root=$(dirname "$(mktemp -u)")  # $TMPDIR, or the system default
  command -v ip >/dev/null || skip "no 'ip' command (iproute2)"
  [ -x "$bin/trail-coordinator" ] || skip "$bin/trail-coordinator is not built (multi-node mode)"
  work=$(mktemp -d "$tmp_root/trail-netns-test-$$.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if ! ip netns add "${prefix}probe" 2>"$work/stderr"; then
    skip "cannot create a network namespace (needs root or CAP_NET_ADMIN): $(last_error)"
  fi
  ip netns del "${prefix}probe"
  remove_stale_namespaces
  build_topology
  echo "topology: switch ${prefix}switch (br0), coordinator $coord_ip, nodes $subnet.11-$((10 + ${#nodes[@]}))"
  member_args=(--secret-file "$work/secret")
  client_args=(--secret-file "$work/secret")
  if [ "$tls" = 1 ]; then
    "$here/../../scripts/tls-certs" "$work/tls" >/dev/null
    member_args+=(--tls-cert "$work/tls/trail.pem" --tls-key "$work/tls/trail.key" --tls-ca "$work/tls/ca.pem")
    client_args+=(--tls-ca "$work/tls/ca.pem")
    echo "TLS on every wire"
  fi
  start_capture
  if start_cluster; then
    run_examples
    run_checks
    check_capture
    stop_cluster
  fi
  finished=1
  echo "$failures failed"
  [ $failures = 0 ]
}

main
