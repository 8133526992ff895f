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
"$bin" replay --program "$d/program.yaml" --input "$tmp/in.jsonl" --final-state-raw "$tmp/fs.jsonl" \
    --final-state "$tmp/view.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] || fail "replay that skipped a line must exit 1"
grep -q 'in.jsonl:2: skipped' "$tmp/err" || fail "bad line not reported"
grep -q 'replay: 1 event skipped (see above); exit 1 (--tolerate-skipped to accept)' "$tmp/err" ||
    fail "no reason for exit 1: $(tail -3 "$tmp/err")"
[ "$(cut -d'"' -f4 "$tmp/fs.jsonl" | tr '\n' ' ')" = "anna boris vera zed zoe " ] ||
    fail "final state not sorted: $(cut -d'"' -f4 "$tmp/fs.jsonl")"
# the readable final state: tier names, local periods and times, lots with their source
grep -q '^{"customer_id":"anna","tier":"member","tier_since":"2026-03-02T11:00:00+03:00"' "$tmp/view.jsonl" ||
    fail "final state without tier names or local times: $(head -1 "$tmp/view.jsonl")"
grep '"customer_id":"anna"' "$tmp/view.jsonl" | grep -q '"qualifying":{"metric":"spend","window":"calendar_month","periods":\[{"period":"2026-03","value":500000,"value_text":"5000.00 RUB"}' ||
    fail "qualifying windows not readable: $(head -1 "$tmp/view.jsonl")"
head -3 "$d/input.jsonl" >"$tmp/anna.jsonl" # March's purchases: the award lot on April 1
"$bin" replay --program "$d/program.yaml" --input "$tmp/anna.jsonl" --until 2026-04-02T00:00:00+03:00 \
    --final-state "$tmp/anna-view.jsonl" >/dev/null 2>&1 || fail "replay --until failed"
grep -q '"lots":\[{"points":750,"of":750,"source":"period_award","earned_at":"2026-04-01T00:00:00+03:00","usable_from":"2026-04-01T00:00:00+03:00","expires_at":"2026-05-01T00:00:00+03:00"}\]' \
    "$tmp/anna-view.jsonl" || fail "lots not readable: $(cat "$tmp/anna-view.jsonl")"
grep -q '"balance":750,"balance_value":"750.00 RUB"' "$tmp/anna-view.jsonl" ||
    fail "balance without its value: $(cat "$tmp/anna-view.jsonl")"
"$bin" replay --program "$d/program.yaml" --input "$tmp/in.jsonl" --tolerate-skipped >/dev/null 2>&1 ||
    fail "replay --tolerate-skipped must exit 0"
# the same input twice gives byte-identical outputs
"$bin" replay --program "$d/program.yaml" --input "$tmp/in.jsonl" >"$tmp/out2" 2>/dev/null
cmp -s "$tmp/out" "$tmp/out2" || fail "replay is not deterministic"
# the future-time rule: an event more than --max-future-ms ahead of --now is skipped and
# moves no clock (the year 2199 must not expire zed's lots), as `run` dead-letters it
printf '{"type":"purchase","event_id":"far","customer_id":"zed","time":"2199-06-01T00:00:00Z","lines":[{"amount":100}]}\n' >"$tmp/future.jsonl"
cat "$d/input.jsonl" >>"$tmp/future.jsonl"
"$bin" replay --program "$d/program.yaml" --input "$tmp/future.jsonl" --now 2027-01-01T00:00:00Z \
    --tolerate-skipped >"$tmp/fut-out" 2>"$tmp/fut-err" || fail "replay with a future event failed"
grep -q 'future.jsonl:1: skipped: future_time: event far' "$tmp/fut-err" ||
    fail "future event not skipped: $(cat "$tmp/fut-err")"
"$bin" replay --program "$d/program.yaml" --input "$d/input.jsonl" --now 2027-01-01T00:00:00Z \
    >"$tmp/ref-out" 2>/dev/null || fail "replay failed"
cmp -s "$tmp/fut-out" "$tmp/ref-out" || fail "a skipped future event changed the outputs"
# (zed's 2199 purchase is accepted then, and the example's 2026 events after it are older than
# the program's maximum lateness: skipped as too_late, as `run` dead-letters them)
"$bin" replay --program "$d/program.yaml" --input "$tmp/future.jsonl" --now 2199-06-01T00:00:00Z \
    --max-future-ms 0 --tolerate-skipped >/dev/null 2>"$tmp/fut-err" || fail "replay failed"
grep -q 'future_time' "$tmp/fut-err" && fail "an event at --now was skipped"
grep -q 'future.jsonl:2: skipped: too_late: event p1 is' "$tmp/fut-err" ||
    fail "a late event not skipped as too_late: $(cat "$tmp/fut-err")"
"$bin" replay --program "$d/program.yaml" --input x --now yesterday >/dev/null 2>&1
[ $? -eq 2 ] || fail "replay --now with a bad time must exit 2"

# A purchase without lines is refused with its reason; a return of a purchase the state does
# not hold is named (nothing is reversed), not passed over in silence.
printf '%s\n' '{"type":"purchase","event_id":"nolines","customer_id":"anna","time":"2026-03-01T10:00:00Z"}' \
    '{"type":"return","event_id":"r9","customer_id":"anna","time":"2026-03-02T10:00:00Z","original_event_id":"nope","lines":[{"amount":100}]}' \
    '{"type":"purchase","event_id":"dec","customer_id":"anna","time":"2026-03-03T10:00:00Z","lines":[{"amount":15.50}]}' \
    >"$tmp/bad-events.jsonl"
"$bin" replay --program "$d/program.yaml" --input "$tmp/bad-events.jsonl" >/dev/null 2>"$tmp/be-err"
[ $? -eq 1 ] || fail "replay of refused events must exit 1"
grep -q "bad-events.jsonl:1: skipped: event nolines: a purchase needs at least one line in 'lines'" "$tmp/be-err" ||
    fail "purchase without lines: $(cat "$tmp/be-err")"
grep -q "bad-events.jsonl:2: note: return r9: purchase nope is not among customer anna's last 16 purchases; nothing reversed" "$tmp/be-err" ||
    fail "return of an unknown purchase: $(cat "$tmp/be-err")"
grep -q "bad-events.jsonl:3: skipped: lines\[0\].amount: expected whole minor units (an integer: 15.50 in a currency with 2 decimals is written 1550)" "$tmp/be-err" ||
    fail "decimal amount: $(cat "$tmp/be-err")"

# check-program: warnings are printed with their reading, and the program still loads
printf 'currency: EUR\ntimezone: UTC\nearning:\n  base_percent: 0.02\n' >"$tmp/warn.yaml"
"$bin" check-program "$tmp/warn.yaml" >"$tmp/w-out" 2>"$tmp/w-err" || fail "a program with warnings is valid"
grep -q '^OK: .*warn.yaml (with warnings)' "$tmp/w-out" || fail "no OK line: $(cat "$tmp/w-out")"
grep -q 'warn.yaml:4:17: earning.base_percent: warning: 0.02 is read as 0.02 percent' "$tmp/w-err" ||
    fail "small percentage not warned: $(cat "$tmp/w-err")"
grep -q 'point_value: warning: not set: one point is worth one whole EUR (1.00 EUR), so 0.02% of a 40.00 EUR purchase is 0.0080 points, floored to 0' "$tmp/w-err" ||
    fail "missing point_value not warned: $(cat "$tmp/w-err")"
echo ok
