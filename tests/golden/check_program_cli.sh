#!/usr/bin/env bash
# The command line of check-program and replay: exit codes, error format, final state.
# usage: check_program_cli.sh BINARY SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" check-program "$src/examples/programs/02-period-award/program.yaml" >"$tmp/out" ||
    fail "valid program refused"
grep -q '^OK: ' "$tmp/out" || fail "no OK line"
grep -q 'period award' "$tmp/out" || fail "no summary"

printf 'currency: RUB\ntimezone: Europe/Moscow\nexpiry:\n  mode: whenever\n  warnigs: [1]\n' >"$tmp/bad.yaml"
"$bin" check-program "$tmp/bad.yaml" 2>"$tmp/err" && fail "invalid program accepted"
[ $? -eq 1 ] || fail "exit code not 1"
grep -q "bad.yaml:4:9: expiry.mode: 'whenever' is not one of" "$tmp/err" || fail "enum error: $(cat "$tmp/err")"
grep -q 'bad.yaml:5:3: expiry.warnigs: unknown key' "$tmp/err" || fail "unknown key: $(cat "$tmp/err")"

"$bin" check-program >/dev/null 2>&1
[ $? -eq 2 ] || fail "check-program without a file must exit 2"
"$bin" replay --input x >/dev/null 2>&1
[ $? -eq 2 ] || fail "replay without --program must exit 2"

d="$src/examples/programs/02-period-award"
printf '{"type":"purchase","event_id":"z","customer_id":"zoe","time":"2026-03-01T10:00:00Z","lines":[{"amount":100}]}\n{"type":"purchase"\n' >"$tmp/in.jsonl"
cat "$d/input.jsonl" >>"$tmp/in.jsonl"
"$bin" replay --program "$d/program.yaml" --input "$tmp/in.jsonl" --final-state "$tmp/fs.jsonl" \
    >"$tmp/out" 2>"$tmp/err" || fail "replay failed"
grep -q 'in.jsonl:2: skipped' "$tmp/err" || fail "bad line not reported"
[ "$(cut -d'"' -f4 "$tmp/fs.jsonl" | tr '\n' ' ')" = "anna boris vera zed zoe " ] ||
    fail "final state not sorted: $(cut -d'"' -f4 "$tmp/fs.jsonl")"
# the same input twice gives byte-identical outputs
"$bin" replay --program "$d/program.yaml" --input "$tmp/in.jsonl" >"$tmp/out2" 2>/dev/null
cmp -s "$tmp/out" "$tmp/out2" || fail "replay is not deterministic"
# the future-time rule: an event more than --max-future-ms ahead of --now is skipped and
# moves no clock (the year 2199 must not expire zed's lots), as `run` dead-letters it
printf '{"type":"purchase","event_id":"far","customer_id":"zed","time":"2199-06-01T00:00:00Z","lines":[{"amount":100}]}\n' >"$tmp/future.jsonl"
cat "$d/input.jsonl" >>"$tmp/future.jsonl"
"$bin" replay --program "$d/program.yaml" --input "$tmp/future.jsonl" --now 2027-01-01T00:00:00Z \
    >"$tmp/fut-out" 2>"$tmp/fut-err" || fail "replay with a future event failed"
grep -q 'future.jsonl:1: skipped: future_time: event far' "$tmp/fut-err" ||
    fail "future event not skipped: $(cat "$tmp/fut-err")"
"$bin" replay --program "$d/program.yaml" --input "$d/input.jsonl" --now 2027-01-01T00:00:00Z \
    >"$tmp/ref-out" 2>/dev/null || fail "replay failed"
cmp -s "$tmp/fut-out" "$tmp/ref-out" || fail "a skipped future event changed the outputs"
"$bin" replay --program "$d/program.yaml" --input "$tmp/future.jsonl" --now 2199-06-01T00:00:00Z \
    --max-future-ms 0 >/dev/null 2>"$tmp/fut-err" || fail "replay failed"
grep -q 'future_time' "$tmp/fut-err" && fail "an event at --now was skipped"
"$bin" replay --program "$d/program.yaml" --input x --now yesterday >/dev/null 2>&1
[ $? -eq 2 ] || fail "replay --now with a bad time must exit 2"
echo ok
