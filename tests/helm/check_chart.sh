#!/usr/bin/env bash
# Static checks of the Helm chart, for machines without `helm` (CI here has none):
#   1. Chart.yaml and values.yaml parse as YAML (with python3-yaml when installed; skipped
#      with a message otherwise) and Chart.yaml has apiVersion v2, name, version.
#   2. In every template, each `{{` is closed by `}}` before the next `{{` opens, and the
#      block actions (if/range/with/define/block) are balanced by `end`.
#   3. Every `.Values.a.b` referenced by a template exists in values.yaml.
#   4. Every `include "name"` / `template "name"` is defined in some template.
#   5. Every manifest template names an apiVersion and a kind; no tab characters.
# It cannot render: a mistake in indentation inside an action survives it; run
# `helm lint` and `helm template` wherever helm exists.
#
#   check_chart.sh CHART_DIR        check the chart; exit 1 on the first failing check
#   check_chart.sh --self-test DIR  break copies of the chart on purpose and make sure
#                                   each check fails (a check that cannot fail is none)
set -uo pipefail

failures=0
fail() {
    echo "check_chart: FAIL: $*" >&2
    failures=$((failures + 1))
}

# Paths of every mapping key in a (simple) values.yaml, dot-joined: "a", "a.b", ...
# Comments, list items and block scalars (| or >) are skipped.
values_paths() {
    awk '
    function indent_of(s) { match(s, /^ */); return RLENGTH }
    {
        line = $0
        if (line ~ /^[ ]*(#.*)?$/) next
        ind = indent_of(line)
        if (block_ind >= 0) {
            if (ind > block_ind) next
            block_ind = -1
        }
        body = substr(line, ind + 1)
        if (body ~ /^- /) next
        if (!match(body, /^[^ #:"'"'"'][^:]*:( |$)/)) next
        key = substr(body, 1, RLENGTH)
        sub(/:( )?$/, "", key)
        while (depth > 0 && ind <= inds[depth]) depth--
        depth++; inds[depth] = ind; keys[depth] = key
        path = keys[1]
        for (i = 2; i <= depth; i++) path = path "." keys[i]
        print path
        rest = substr(body, RLENGTH + 1)
        if (rest ~ /^[|>][-+0-9]*[ ]*(#.*)?$/) block_ind = ind
    }
    BEGIN { depth = 0; block_ind = -1 }
    ' "$1"
}

# Template delimiters: a `{{` must be closed before the next opens; nothing left open.
check_delimiters() {
    awk -v file="$1" '
    {
        s = $0
        while (length(s) > 0) {
            o = index(s, "{{"); c = index(s, "}}")
            if (o == 0 && c == 0) break
            if (o > 0 && (c == 0 || o < c)) {
                if (open) { printf "%s:%d: \"{{\" inside an unclosed action\n", file, NR; bad = 1 }
                open = 1; s = substr(s, o + 2)
            } else {
                if (!open) { printf "%s:%d: \"}}\" without \"{{\"\n", file, NR; bad = 1 }
                open = 0; s = substr(s, c + 2)
            }
        }
    }
    END {
        if (open) { printf "%s: an action is never closed\n", file; bad = 1 }
        exit bad
    }' "$1"
}

# Block actions and their ends, counted (else/else if are neither).
check_blocks() {
    local f=$1 opens ends
    opens=$(grep -oE '\{\{-?[[:space:]]*(if|range|with|define|block)[[:space:]]' "$f" | wc -l)
    ends=$(grep -oE '\{\{-?[[:space:]]*end[[:space:]]*-?\}\}' "$f" | wc -l)
    if [ "$opens" != "$ends" ]; then
        echo "$f: $opens block actions (if/range/with/define/block) but $ends {{ end }}"
        return 1
    fi
}

check_yaml_files() {
    local chart=$1 f
    if python3 -c 'import yaml' 2>/dev/null; then
        for f in "$chart/Chart.yaml" "$chart/values.yaml"; do
            python3 - "$f" <<'EOF' || fail "$f does not parse as YAML"
import sys, yaml
with open(sys.argv[1]) as fh:
    yaml.safe_load(fh)
EOF
        done
    else
        echo "check_chart: python3-yaml not installed: skipping the YAML parse of Chart.yaml and values.yaml" >&2
    fi
    grep -qE '^apiVersion: v2$' "$chart/Chart.yaml" || fail "Chart.yaml: apiVersion must be v2"
    grep -qE '^name: [a-z0-9-]+$' "$chart/Chart.yaml" || fail "Chart.yaml: no name"
    grep -qE '^version: [0-9]+\.[0-9]+\.[0-9]+' "$chart/Chart.yaml" || fail "Chart.yaml: no semver version"
}

check_values_refs() {
    local chart=$1 paths ref
    paths=$(values_paths "$chart/values.yaml")
    [ -n "$paths" ] || fail "values.yaml: no keys found"
    while IFS= read -r ref; do
        [ -n "$ref" ] || continue
        grep -qxF "${ref#.Values.}" <<<"$paths" ||
            fail "$(grep -rlF "$ref" "$chart/templates" | head -1): $ref is not in values.yaml"
    done < <(grep -rohE '\.Values(\.[A-Za-z0-9_]+)+' "$chart/templates" | sort -u)
}

check_includes() {
    local chart=$1 name
    while IFS= read -r name; do
        [ -n "$name" ] || continue
        grep -rqE "\{\{-?[[:space:]]*define[[:space:]]+\"$name\"" "$chart/templates" ||
            fail "template \"$name\" is used but never defined"
    done < <(grep -rohE '(include|template) "[^"]+"' "$chart/templates" | sed -E 's/^[a-z]+ "(.*)"$/\1/' | sort -u)
}

check_templates() {
    local chart=$1 f
    while IFS= read -r f; do
        msg=$(check_delimiters "$f") || fail "$msg"
        msg=$(check_blocks "$f") || fail "$msg"
        if grep -q "$(printf '\t')" "$f"; then
            fail "$f: contains a tab character"
        fi
        case $f in
        *.yaml)
            grep -qE '^apiVersion: ' "$f" || fail "$f: no apiVersion"
            grep -qE '^kind: ' "$f" || fail "$f: no kind"
            ;;
        esac
    done < <(find "$chart/templates" -type f \( -name '*.yaml' -o -name '*.tpl' -o -name '*.txt' \) | sort)
    [ -f "$chart/templates/tests/test-connection.yaml" ] || fail "no templates/tests/test-connection.yaml"
    grep -q '"helm.sh/hook": test' "$chart/templates/tests/test-connection.yaml" 2>/dev/null ||
        fail "test-connection.yaml is not a helm test hook"
}

check_chart() {
    local chart=$1
    [ -f "$chart/Chart.yaml" ] && [ -f "$chart/values.yaml" ] && [ -d "$chart/templates" ] ||
        { fail "$chart is not a chart (Chart.yaml, values.yaml, templates/)"; return; }
    check_yaml_files "$chart"
    check_values_refs "$chart"
    check_includes "$chart"
    check_templates "$chart"
}

# Each breakage must make the check fail.
self_test() {
    local chart=$1 case_dir n=0 bad=0
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    breakages=(
        "sed -i 's/{{ .Values.http.port }}/{{ .Values.http.prot }}/' templates/statefulset.yaml"
        "sed -i '0,/}}/s/}}//' templates/service.yaml"
        "sed -i '0,/{{- end }}/s/{{- end }}//' templates/hpa.yaml"
        "sed -i 's/include \"loyalty-stream.labels\"/include \"loyalty-stream.lables\"/' templates/service.yaml"
        "sed -i 's/^  port: 8080$/  prot: 8080/' values.yaml"
        "sed -i 's/^apiVersion: v2/apiVersion: v1/' Chart.yaml"
        "printf 'x:\t1\n' >> templates/pdb-extra.yaml; printf 'apiVersion: v1\nkind: X\n' >> templates/pdb-extra.yaml"
    )
    for b in "${breakages[@]}"; do
        n=$((n + 1))
        case_dir=$tmp/$n
        cp -r "$chart" "$case_dir"
        (cd "$case_dir" && eval "$b")
        if diff -rq "$chart" "$case_dir" >/dev/null; then
            echo "check_chart: self-test $n did not change the chart: $b" >&2
            bad=1
            continue
        fi
        if "$0" "$case_dir" >/dev/null 2>&1; then
            echo "check_chart: self-test $n: the check passed a broken chart: $b" >&2
            bad=1
        fi
    done
    if "$0" "$chart" >/dev/null 2>&1; then :; else
        echo "check_chart: self-test: the unbroken chart fails" >&2
        bad=1
    fi
    [ $bad = 0 ] && echo "check_chart: self-test ok ($n breakages caught)"
    return $bad
}

if [ "${1:-}" = --self-test ]; then
    self_test "${2:?usage: check_chart.sh --self-test CHART_DIR}"
    exit $?
fi
chart=${1:?usage: check_chart.sh CHART_DIR}
check_chart "$chart"
if [ $failures -gt 0 ]; then
    echo "check_chart: $failures problem(s) in $chart" >&2
    exit 1
fi
echo "check_chart: $chart ok ($(find "$chart/templates" -type f | wc -l) templates)"
