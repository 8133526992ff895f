#!/usr/bin/env bash
# SIGTERM during start-up is honoured within a second and the log names it: a broker that
# refuses connections, and one that accepts them but never answers (docs/OPERATIONS.md,
# "Stopping"). No Kafka needed.
set -u
bin=$1
fails=0 passed=0
tmp=$(mktemp -d)
listener=
trap 'rm -rf "$tmp"; [ -n "$listener" ] && kill "$listener" 2>/dev/null' EXIT
printf 'name: t\ncurrency: USD\ntimezone: UTC\nearning:\n  base_percent: 1\n' >"$tmp/ok.yaml"

# stop_during_startup NAME BOOTSTRAP: start, SIGTERM after 1 s, want exit 0 within 2 s and
# the log line "stopping on SIGTERM".
stop_during_startup() {
    local name=$1 bootstrap=$2
    printf 'bootstrap.servers = %s\nprogram.file = %s\nstate.dir = %s/state-%s\nhttp.port = -1\n' \
        "$bootstrap" "$tmp/ok.yaml" "$tmp" "$name" >"$tmp/$name.properties"
    "$bin" run --config "$tmp/$name.properties" >"$tmp/$name.log" 2>&1 &
    local pid=$! rc=
    sleep 1
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "FAIL $name: exited before the signal, log:"; head -20 "$tmp/$name.log"
        fails=$((fails + 1)); return
    fi
    local t0; t0=$(date +%s%N)
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then
        sleep 3
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid"; rc=$?
    local ms=$((($(date +%s%N) - t0) / 1000000))
    if [ "$rc" != 0 ] || [ "$ms" -gt 2000 ] ||
        ! grep -q 'msg="stopping on SIGTERM" phase=start-up' "$tmp/$name.log"; then
        echo "FAIL $name: exit $rc after ${ms} ms (want 0 within 2000 ms), log:"
        head -20 "$tmp/$name.log"; fails=$((fails + 1))
    else
        echo "ok   $name (exit 0 ${ms} ms after SIGTERM)"; passed=$((passed + 1))
    fi
}

stop_during_startup sigterm_while_broker_refuses 127.0.0.1:1
# A port that accepts connections and never answers: librdkafka waits for its ApiVersion
# response, as for a broker behind a black-holing network.
if command -v python3 >/dev/null; then
    python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(64)
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$tmp/port" &
    listener=$!
    for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
    stop_during_startup sigterm_while_broker_is_silent "127.0.0.1:$(cat "$tmp/port")"
else
    echo "skip sigterm_while_broker_is_silent (no python3)"
fi
echo "$passed passed, $fails failed"
[ "$fails" = 0 ]
