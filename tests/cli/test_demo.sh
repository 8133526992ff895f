#!/usr/bin/env bash
# A short `loyalty-stream demo` (embedded mock cluster, fixed seed) shows every headline
# output: its closing summary counts tier changes up and down, earned bonuses, expiry
# warnings, expired, redeemed and reversed points, downgrade warnings and progress nudges,
# all above zero, and its samples hold one decoded event of each (issue 16, item 4).
set -u
bin=$1
fails=0 passed=0
out=$("$bin" demo --customers 200 --events 3000 --months 4 --partitions 2 --seed 7 2>&1)
rc=$?
if [ "$rc" != 0 ]; then
    echo "FAIL demo exits $rc, output:"
    echo "$out" | tail -30
    exit 1
fi
summary=$(sed -n '/^Output events by kind:$/,$p' <<<"$out")
# count KIND: the number after the kind's name in the summary ("" when missing)
count() { awk -v k="$1" '$1 == k { print $2; exit }' <<<"$summary"; }
positive() { # positive NAME VALUE
    if [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ]; then
        echo "ok   $1 = $2"; passed=$((passed + 1))
    else
        echo "FAIL $1 = '${2}' (want > 0)"; fails=$((fails + 1))
    fi
}
for kind in TierChanged BonusEarned ExpiryWarning PointsExpired PointsReversed PointsRedeemed \
    TierWillDowngrade TierProgress; do
    positive "$kind" "$(count "$kind")"
done
tier=$(grep -E '^  TierChanged ' <<<"$summary")
positive "TierChanged up" "$(sed -n 's/.*(up \([0-9]*\), down [0-9]*).*/\1/p' <<<"$tier")"
positive "TierChanged down" "$(sed -n 's/.*(up [0-9]*, down \([0-9]*\)).*/\1/p' <<<"$tier")"
sample() { # sample NAME PATTERN: a decoded sample line matches
    if grep -qE -- "^  \{\"type\":$2" <<<"$out"; then
        echo "ok   sample $1"; passed=$((passed + 1))
    else
        echo "FAIL no sample $1"; fails=$((fails + 1))
    fi
}
sample "TierChanged up" '"TierChanged".*"direction":1,'
sample "TierChanged down" '"TierChanged".*"direction":-1,'
sample "BonusEarned (monthly award)" '"BonusEarned".*"source":"period"'
sample "BonusEarned (purchase)" '"BonusEarned".*"source":"purchase"'
for kind in ExpiryWarning PointsExpired PointsReversed PointsRedeemed TierWillDowngrade \
    TierProgress; do
    sample "$kind" "\"$kind\""
done
if [ "$fails" != 0 ]; then
    echo "--- the demo's output:"
    echo "$out" | tail -40
fi
echo "$passed passed, $fails failed"
[ "$fails" = 0 ]
