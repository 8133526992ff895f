#!/usr/bin/env bash
# The layout's include rules (docs/ARCHITECTURE.md, "Layout"): which folders a folder's C
# files may include from, and which third-party libraries. Every `#include "x.h"` is
# resolved to the folder that holds x.h; every `#include <lib...>` of a known third-party
# library is checked against the folder's list. tests/ and bench/ may include anything.
#
#   check_layout.sh [ROOT]             check the tree at ROOT (default: the repository)
#   check_layout.sh --self-test [ROOT] prove that a crossing include fails the check
set -uo pipefail

# folder | project folders it may include from | third-party headers it may include
RULES='
processor/base      |                                                               |
processor/engine    |                                                               | yaml.h jansson.h
schemas             | processor/engine                                              | avro.h curl/ jansson.h
state               |                                                               | rocksdb/
processor/pipeline  | processor/base                                                | librdkafka/
processor/ops       | processor/base processor/engine processor/pipeline            | librdkafka/ microhttpd.h jansson.h
processor/app       | processor/base processor/engine schemas state processor/pipeline processor/ops |
processor/commands  | processor/base processor/engine schemas state processor/pipeline processor/ops processor/app | librdkafka/ jansson.h
processor           | processor/base processor/commands                             | librdkafka/ curl/
'
# Headers made by the build, not in the tree.
GENERATED='version.h'
# Third-party headers the rules know (anything else in <...> is the C library or POSIX).
THIRD_PARTY='librdkafka/ rocksdb/ avro.h avro/ jansson.h yaml.h microhttpd.h curl/ jemalloc/ cmocka.h'

rule_field() { # rule_field FOLDER N: field N (2 = folders, 3 = headers) of FOLDER's rule
    printf '%s\n' "$RULES" | awk -F'|' -v d="$1" -v n="$2" '
        { gsub(/^ +| +$/, "", $1) } $1 == d { gsub(/^ +| +$/, "", $n); gsub(/ +/, " ", $n)
                                             print $n; exit }'
}

has_word() { # has_word LIST WORD
    local w
    for w in $1; do [ "$w" = "$2" ] && return 0; done
    return 1
}

check() {
    local root=$1 bad=0 f dir folders headers inc hdir where lib t
    cd "$root" || return 2
    # Where each project header lives (basenames are unique in the tree).
    declare -A home=()
    while IFS= read -r f; do
        if [ -n "${home[${f##*/}]:-}" ]; then
            echo "layout: header ${f##*/} exists twice (${home[${f##*/}]} and ${f%/*})"
            bad=1
        fi
        home[${f##*/}]=${f%/*}
    done < <(find processor schemas state -name '*.h' | sort)
    while IFS= read -r f; do
        dir=${f%/*}
        folders=$(rule_field "$dir" 2)
        headers=$(rule_field "$dir" 3)
        if ! printf '%s\n' "$RULES" | awk -F'|' '{gsub(/^ +| +$/, "", $1); print $1}' |
            grep -qx "$dir"; then
            echo "layout: $f: folder $dir has no rule in tests/layout/check_layout.sh"
            bad=1
            continue
        fi
        while IFS= read -r inc; do
            hdir=${home[$inc]:-}
            if [ -z "$hdir" ]; then
                has_word "$GENERATED" "$inc" && continue
                echo "layout: $f includes \"$inc\", which is in no folder of the tree"
                bad=1
            elif [ "$hdir" != "$dir" ] && ! has_word "$folders" "$hdir"; then
                echo "layout: $f includes \"$inc\" from $hdir: $dir may include only from" \
                    "${folders:-its own folder}"
                bad=1
            fi
        done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
            sed 's#.*/##')
        while IFS= read -r lib; do
            for t in $THIRD_PARTY; do
                case "$lib" in
                "$t"*)
                    if ! has_word "$headers" "$t"; then
                        echo "layout: $f includes <$lib>: $dir may use only" \
                            "${headers:-no third-party library}"
                        bad=1
                    fi
                    ;;
                esac
            done
        done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\([^>]*\)>.*/\1/p' "$f")
    done < <(find processor schemas state -name '*.[ch]' | sort)
    return $bad
}

self_test() {
    local root=$1 tmp out rc=0
    tmp=$(mktemp -d) || return 2
    trap 'rm -rf "$tmp"' RETURN
    cp -r "$root/processor" "$root/schemas" "$root/state" "$tmp/"
    if ! out=$(check "$tmp"); then
        echo "self-test: the unchanged copy already fails:"
        echo "$out"
        return 1
    fi
    # A crossing project include: the pipeline reaching into the engine.
    sed -i '0,/#include "pipe.h"/s//#include "pipe.h"\n#include "eng.h"/' "$tmp/processor/pipeline/pipe.c"
    out=$(check "$tmp")
    if [ $? -eq 0 ] || ! grep -q 'pipe.c includes "eng.h" from processor/engine' <<<"$out"; then
        echo "self-test: a crossing include (pipe.c -> eng.h) was not caught: $out"
        rc=1
    else
        echo "caught: $out"
    fi
    # A forbidden library: the engine including RocksDB.
    cp "$root/processor/pipeline/pipe.c" "$tmp/processor/pipeline/pipe.c"
    printf '#include <rocksdb/c.h>\n' >>"$tmp/processor/engine/tz.h"
    out=$(check "$tmp")
    if [ $? -eq 0 ] || ! grep -q 'tz.h includes <rocksdb/c.h>' <<<"$out"; then
        echo "self-test: a forbidden library (engine -> rocksdb) was not caught: $out"
        rc=1
    else
        echo "caught: $out"
    fi
    return $rc
}

if [ "${1:-}" = --self-test ]; then
    self_test "${2:-$(cd "$(dirname "$0")/../.." && pwd)}" || exit 1
    echo "the layout check fails on crossing includes"
else
    out=$(check "${1:-$(cd "$(dirname "$0")/../.." && pwd)}")
    rc=$?
    [ -n "$out" ] && echo "$out"
    [ $rc -eq 0 ] && echo "every include follows the layout's rules"
    exit $rc
fi
