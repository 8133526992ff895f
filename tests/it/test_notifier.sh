#!/usr/bin/env bash
# examples/notifier (Python: python3-confluent-kafka, python3-avro) against the demo's
# topics on the real test broker: `demo --bootstrap` writes every output kind, the
# notifier reads all output topics read_committed, decodes each with schemas/ and prints
# one notification per record. Every kind the demo reports must come out as its message,
# and a TierProgress message must say the amount that `decode` reads from the same record
# (minor units turned into money), an ExpiryWarning the local day before expires_at.
set -uo pipefail
src=${LS_SOURCE_DIR:?}
bin=${LS_BINARY:?}
bootstrap=$(cat "${LS_TEST_BROKER_DIR:?}/bootstrap") || { echo "FAIL: no test broker"; exit 1; }
py=/usr/bin/python3 # Debian's python, where python3-confluent-kafka and python3-avro are
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
"$py" -c 'import confluent_kafka, avro' || { echo "FAIL python3-confluent-kafka or python3-avro missing (./dev deps --test)"; exit 1; }

timeout 300 "$bin" demo --bootstrap "$bootstrap" --customers 200 --events 3000 --months 4 \
    --partitions 2 --seed 7 >"$tmp/demo.log" 2>&1 || { tail -30 "$tmp/demo.log"; echo "FAIL demo"; exit 1; }
summary=$(sed -n '/^Output events by kind:$/,$p' "$tmp/demo.log")
timeout 300 "$py" "$src/examples/notifier/notifier.py" --bootstrap "$bootstrap" \
    --group "notifier-test-$$" --timezone Europe/Moscow --until-eof >"$tmp/out.tsv" 2>"$tmp/err.log"
rc=$?
[ $rc -eq 0 ] && ok "notifier reads every output topic to its end" ||
    { fail "notifier exit $rc"; tail -20 "$tmp/err.log"; exit 1; }
grep -q '^skipped' "$tmp/err.log" && fail "notifier skipped records: $(grep -m3 '^skipped' "$tmp/err.log")"

# kind -> the shape of its message
declare -A shape=(
    [TierChanged]='^(Congratulations: you are now|Your status is now) (Classic|Silver|Gold) \(was (Classic|Silver|Gold)\)$'
    [BonusEarned]='^You earned [0-9,]+ points( \([a-z ]+\))?(; they expire on [0-9]{1,2} [A-Z][a-z]+)?$'
    [ExpiryWarning]='^[0-9,]+ points expire on [0-9]{1,2} [A-Z][a-z]+$'
    [PointsExpired]='^[0-9,]+ points expired on [0-9]{1,2} [A-Z][a-z]+$'
    [PointsReversed]='^[0-9,]+ points were taken back for a return of [^ ]+'
    [PointsRedeemed]='^You paid [0-9,]+(\.[0-9]{2})? RUB with [0-9,]+ points; [0-9,]+ points left$'
    [RedemptionRejected]='^Paying [0-9,]+ points was declined: '
    [RewardEarned]='^You earned a reward: '
    [TierWillDowngrade]='^Your (Silver|Gold) status ends on [0-9]{1,2} [A-Z][a-z]+ \(you will be (Classic|Silver)\) unless you shop before then$'
    [TierProgress]='^[0-9,]+(\.[0-9]{2})? RUB more to reach (Silver|Gold)$'
)
seen=0
for kind in "${!shape[@]}"; do
    want=$(awk -v k="$kind" '$1 == k { print $2; exit }' <<<"$summary")
    [ -n "$want" ] && [ "$want" -gt 0 ] || continue
    seen=$((seen + 1))
    got=$(awk -F'\t' -v k="$kind" '$1 == k' "$tmp/out.tsv" | wc -l)
    bad=$(awk -F'\t' -v k="$kind" '$1 == k { print $4 }' "$tmp/out.tsv" | grep -cvE "${shape[$kind]}")
    example=$(awk -F'\t' -v k="$kind" '$1 == k { print $4; exit }' "$tmp/out.tsv")
    if [ "$got" -ge "$want" ] && [ "$bad" -eq 0 ]; then
        ok "$kind: $got messages (the demo wrote $want), e.g. \"$example\""
    else
        fail "$kind: $got messages (want >= $want), $bad not shaped as ${shape[$kind]}; e.g. \"$example\""
    fi
done
[ $seen -ge 8 ] && ok "the demo wrote $seen kinds" || fail "the demo wrote only $seen kinds"

# The numbers: one TierProgress and one ExpiryWarning read by `decode` (the binary's own
# Avro reader) must give the same money and day as the notifier's message.
"$bin" decode --engine-json --bootstrap "$bootstrap" --topic loyalty.tier-progress --count 1 \
    >"$tmp/tp.json" 2>/dev/null
id=$(sed -n 's/.*"output_id":"\([^"]*\)".*/\1/p' "$tmp/tp.json" | head -1)
missing=$(sed -n 's/.*"missing":\([0-9]*\).*/\1/p' "$tmp/tp.json" | head -1)
next=$(sed -n 's/.*"next_tier":"\([^"]*\)".*/\1/p' "$tmp/tp.json" | head -1)
if [ -n "$id" ] && [ -n "$missing" ]; then
    whole=$(LC_ALL=C.UTF-8 "$py" -c "import sys; print(f'{int(sys.argv[1]) // 100:,}')" "$missing")
    cents=$((missing % 100))
    text="$whole RUB more to reach $next"
    [ $cents -ne 0 ] && text=$(printf '%s.%02d RUB more to reach %s' "$whole" "$cents" "$next")
    got=$(awk -F'\t' -v id="$id" '$3 == id { print $4; exit }' "$tmp/out.tsv")
    [ "$got" = "$text" ] && ok "TierProgress $id: missing $missing minor units -> \"$got\"" ||
        fail "TierProgress $id: missing $missing, notifier says \"$got\", want \"$text\""
else
    fail "decode read no TierProgress: $(head -c 300 "$tmp/tp.json")"
fi
"$bin" decode --engine-json --bootstrap "$bootstrap" --topic loyalty.expiry-warnings --count 1 \
    >"$tmp/ew.json" 2>/dev/null
id=$(sed -n 's/.*"output_id":"\([^"]*\)".*/\1/p' "$tmp/ew.json" | head -1)
exp=$(sed -n 's/.*"expires_at":"\([^"]*\)".*/\1/p' "$tmp/ew.json" | head -1)
pts=$(sed -n 's/.*"points":\([0-9]*\).*/\1/p' "$tmp/ew.json" | head -1)
if [ -n "$id" ] && [ -n "$exp" ]; then
    day=$("$py" -c "import sys; from datetime import datetime, timedelta; from zoneinfo import ZoneInfo
t = (datetime.fromisoformat(sys.argv[1].replace('Z', '+00:00')) - timedelta(milliseconds=1)).astimezone(ZoneInfo('Europe/Moscow'))
print(t.day, t.strftime('%B'))" "$exp")
    text=$(LC_ALL=C.UTF-8 "$py" -c "import sys; print(f'{int(sys.argv[1]):,}')" "$pts")" points expire on $day"
    got=$(awk -F'\t' -v id="$id" '$3 == id { print $4; exit }' "$tmp/out.tsv")
    [ "$got" = "$text" ] && ok "ExpiryWarning $id: expires_at $exp -> \"$got\"" ||
        fail "ExpiryWarning $id: expires_at $exp, notifier says \"$got\", want \"$text\""
else
    fail "decode read no ExpiryWarning: $(head -c 300 "$tmp/ew.json")"
fi
echo "passed $passed, failed $fails"
[ $fails -eq 0 ]
