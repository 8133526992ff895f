# Sourced by container/build-image.sh and tests/container/test_image.sh: finds podman
# options that work on this machine, into the array PODMAN_OPTS (global options: the OCI
# runtime) and LS_ULIMITS (options of `podman run` and `podman build`). Sets
# PODMAN_UNUSABLE to the reason when no combination runs a container.
#
# Why: on some hosts (e.g. VMs that run builds as root without CAP_SYS_RESOURCE) podman's
# default ulimits (nofile 1048576, nproc as root's) cannot be set ("crun: setrlimit
# `RLIMIT_NOFILE`: Operation not permitted"), so the limits are pinned below the
# caller's hard limits; and crun refuses a cgroup v1/v2 hybrid hierarchy with controllers
# on the v2 side ("crun: cgroups in hybrid mode not supported, drop all controllers from
# cgroupv2") where runc works.
# ls_podman_probe IMAGE: needs an image to try (the base).
ls_podman_probe() {
    local img=$1 hn hu out rt
    hn=$(ulimit -Hn) hu=$(ulimit -Hu)
    [ "$hn" = unlimited ] || [ "$hn" -gt 16384 ] && hn=16384
    [ "$hu" = unlimited ] || [ "$hu" -gt 4096 ] && hu=4096
    LS_ULIMITS=(--ulimit "nofile=$hn:$hn" --ulimit "nproc=$hu:$hu")
    PODMAN_UNUSABLE=""
    for rt in "" runc; do
        PODMAN_OPTS=()
        if [ -n "$rt" ]; then
            command -v "$rt" >/dev/null || continue
            PODMAN_OPTS=(--runtime "$rt")
        fi
        if out=$(podman "${PODMAN_OPTS[@]}" run --rm --network none "${LS_ULIMITS[@]}" "$img" true 2>&1); then
            return 0
        fi
        PODMAN_UNUSABLE="${PODMAN_UNUSABLE:+$PODMAN_UNUSABLE; }podman${rt:+ --runtime $rt} run: $(tail -1 <<<"$out")"
    done
    return 1
}
