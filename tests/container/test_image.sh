#!/usr/bin/env bash
# The container image (container/Dockerfile, issue 20 item 4), built with podman by
# container/build-image.sh (reused when nothing changed) and run the way the Helm chart
# runs it: read-only root filesystem, a tmpfs on /tmp, uid 10001, no network.
# Checks: the Dockerfile's build packages are dev's BUILD_PKGS; the image runs as 10001
# with `loyalty-stream` as its entrypoint; `--version` names this tree's commit; a short
# `demo` on the embedded mock cluster ends with its totals; the example programs and the
# time zones are in it; the state directory is writable on a volume.
# Exit 77 (a ctest skip) only when podman or mmdebstrap is missing, or podman cannot run
# any container on this machine: the reason is printed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# The builder stage installs dev's BUILD_PKGS, no more, no less.
eval "$(sed -n '/^BUILD_PKGS=(/,/)/p' "$top/dev")"
docker_pkgs=$(sed -n '/^FROM .* AS builder/,/^FROM/p' "$top/container/Dockerfile" |
    sed -n '/apt-get install/,/&& rm/p' | tr ' \\' '\n\n' |
    grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vxE 'apt-get|install|rm' | sort -u)
if [ "$docker_pkgs" = "$(printf '%s\n' "${BUILD_PKGS[@]}" | sort -u)" ]; then
    ok "the builder stage installs dev's BUILD_PKGS"
else
    fail "the builder stage's packages differ from dev's BUILD_PKGS:"
    diff <(printf '%s\n' "${BUILD_PKGS[@]}" | sort -u) <(echo "$docker_pkgs")
fi

for c in podman mmdebstrap; do
    command -v $c >/dev/null ||
        { echo "SKIP: $c is not installed (./dev test installs it: dev's TEST_PKGS)"; exit 77; }
done

iid=$(mktemp)
trap 'rm -f "$iid"' EXIT
start=$SECONDS
out=$(LS_IMAGE_IIDFILE=$iid "$top/container/build-image.sh" 2>&1)
rc=$?
if [ $rc = 3 ]; then
    echo "$out" | tail -3
    echo "SKIP: podman cannot run containers on this machine (above)"
    exit 77
elif [ $rc != 0 ]; then
    echo "$out" | tail -40
    echo "FAIL: container/build-image.sh exited $rc"
    exit 1
fi
name=$(tail -1 <<<"$out")
image=$(cat "$iid") # its ID: another worktree's build may move the tag meanwhile
ok "built $name (${image:7:12}) in $((SECONDS - start)) s"
# The Helm chart's default image is this one (repository:appVersion).
chart=$top/helm/loyalty-stream
repo=$(sed -n '/^image:/,/^[a-z]/s/^  repository: *//p' "$chart/values.yaml")
app=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$chart/Chart.yaml")
[ "$repo:$app" = "$name" ] && ok "the chart's default image is $name" ||
    fail "the chart's default image is '$repo:$app', the script builds $name"

. "$top/container/podman-env.sh"
ls_podman_probe localhost/debian-bookworm-minbase ||
    { echo "FAIL: the image built but podman cannot run it: $PODMAN_UNUSABLE"; exit 1; }
run() { podman "${PODMAN_OPTS[@]}" run --rm --network none --read-only --tmpfs /tmp "${LS_ULIMITS[@]}" "$@"; }

cfg=$(podman image inspect --format '{{.Config.User}} {{json .Config.Entrypoint}}' "$image")
[ "$cfg" = '10001:10001 ["loyalty-stream"]' ] && ok "user and entrypoint: $cfg" ||
    fail "user and entrypoint: '$cfg' (want 10001:10001 [\"loyalty-stream\"])"

want=$(git -C "$top" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
v=$(run "$image" --version 2>&1)
if grep -qx "loyalty-stream [0-9.]* ($want)" <<<"$v" && grep -q '^librdkafka ' <<<"$v"; then
    ok "--version: $(head -1 <<<"$v")"
else
    fail "--version printed (want the commit $want):"; echo "$v"
fi

start=$SECONDS
d=$(run "$image" demo --customers 200 --events 2000 --months 2 2>&1)
rc=$?
bonus=$(sed -n '/^Output events by kind:$/,$p' <<<"$d" | awk '$1 == "BonusEarned" { print $2; exit }')
if [ $rc = 0 ] && [[ "$bonus" =~ ^[0-9]+$ ]] && [ "$bonus" -gt 0 ]; then
    ok "demo in the read-only container: exit 0, BonusEarned $bonus ($((SECONDS - start)) s)"
else
    fail "demo exited $rc, BonusEarned '$bonus':"; echo "$d" | tail -30
fi

p=/usr/share/loyalty-stream/examples/programs/02-period-award/program.yaml
c=$(run "$image" check-program "$p" 2>&1) && ok "check-program $p" ||
    { fail "check-program $p:"; echo "$c"; }
run --entrypoint /usr/bin/test "$image" -f /usr/share/zoneinfo/Europe/Moscow &&
    ok "tzdata is in the image" || fail "no /usr/share/zoneinfo/Europe/Moscow in the image"
# A fresh volume on the state directory is the processor's to write (as in the chart).
run -v /var/lib/loyalty-stream --entrypoint /usr/bin/touch "$image" /var/lib/loyalty-stream/probe &&
    ok "state.dir on a volume is writable by uid 10001" ||
    fail "uid 10001 cannot write /var/lib/loyalty-stream on a volume"
run --entrypoint /usr/bin/touch "$image" /probe 2>/dev/null &&
    fail "the root filesystem is writable under --read-only" || ok "root filesystem read-only"

[ $fails = 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "the image $name works with a read-only root filesystem"
