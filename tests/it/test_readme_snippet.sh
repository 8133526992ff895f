#!/usr/bin/env bash
# The README's "Running it for real" on the real test broker, as written: its properties
# (only bootstrap.servers and state.dir replaced through LOYALTY_* variables, the HTTP
# port switched off) and its program. With topics.create the processor must create every
# topic, the input included, and turn the example's purchases into outputs. Without
# topics.create, a missing topic must stop start-up with exit 2 and the topic's name.
set -uo pipefail
top=${LS_SOURCE_DIR:?}
bin=${LS_BINARY:?}
bootstrap=$(cat "${LS_TEST_BROKER_DIR:?}/bootstrap") || { echo "FAIL: no test broker"; exit 1; }
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/run.log" ] && tail -30 "$tmp/run.log"; exit 1; }

# The snippet: the lines between `cat > my.properties <<'EOF'` and `EOF`.
sed -n "/^cat > my.properties <<'EOF'\$/,/^EOF\$/p" "$top/README.md" | sed '1d;$d' >"$tmp/my.properties"
grep -q '^topics.create = true' "$tmp/my.properties" || fail "README snippet not found or changed shape"
program=$(sed -n 's/^program.file = //p' "$tmp/my.properties")
currency=$(sed -n 's/^currency: *//p' "$top/$program")
input="$top/$(dirname "$program")/input.jsonl"
[ -f "$input" ] || fail "the snippet's program has no input.jsonl beside it"

# 1. Without topics.create a missing input topic is a configuration error: exit 2.
grep -v '^topics.create' "$tmp/my.properties" >"$tmp/nocreate.properties"
missing="readme-missing-$$"
(cd "$top" && LOYALTY_BOOTSTRAP_SERVERS=$bootstrap LOYALTY_STATE_DIR=$tmp/state0 \
    LOYALTY_HTTP_PORT=-1 LOYALTY_TOPIC_INPUT=$missing \
    timeout 120 "$bin" run --config "$tmp/nocreate.properties") >"$tmp/nocreate.log" 2>&1
rc=$?
[ $rc -eq 2 ] || { cat "$tmp/nocreate.log"; fail "missing input topic: exit $rc, want 2"; }
grep -q "input topic $missing does not exist" "$tmp/nocreate.log" ||
    { cat "$tmp/nocreate.log"; fail "missing input topic: the message does not name $missing"; }
echo "ok   a missing input topic without topics.create exits 2 and names $missing"

# 2. The snippet as written: every topic created, outputs seen.
(cd "$top" && LOYALTY_BOOTSTRAP_SERVERS=$bootstrap LOYALTY_STATE_DIR=$tmp/state \
    LOYALTY_HTTP_PORT=-1 exec "$bin" run --config "$tmp/my.properties") >"$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1200); do
    grep -q 'pipeline ready' "$tmp/run.log" && break
    kill -0 "$pid" 2>/dev/null || fail "the processor exited at start-up"
    sleep 0.1
done
grep -q 'pipeline ready' "$tmp/run.log" || fail "the processor was not ready within 120 s"
grep -q 'topic created.*topic=purchases ' "$tmp/run.log" || fail "the input topic was not created"
"$bin" encode --engine-json --currency "$currency" --bootstrap "$bootstrap" --topic purchases \
    "$input" >"$tmp/encode.log" 2>&1 || { cat "$tmp/encode.log"; fail "encode failed"; }
n=0
for _ in $(seq 240); do
    n=$("$bin" decode --bootstrap "$bootstrap" --topic loyalty.bonuses 2>/dev/null | grep -c . || true)
    [ "$n" -gt 0 ] && break
    kill -0 "$pid" 2>/dev/null || fail "the processor exited while processing"
    sleep 0.5
done
[ "$n" -gt 0 ] || fail "no BonusEarned output within 120 s"
echo "ok   the README's snippet created its topics and produced $n BonusEarned outputs"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc, want 0"
echo "ok   stopped cleanly on SIGTERM"
