#!/usr/bin/env bash
# Test brokers: a real Apache Kafka (KRaft) on loopback, the judge of exactly-once.
#
#   kafka-test-broker.sh fetch                 download the pinned jars (Maven Central)
#   kafka-test-broker.sh start DIR [--nodes 3]  format storage under DIR, start, wait until a
#                                              transactional producer works, print the
#                                              bootstrap address on stdout
#   kafka-test-broker.sh start DIR --secure    one node whose client listener is SASL_SSL:
#                                              TLS with a CA made at start (DIR/ca.pem) and
#                                              SASL/PLAIN user "loyalty"; DIR/client.properties
#                                              holds the librdkafka settings a client needs
#                                              (SCRAM: see docs/KAFKA.md, librdkafka 2.0.2 notes)
#   kafka-test-broker.sh stop DIR              stop every node started under DIR, remove DIR
#   kafka-test-broker.sh bootstrap DIR         print the bootstrap address of a running DIR
#   kafka-test-broker.sh kill DIR N            SIGKILL node N (fault tests)
#   kafka-test-broker.sh restart DIR N         start node N again on its storage (after kill)
#
# One node = broker and controller in one process, replication factors 1. Three nodes =
# three combined broker+controller processes, replication factor 3, min.insync.replicas=2
# (for fault tests). Ports are free loopback ports picked at start. Logs stay in DIR until
# stop; stop leaves no process and no file behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib="$here/target/lib"

die() { echo "kafka-test-broker: $*" >&2; exit 1; }

