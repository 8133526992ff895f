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
echo ok
