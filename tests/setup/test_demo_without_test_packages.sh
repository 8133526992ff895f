#!/usr/bin/env bash
# The README's first command, `./dev demo`, on a machine that has none of the test-only
# packages: every pkg-config module and command of the packages in dev's TEST_PKGS (and
# the Java and Python tools) is made invisible, then `./dev demo` configures, builds and
# runs a short demo in a scratch build directory. Fails when the demo's build needs a
# test-only package again.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

eval "$(sed -n '/^TEST_PKGS=(/,/)/p' "$top/dev")"
[ ${#TEST_PKGS[@]} -gt 0 ] || { echo "FAIL: no TEST_PKGS list in dev"; exit 1; }

hidden_pc=() hidden_cmd=(java javac mvn python3 clang clang-format valgrind cmocka)
for p in "${TEST_PKGS[@]}"; do
    while IFS= read -r f; do
        case "$f" in
        *.pc) hidden_pc+=("${f##*/}") ;;
        */bin/* | */sbin/*) hidden_cmd+=("${f##*/}") ;;
        esac
    done < <(dpkg -L "$p" 2>/dev/null)
done
printf '%s\n' "${hidden_pc[@]}" | grep -qx cmocka.pc ||
    { echo "FAIL: cmocka.pc not found among the test packages' files: is libcmocka-dev installed?"; exit 1; }
is_hidden() { printf '%s\n' "$@" | grep -Fqx -- "$name"; }

# pkg-config sees every module but the test packages' ones.
mkdir -p "$tmp/pc" "$tmp/bin"
IFS=: read -ra pcdirs <<<"$(pkg-config --variable pc_path pkg-config)"
for d in "${pcdirs[@]}"; do
    for f in "$d"/*.pc; do
        [ -e "$f" ] || continue
        name=${f##*/}
        is_hidden "${hidden_pc[@]}" || ln -sf "$f" "$tmp/pc/$name"
    done
done
# PATH holds every command but the test packages' ones.
for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    for f in "$d"/*; do
        name=${f##*/}
        [ -e "$tmp/bin/$name" ] && continue
        is_hidden "${hidden_cmd[@]}" || ln -s "$f" "$tmp/bin/$name"
    done
done
env PATH="$tmp/bin" PKG_CONFIG_LIBDIR="$tmp/pc" pkg-config --exists cmocka &&
    { echo "FAIL: cmocka is still visible to pkg-config"; exit 1; }
env PATH="$tmp/bin" bash -c 'command -v clang-format java mvn' &&
    { echo "FAIL: test tools are still on PATH"; exit 1; }

echo "hidden: ${hidden_pc[*]} and ${#hidden_cmd[@]} commands; running ./dev demo"
out=$(cd "$top" && env -u CMOCKA_MESSAGE_OUTPUT PATH="$tmp/bin" PKG_CONFIG_LIBDIR="$tmp/pc" \
    LS_BUILD_DIR="$tmp/build" ./dev demo --customers 300 --events 3000 --months 2 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
    echo "FAIL: ./dev demo exited $rc without the test packages:"
    echo "$out" | tail -30
    exit 1
fi
if [ -e "$tmp/build/tests" ]; then
    echo "FAIL: the demo's build configured the tests although cmocka was hidden"
    exit 1
fi
if ! grep -q 'BonusEarned' <<<"$out"; then
    echo "FAIL: the demo ran but printed no BonusEarned total:"
    echo "$out" | tail -30
    exit 1
fi
echo "$out" | tail -5
echo "./dev demo builds and runs without the test-only packages"
