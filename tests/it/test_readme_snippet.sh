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

# An event in another currency is dead-lettered; decode shows the reason in its headers.
head -n 1 "$input" | sed 's/"event_id":"[^"]*"/"event_id":"usd-1"/' >"$tmp/usd.jsonl"
"$bin" encode --engine-json --currency USD --bootstrap "$bootstrap" --topic purchases \
    "$tmp/usd.jsonl" >"$tmp/encode-usd.log" 2>&1 || { cat "$tmp/encode-usd.log"; fail "encode failed"; }
for _ in $(seq 240); do
    "$bin" decode --bootstrap "$bootstrap" --topic purchases.dlq >"$tmp/dlq.jsonl" 2>/dev/null
    grep -q '"dlq.reason"' "$tmp/dlq.jsonl" && break
    sleep 0.5
done
grep -q '"headers":{.*"dlq.reason":"' "$tmp/dlq.jsonl" ||
    { cat "$tmp/dlq.jsonl"; fail "decode of the dead-letter topic shows no dlq.reason header"; }
echo "ok   decode shows a dead letter's headers"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc, want 0"
echo "ok   stopped cleanly on SIGTERM"

# encode delivers every record, even through a local queue far smaller than the input.
for i in $(seq 3000); do
    printf '{"type":"purchase","event_id":"bulk-%d","customer_id":"c%d","time":"2026-03-02T11:00:00Z","lines":[{"sku":"s","category":"c","quantity":1,"amount":100}]}\n' "$i" "$((i % 50))"
done >"$tmp/bulk.jsonl"
before=$("$bin" decode --bootstrap "$bootstrap" --topic purchases 2>/dev/null | grep -c .)
"$bin" encode --engine-json --currency "$currency" --bootstrap "$bootstrap" --topic purchases \
    -X queue.buffering.max.messages=10 "$tmp/bulk.jsonl" >"$tmp/bulk.log" 2>&1 ||
    { cat "$tmp/bulk.log"; fail "encode of 3000 records through a 10-record queue failed"; }
after=$("$bin" decode --bootstrap "$bootstrap" --topic purchases 2>/dev/null | grep -c .)
[ $((after - before)) -eq 3000 ] || fail "encode delivered $((after - before)) of 3000 records"
echo "ok   encode delivered all 3000 records through a 10-record queue"

# A topic that does not exist: encode waits a few seconds, then names it.
t0=$SECONDS
"$bin" encode --engine-json --currency "$currency" --bootstrap "$bootstrap" \
    --topic "no-such-topic-$$" "$input" >"$tmp/missing.log" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$tmp/missing.log"; fail "encode to a missing topic: exit $rc, want 1"; }
grep -q "topic no-such-topic-$$ does not exist" "$tmp/missing.log" ||
    { cat "$tmp/missing.log"; fail "encode to a missing topic does not name it"; }
[ $((SECONDS - t0)) -le 30 ] || fail "encode to a missing topic took $((SECONDS - t0)) s"
echo "ok   encode to a missing topic stops after $((SECONDS - t0)) s naming it"
