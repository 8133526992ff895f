#!/usr/bin/env bash
# Corrupt local state (docs/OPERATIONS.md, "Corrupt local state"): a store RocksDB reports
# as corrupt stops `run` with exit 2 and a message naming `reset`; `reset` deletes it (and
# refuses a store in use); state.reset.on.corruption wipes it at start-up. No Kafka needed:
# the store is opened before the brokers are asked anything.
set -u
bin=$1
fails=0 passed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; shift; [ $# -gt 0 ] && head -20 "$@"; fails=$((fails + 1)); }
printf 'name: t\ncurrency: USD\ntimezone: UTC\nearning:\n  base_percent: 1\n' >"$tmp/ok.yaml"
printf 'bootstrap.servers = 127.0.0.1:1\nprogram.file = %s\nstate.dir = %s/state\nhttp.port = -1\n' \
    "$tmp/ok.yaml" "$tmp" >"$tmp/run.properties"

# run_for SECONDS EXTRA_ENV...: run, SIGTERM after SECONDS (unless it exits first); $rc.
run_for() {
    local secs=$1; shift
    env "$@" "$bin" run --config "$tmp/run.properties" >"$tmp/run.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 $((secs * 20))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"; rc=$?
}
corrupt() { # point CURRENT at a manifest that is garbage
    printf 'MANIFEST-999999\n' >"$tmp/state/CURRENT"
    printf 'this is not a manifest at all, definitely not' >"$tmp/state/MANIFEST-999999"
}

run_for 1 # creates the store, then waits for the broker until SIGTERM
if [ "$rc" = 0 ] && [ -f "$tmp/state/CURRENT" ]; then ok run_creates_store; else fail "run_creates_store: exit $rc" "$tmp/run.log"; fi

corrupt
run_for 5
if [ "$rc" = 2 ] && grep -q 'is corrupt' "$tmp/run.log" && grep -q 'loyalty-stream reset --state' "$tmp/run.log"; then
    ok corrupt_store_exits_2_naming_reset
else fail "corrupt_store_exits_2_naming_reset: exit $rc" "$tmp/run.log"; fi

out=$("$bin" reset --state "$tmp/state" --task 1 2>&1); rc=$?
if [ "$rc" = 1 ] && grep -q 'omit --task' <<<"$out"; then ok reset_task_of_corrupt_store_says_reset_all
else fail "reset_task_of_corrupt_store_says_reset_all: exit $rc: $out"; fi

out=$("$bin" reset --state "$tmp/state" 2>&1); rc=$?
if [ "$rc" = 0 ] && [ ! -e "$tmp/state/CURRENT" ] && [ ! -e "$tmp/state/MANIFEST-999999" ]; then ok reset_deletes_corrupt_store
else fail "reset_deletes_corrupt_store: exit $rc: $out"; ls "$tmp/state"; fi

run_for 1
if [ "$rc" = 0 ] && [ -f "$tmp/state/CURRENT" ]; then ok run_after_reset_starts_with_empty_store; else fail "run_after_reset: exit $rc" "$tmp/run.log"; fi

out=$("$bin" reset --state "$tmp/state" --task 3 2>&1); rc=$?
if [ "$rc" = 0 ] && grep -q 'has no task 3' <<<"$out"; then ok reset_task_without_task_is_fine
else fail "reset_task_without_task_is_fine: exit $rc: $out"; fi

# A store in use is refused.
"$bin" run --config "$tmp/run.properties" >"$tmp/run.log" 2>&1 &
pid=$!
sleep 1
out=$("$bin" reset --state "$tmp/state" 2>&1); rc=$?
kill -TERM "$pid"; wait "$pid"
if [ "$rc" = 1 ] && grep -q 'still running' <<<"$out" && [ -f "$tmp/state/CURRENT" ]; then ok reset_refuses_store_in_use
else fail "reset_refuses_store_in_use: exit $rc: $out"; fi

corrupt
run_for 1 LOYALTY_STATE_RESET_ON_CORRUPTION=true
if [ "$rc" = 0 ] && grep -q 'state store is corrupt: deleting it' "$tmp/run.log" && [ ! -e "$tmp/state/MANIFEST-999999" ]; then
    ok reset_on_corruption_wipes_at_start
else fail "reset_on_corruption_wipes_at_start: exit $rc" "$tmp/run.log"; fi

out=$("$bin" reset 2>&1); rc=$?
if [ "$rc" = 2 ] && grep -q -- '--state DIR is required' <<<"$out"; then ok reset_without_state_is_usage_error
else fail "reset_without_state_is_usage_error: exit $rc: $out"; fi
out=$("$bin" reset --state "$tmp/state" --task x 2>&1); rc=$?
if [ "$rc" = 2 ]; then ok reset_bad_task_is_usage_error; else fail "reset_bad_task_is_usage_error: exit $rc: $out"; fi

echo "$passed passed, $fails failed"
[ "$fails" = 0 ]
