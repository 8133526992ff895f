#!/usr/bin/env bash
# The Kafka Streams peer of bench_pipeline --peer (README.md here).
#
#   peer.sh build     compile it and fetch its jars from Maven Central (once: target/)
#   peer.sh run ARGS  run it in place of this shell (exec: the bench measures the JVM's own
#                     CPU and peak RSS): BOOTSTRAP APPLICATION_ID INPUT OUTPUT STATE_DIR
#
# JVM: a 512 MiB heap bound (the size the issue's measurement used), otherwise the JVM's
# defaults (G1 on a machine with 2 or more cores and 2 GiB or more).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "peer.sh: $*" >&2; exit 1; }

case "${1:-}" in
build)
    [ -f "$here/target/.complete" ] && exit 0
    command -v mvn >/dev/null || die "mvn not found (Debian: maven)"
    mvn -q -B -f "$here/pom.xml" package dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$here/target/lib" >&2 || die "building the peer failed (see above)"
    touch "$here/target/.complete"
    ;;
run)
    shift
    [ -f "$here/target/.complete" ] || die "not built: run '$0 build' first"
    exec java -Xmx512m -Dorg.slf4j.simpleLogger.defaultLogLevel="${PEER_LOG_LEVEL:-warn}" \
        -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
        -cp "$here/target/classes:$here/target/lib/*" io.loyaltystream.peer.PeerApp "$@"
    ;;
*) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
