#!/usr/bin/env bash
# Builds the loyalty-stream container image with podman, without any image registry:
#   1. the base, once: Debian 12 from the machine's apt sources (mmdebstrap
#      --variant=minbase bookworm), imported as localhost/debian-bookworm-minbase;
#   2. the image from container/Dockerfile (builder stage + runtime stage on that base),
#      tagged localhost/loyalty-stream:VERSION (the Helm chart's default image).
# Safe to run again: the base is made only when podman does not have it, and podman's
# layer cache makes an unchanged rebuild take seconds.
#
#   container/build-image.sh [IMAGE]     IMAGE defaults to localhost/loyalty-stream:VERSION
#
# Prints the image's name last. Exits 3 when podman cannot run a container on this machine
# (the reason on stderr), 1 on any other failure.
# Environment: LS_IMAGE_CACHE (default ~/.cache/loyalty-stream) keeps the base tarball;
# LS_IMAGE_BASE names another base (any Debian 12 image) and skips mmdebstrap;
# LS_IMAGE_IIDFILE=FILE writes the image's ID there (the test runs that ID, not the tag,
# which a concurrent build may move).
# Needs podman and mmdebstrap (apt-get install podman mmdebstrap; ./dev test installs them)
# and root, or a rootless podman set up for the user.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "build-image: $*" >&2; exit 1; }

version=$(sed -n 's/^project(loyalty-stream VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
[ -n "$version" ] || die "no project version in CMakeLists.txt"
image=${1:-localhost/loyalty-stream:$version}
base=${LS_IMAGE_BASE:-localhost/debian-bookworm-minbase}
cache=${LS_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/loyalty-stream}

command -v podman >/dev/null || die "podman is not installed (apt-get install podman)"

if ! podman image exists "$base"; then
    [ -z "${LS_IMAGE_BASE:-}" ] || die "base image $base not found (podman images)"
    command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (apt-get install mmdebstrap)"
    mkdir -p "$cache"
    tarball=$cache/debian-bookworm-minbase.tar
    # One base at a time (several worktrees may build at once); the second one waits.
    exec 9>"$cache/.lock"
    flock 9
    if podman image exists "$base"; then
        : # made by another build while this one waited
    elif [ ! -s "$tarball" ]; then
        say "making the Debian 12 base with mmdebstrap (minbase; the machine's apt sources)"
        # No MIRROR: deb.debian.org with bookworm-updates and bookworm-security, as
        # mmdebstrap adds for a stable release; stdin closed, else it reads sources there.
        rm -rf "$tarball.part"
        mmdebstrap --variant=minbase --format=tar --quiet bookworm "$tarball.part" </dev/null
        mv "$tarball.part" "$tarball"
    fi
    if ! podman image exists "$base"; then
        say "importing $tarball as $base"
        podman import --quiet --change 'CMD ["/bin/bash"]' "$tarball" "$base" >/dev/null
    fi
    exec 9>&-
fi

# shellcheck source=container/podman-env.sh
. "$top/container/podman-env.sh"
if ! ls_podman_probe "$base"; then
    echo "build-image: podman cannot run a container here: $PODMAN_UNUSABLE" >&2
    exit 3
fi

describe=$(git -C "$top" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
say "building $image ($describe) on $base"
# --network host: the stages' apt-get reaches the apt mirror without a bridge or
# slirp4netns (neither is needed for a build); the layers are podman's default storage.
podman "${PODMAN_OPTS[@]}" build --network host --pull=never "${LS_ULIMITS[@]}" \
    -f "$top/container/Dockerfile" \
    --build-arg BASE="$base" --build-arg DESCRIBE="$describe" \
    ${LS_IMAGE_IIDFILE:+--iidfile "$LS_IMAGE_IIDFILE"} \
    -t "$image" "$top"
echo "$image"  # the name, for scripts
