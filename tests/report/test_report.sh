#!/usr/bin/env bash
# `replay --report FILE.html` in a real browser: headless Chromium (Debian's `chromium`)
# loads the report of a program and a what-if over generated events, renders it to a PNG
# and dumps its DOM. The page must load without script errors (its script marks the
# document when it ran; the browser's log has no uncaught error) and every number of its
# summary table (data-key attributes) must equal replay's text summary.
# usage: test_report.sh BINARY SOURCE_DIR [PNG_OUT]
set -u
bin=$1 src=$2 png=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
command -v chromium >/dev/null || { echo "FAIL chromium is not installed (./dev deps --test)"; exit 1; }
[ -n "$png" ] || png=$tmp/report.png

python3 "$src/tests/report/gen_events.py" 300 5 7 >"$tmp/events.jsonl"
a=$src/tests/report/program-a.yaml b=$src/tests/report/program-b.yaml
"$bin" replay --program "$a" --what-if "$b" --input "$tmp/events.jsonl" --now 2030-01-01T00:00:00Z \
    --report "$tmp/report.html" --no-outputs 2>"$tmp/summary.txt"
rc=$?
[ $rc -eq 0 ] && ok replay_writes_report || { fail "replay_writes_report: exit $rc"; cat "$tmp/summary.txt"; exit 1; }
grep -qE '(src|href)="(https?:)?//' "$tmp/report.html" && fail "report_needs_no_network" || ok report_needs_no_network

# The browser: a screenshot (what a person sees) and the DOM after the script ran.
chrome() {
    timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 "$@"
}
chrome --window-size=1000,3000 --screenshot="$png" "file://$tmp/report.html" >/dev/null 2>"$tmp/shot.log"
if [ -s "$png" ] && [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
    ok "browser_renders_png ($png)"
else
    fail browser_renders_png; tail -5 "$tmp/shot.log"
fi
chrome --dump-dom "file://$tmp/report.html" >"$tmp/dom.html" 2>"$tmp/dom.log"
grep -q 'data-script="ran"' "$tmp/dom.html" && ok script_ran || { fail script_ran; tail -5 "$tmp/dom.log"; }
if grep -qiE 'Uncaught|SyntaxError|ReferenceError|TypeError' "$tmp/dom.log" "$tmp/shot.log"; then
    fail no_script_errors; grep -iE 'Uncaught|Error' "$tmp/dom.log" | head -5
else
    ok no_script_errors
fi
[ "$(grep -c '<svg class="plot"' "$tmp/dom.html")" -eq 4 ] && ok four_charts || fail four_charts

# dom KEY: the data-value of the element with data-key KEY in the browser's DOM
dom() { grep -o "data-key=\"$1\" data-value=\"[-0-9]*\"" "$tmp/dom.html" | head -1 | sed 's/.*data-value="\(.*\)"/\1/'; }
# text SECTION LABEL: the number after LABEL in replay's summary of SECTION (program | what-if)
text() {
    awk -v sec="== $1 " -v lab="$2" 'index($0, sec) == 1 { on = 1; next } /^== / { on = 0 }
        on && index($0, lab) == 1 { sub(lab, ""); print $1 + 0; exit }' "$tmp/summary.txt"
}
same() { # same NAME DOM_VALUE TEXT_VALUE
    if [ -n "$2" ] && [ "$2" = "$3" ]; then ok "$1 = $2"; else fail "$1: report '$2', summary '$3'"; fi
}
for side in a:program b:what-if; do
    k=${side%%:*} sec=${side#*:}
    same "$sec customers" "$(dom "$k.customers")" "$(text "$sec" 'customers:')"
    same "$sec issued" "$(dom "$k.issued")" "$(text "$sec" 'points issued:')"
    same "$sec redeemed" "$(dom "$k.redeemed")" "$(text "$sec" 'points redeemed:')"
    same "$sec expired" "$(dom "$k.expired")" "$(text "$sec" 'points expired:')"
    same "$sec reversed" "$(dom "$k.reversed")" "$(text "$sec" 'points reversed:')"
    same "$sec outstanding" "$(dom "$k.outstanding")" "$(text "$sec" 'points outstanding:')"
    for tier in Classic Silver Gold; do
        same "$sec tier $tier" "$(dom "$k.tier.$tier")" "$(text "$sec" "  tier $tier")"
    done
done
# liability in minor units: the summary prints 558224.00 RUB
liab=$(awk '/^outstanding liability:/ { gsub(/\./, "", $3); print $3 + 0; exit }' "$tmp/summary.txt")
same "program liability (minor units)" "$(dom a.liability)" "$liab"
# the what-if counts free items: RewardEarned per program and the difference
rw=$(grep -E '^  RewardEarned ' "$tmp/summary.txt")
ra=$(awk '{ print $2 }' <<<"$rw") rb=$(sed 's/.*what-if \([0-9]*\),.*/\1/' <<<"$rw")
same "program free items" "$(dom a.kind.RewardEarned)" "$ra"
same "what-if free items" "$(dom b.kind.RewardEarned)" "$rb"
same "free items difference" "$(dom diff.kind.RewardEarned)" "$((rb - ra))"
[ "$ra" != "$rb" ] && ok "a free 9th coffee differs from a free 10th ($ra vs $rb)" || fail "free items equal"
nd=$(sed -n 's/^customers whose tier differs: //p' "$tmp/summary.txt")
same "customers whose tier differs" "$(dom tier_differs)" "$nd"
[ "$(grep -c '<td>c[0-9]*</td><td>' "$tmp/dom.html")" = "$nd" ] && ok "every such customer listed" ||
    fail "customers listed: $(grep -c '<td>c[0-9]*</td><td>' "$tmp/dom.html"), want $nd"
# monthly history: the months' flows add up to the totals, the last month's tiers are the end's
sum_issued=$(sed -n '/<section class="chart" id="points"/,/<\/section>/p' "$tmp/dom.html" |
    grep -o '<tr><td>[0-9-]*</td><td data-value="[0-9-]*"' | sed 's/.*data-value="\(.*\)"/\1/' | awk '{ s += $1 } END { print s }')
same "monthly points issued add up" "$sum_issued" "$(text program 'points issued:')"

# one program alone: the same numbers, no what-if column
"$bin" replay --program "$a" --input "$tmp/events.jsonl" --now 2030-01-01T00:00:00Z \
    --report "$tmp/one.html" --no-outputs 2>"$tmp/one.txt" || fail "single-program report"
grep -q 'data-key="b\.' "$tmp/one.html" && fail "single report has a what-if" || ok "single report has one program"
grep -q "data-key=\"a.issued\" data-value=\"$(text program 'points issued:')\"" "$tmp/one.html" &&
    ok "single report issued" || fail "single report issued"

echo "passed $passed, failed $fails"
[ $fails -eq 0 ]