fetch() {
    command -v java >/dev/null || die "java not found: install a Java 17 runtime (Debian: openjdk-17-jre-headless)"
    if [ -f "$lib/.complete" ]; then return 0; fi
    command -v mvn >/dev/null || die "mvn not found: install Maven (Debian: maven) to fetch the Kafka jars"
    mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$lib" -DincludeScope=runtime >&2 ||
        die "could not fetch the Kafka jars from Maven Central (see the Maven output above)"
    touch "$lib/.complete"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

java_run() { # java_run MAINCLASS ARGS...
    local cls=$1; shift
    java -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
        -Dlog4j2.configurationFile="$here/log4j2.properties" \
        -cp "$lib/*" "$cls" "$@"
}

write_props() { # write_props DIR ID NODES PORTS_BROKER... (uses globals)
    local dir=$1 id=$2 n=$3 voters=$4 bport=$5 cport=$6 rf=$7 minisr=$8
    mkdir -p "$dir/node$id/data"
    cat >"$dir/node$id/server.properties" <<EOF
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/node$id/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$minisr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$minisr
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.flush.interval.messages=9223372036854775807
log.segment.bytes=67108864
transaction.abort.timed.out.transaction.cleanup.interval.ms=2000
transaction.remove.expired.transaction.cleanup.interval.ms=60000
EOF
    # $n unused in the file but kept in the signature for clarity of the caller
    : "$n"
}

start_node() { # start_node DIR N: node N's process on its formatted storage
    local dir=$1 i=$2
    # setsid: the broker gets its own process group so stop can kill it whole.
    setsid bash -c "exec java -Xms128m -Xmx768m -XX:+UseSerialGC \
        -Dlog4j2.configurationFile='$here/log4j2.properties' \
        -Dkafka.logs.dir='$dir/node$i' -cp '$lib/*' kafka.Kafka '$dir/node$i/server.properties'" \
        >>"$dir/node$i/server.log" 2>&1 </dev/null &
    echo $! >"$dir/node$i/pid"
}

# secure_setup DIR: a CA and a broker certificate for 127.0.0.1 (openssl), the broker's
# PKCS#12 keystore, and the client settings (DIR/client.properties, librdkafka keys).
secure_setup() {
    local dir=$1 pw=test-store-secret
    mkdir -p "$dir/tls"
    (
        cd "$dir/tls"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=loyalty-test-ca" \
            -keyout ca.key -out ca.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout broker.key \
            -out broker.csr
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
        openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile san.ext -out broker.pem
        openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem \
            -name broker -passout "pass:$pw" -out broker.p12
    ) >"$dir/tls/openssl.log" 2>&1 || { cat "$dir/tls/openssl.log" >&2; die "making test certificates failed"; }
    cp "$dir/tls/ca.pem" "$dir/ca.pem"
    cat >"$dir/client.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanisms=PLAIN
sasl.username=loyalty
sasl.password=loyalty-secret
ssl.ca.location=$dir/ca.pem
EOF
}

# secure_props DIR ID BPORT IPORT CPORT: node ID's listeners become SASL_SSL (clients),
# PLAINTEXT INTERNAL (between brokers) and CONTROLLER.
secure_props() {
    local dir=$1 id=$2 bport=$3 iport=$4 cport=$5 f="$1/node$2/server.properties"
    sed -i -e "s#^listeners=.*#listeners=SASL_SSL://127.0.0.1:$bport,INTERNAL://127.0.0.1:$iport,CONTROLLER://127.0.0.1:$cport#" \
        -e "s#^advertised.listeners=.*#advertised.listeners=SASL_SSL://127.0.0.1:$bport,INTERNAL://127.0.0.1:$iport#" \
        -e "s#^inter.broker.listener.name=.*#inter.broker.listener.name=INTERNAL#" \
        -e "s#^listener.security.protocol.map=.*#listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT#" "$f"
    cat >>"$f" <<EOF
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_loyalty="loyalty-secret";
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/tls/broker.p12
ssl.keystore.password=test-store-secret
ssl.key.password=test-store-secret
EOF
}

start() {
    local dir=$1 nodes=$2 secure=${3:-}
    fetch
    [ -e "$dir/bootstrap" ] && die "$dir already holds a running broker (stop it first)"
    mkdir -p "$dir"
    local rf=1 minisr=1
    if [ "$nodes" -gt 1 ]; then rf=3; minisr=2; fi
    local voters="" bports=() cports=() i
    for ((i = 1; i <= nodes; i++)); do
        bports[i]=$(free_port)
        cports[i]=$(free_port)
        voters+="${voters:+,}$i@127.0.0.1:${cports[i]}"
    done
    local cluster_id
    cluster_id=$(java_run kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    if [ -n "$secure" ]; then secure_setup "$dir"; fi
    local bootstrap=""
    for ((i = 1; i <= nodes; i++)); do
        write_props "$dir" "$i" "$nodes" "$voters" "${bports[i]}" "${cports[i]}" "$rf" "$minisr"
        if [ -n "$secure" ]; then
            secure_props "$dir" "$i" "${bports[i]}" "$(free_port)" "${cports[i]}"
        fi
        java_run kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" \
            -c "$dir/node$i/server.properties" >"$dir/node$i/format.log" 2>&1 ||
            { cat "$dir/node$i/format.log" >&2; die "formatting storage of node $i failed"; }
        bootstrap+="${bootstrap:+,}127.0.0.1:${bports[i]}"
    done
    for ((i = 1; i <= nodes; i++)); do
        start_node "$dir" "$i"
    done
    echo "$bootstrap" >"$dir/bootstrap"
    wait_ready "$dir" "$bootstrap" || { [ -n "${KEEP_BROKER_DIR:-}" ] || stop "$dir" >/dev/null 2>&1 || true; die "broker under $dir did not become ready"; }
    echo "$bootstrap"
}

wait_ready() { # a broker is ready when a transactional producer can commit a transaction
    local dir=$1 bootstrap=$2 probe="$here/../../build/tests/kafka_probe"
    # A secured broker: the probe (a test-kit client) reads the client settings from here.
    if [ -f "$dir/client.properties" ]; then export LS_TEST_KAFKA_CONF="$dir/client.properties"; fi
    local deadline=$((SECONDS + ${BROKER_START_TIMEOUT:-90}))
    while ((SECONDS < deadline)); do
        for pidf in "$dir"/node*/pid; do
            kill -0 "$(cat "$pidf")" 2>/dev/null || { tail -n 30 "$(dirname "$pidf")/server.log" >&2; return 1; }
        done
        if [ -x "${KAFKA_PROBE:-$probe}" ]; then
            "${KAFKA_PROBE:-$probe}" "$bootstrap" >/dev/null 2>&1 && return 0
        else
            grep -q "Kafka Server started" "$dir"/node1/server.log 2>/dev/null && return 0
        fi
        sleep 0.5
    done
    return 1
}

stop() {
    local dir=$1 pid
    [ -d "$dir" ] || return 0
    for pidf in "$dir"/node*/pid; do
        [ -f "$pidf" ] || continue
        pid=$(cat "$pidf")
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for pidf in "$dir"/node*/pid; do
        [ -f "$pidf" ] || continue
        pid=$(cat "$pidf")
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$dir"
}

case "${1:-}" in
fetch) fetch ;;
start)
    [ $# -ge 2 ] || die "usage: $0 start DIR [--nodes 1|3 | --secure]"
    nodes=1 secure=
    [ "${3:-}" = "--nodes" ] && nodes=${4:-1}
    [ "${3:-}" = "--secure" ] && secure=1
    [ "$nodes" = 1 ] || [ "$nodes" = 3 ] || die "--nodes must be 1 or 3"
    start "$2" "$nodes" "$secure"
    ;;
stop) [ $# -ge 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
bootstrap) cat "$2/bootstrap" ;;
kill)
    [ $# -ge 3 ] && [ -f "$2/node$3/pid" ] || die "usage: $0 kill DIR N (node N must exist)"
    pid=$(cat "$2/node$3/pid")
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
    ;;
restart)
    # Node N again on its storage (after kill); returns at once, the node rejoins in seconds.
    [ $# -ge 3 ] && [ -f "$2/node$3/pid" ] || die "usage: $0 restart DIR N (node N must exist)"
    kill -0 "$(cat "$2/node$3/pid")" 2>/dev/null && die "node $3 under $2 is running"
    fetch
    start_node "$2" "$3"
    ;;
*) die "usage: $0 fetch | start DIR [--nodes 1|3] | stop DIR | bootstrap DIR | kill DIR N | restart DIR N" ;;
esac
