#!/usr/bin/env bash
# The `decode` and `encode` commands end to end (files only, no Kafka):
#   test_avtool.sh LOYALTY_STREAM_BINARY
set -euo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > in.jsonl <<'JSON'
{"event_id":"e1","customer_id":"c1","time":1700000000000,"currency":"RUB","payload":{"Purchase":{"partner":"p","lines":[{"sku":"s","category":"food","quantity":2,"amount":150000,"on_sale":false}],"attrs":null}}}
{"event_id":"e2","customer_id":"c1","time":1700000001000,"currency":"EUR","payload":{"Return":{"original_event_id":"e1","lines":[{"sku":"s","category":"food","quantity":1,"amount":75000,"on_sale":false}]}}}
{"event_id":"e3","customer_id":"c2","time":1700000002000,"currency":"USD","payload":{"Redemption":{"points":100,"partner":"","lines":[]}}}
JSON
"$bin" encode --type InputEvent --output a.bin in.jsonl || fail "encode"
"$bin" decode a.bin > a.jsonl || fail "decode"
[ "$(wc -l < a.jsonl)" = 3 ] || fail "decode printed $(wc -l < a.jsonl) lines, not 3"
grep -q '"type":"InputEvent"' a.jsonl || fail "decode names no type"
grep -q '"Return"' a.jsonl || fail "the Return payload is missing"
# decode | encode gives the same bytes
"$bin" encode --type InputEvent --output b.bin a.jsonl || fail "re-encode"
cmp a.bin b.bin || fail "decode | encode changed the bytes"
# the engine's JSON form, as replay reads it
"$bin" decode --engine-json a.bin > e.jsonl || fail "decode --engine-json"
grep -q '"type":"purchase","event_id":"e1"' e.jsonl || fail "engine JSON: $(head -1 e.jsonl)"
grep -q '"type":"return"' e.jsonl || fail "engine JSON has no return"
# engine JSON in (as replay reads it; currency optional there, required in Avro)
cat > eng.jsonl <<'JSON'
{"type":"purchase","event_id":"l1","customer_id":"ivan","time":"2026-03-05T13:00:00+03:00","partner":"c7","lines":[{"sku":"b","category":"food","quantity":1,"amount":45000}]}
{"type":"redemption","event_id":"p1","customer_id":"ivan","time":"2026-03-05T13:01:00+03:00","points":300,"lines":[]}
JSON
if "$bin" encode --engine-json --output f.bin eng.jsonl 2> err.txt; then fail "no currency accepted"; fi
grep -q unknown_currency err.txt || fail "no currency reason: $(cat err.txt)"
"$bin" encode --engine-json --currency RUB --output f.bin eng.jsonl || fail "encode --engine-json"
"$bin" decode --engine-json f.bin > f.jsonl || fail "decode f.bin"
grep -q '"event_id":"l1","customer_id":"ivan","time":"2026-03-05T10:00:00Z"' f.jsonl ||
    fail "engine JSON round trip: $(head -1 f.jsonl)"
# one file per record for kcat -P
"$bin" encode --type InputEvent --split parts in.jsonl || fail "encode --split"
[ "$(ls parts | wc -l)" = 3 ] || fail "--split wrote $(ls parts | wc -l) files"
# a record the processor would dead-letter is refused with its reason
echo '{"event_id":"e4","customer_id":"c1","time":1,"currency":"XYZ","payload":{"Redemption":{"points":1,"partner":"","lines":[]}}}' > bad.jsonl
if "$bin" encode --type InputEvent --output c.bin bad.jsonl 2> err.txt; then fail "bad currency encoded"; fi
grep -q unknown_currency err.txt || fail "no reason: $(cat err.txt)"
# hostile framed files: a wrong magic byte, a huge length prefix
printf '\000\000\000\006\001\000\000\000\001x' > magic.bin
if "$bin" decode magic.bin > m.jsonl; then fail "bad magic decoded"; fi
grep -q '"error":"bad_magic"' m.jsonl || fail "no bad_magic: $(cat m.jsonl)"
printf '\377\377\377\377' > huge.bin
if "$bin" decode huge.bin 2> h.txt; then fail "huge length prefix accepted"; fi
grep -q exceeds h.txt || fail "no message for the huge prefix: $(cat h.txt)"
# usage errors
set +e
"$bin" encode > /dev/null 2>&1; [ $? = 2 ] || fail "encode without --type is not exit 2"
set -e
echo "ok: decode/encode"
