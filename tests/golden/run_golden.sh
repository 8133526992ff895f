#!/usr/bin/env bash
# Golden replays: for every examples/programs/<dir> with a program.yaml, run
#   loyalty-stream replay --program program.yaml --input input.jsonl --tolerate-skipped \
#       --now 2030-01-01T00:00:00Z
# inside that directory (a fixed --now after every example's events, so that the
# future-time check does not depend on the day the test runs) and compare stdout with
# expected.jsonl and stderr (the summary and the bad-line reports) with
# expected-summary.txt, byte for byte.
# usage: run_golden.sh BINARY EXAMPLES_DIR [--update]
set -u
bin=$(realpath "$1") dir=$2 update=${3:-}
fail=0
for p in "$dir"/*/program.yaml; do
    d=$(dirname "$p")
    out=$(mktemp) err=$(mktemp)
    (cd "$d" && "$bin" replay --program program.yaml --input input.jsonl --tolerate-skipped \
        --now 2030-01-01T00:00:00Z >"$out" 2>"$err")
    rc=$?
    if [ "$update" = --update ]; then
        cp "$out" "$d/expected.jsonl"
        cp "$err" "$d/expected-summary.txt"
    elif [ $rc -ne 0 ]; then
        echo "FAIL $(basename "$d"): replay exited $rc"; cat "$err"; fail=1
    elif ! diff -u "$d/expected.jsonl" "$out" || ! diff -u "$d/expected-summary.txt" "$err"; then
        echo "FAIL $(basename "$d")"; fail=1
    else
        echo "ok   $(basename "$d")"
    fi
    rm -f "$out" "$err"
done
exit $fail
