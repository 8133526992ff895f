#!/usr/bin/env bash
# Build the decoder's libFuzzer target with clang and run it for a bounded time.
#   run_fuzz.sh SOURCE_DIR GENERATED_SCHEMAS_C LOYALTY_STREAM_BINARY WORK_DIR [SECONDS]
# Exit 0: no crash; 77: skipped (no clang with libFuzzer here); else the fuzzer's failure
# (the crashing input is left in WORK_DIR/crash-*).
set -euo pipefail
src=$1 gen=$2 bin=$3 work=$4 secs=${5:-45}
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "SKIP: clang not found: the libFuzzer target needs clang (apt-get install clang)"
    exit 77
fi
mkdir -p "$work/corpus"
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
    "$CLANG" -x c -fsanitize=fuzzer - -o "$work/probe" 2>/dev/null; then
    echo "SKIP: $CLANG cannot link -fsanitize=fuzzer (libFuzzer runtime missing)"
    exit 77
fi
# shellcheck disable=SC2046
"$CLANG" -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$src/schemas" -I"$src/processor/engine" \
    -I"$(dirname "$gen")" \
    "$src/tests/fuzz/fuzz_decode.c" "$src"/schemas/{avro_codec,avro_map,avro_state,avro_fields,avro_scan,avro_json,frame,sr,dlq}.c \
    "$gen" $(pkg-config --cflags --libs avro-c jansson libcurl) -o "$work/fuzz_decode"
# Seeds: one valid record of every input kind (the encode tool), and some garbage.
cat > "$work/seeds.jsonl" <<'JSON'
{"event_id":"e1","customer_id":"c","time":1,"currency":"RUB","payload":{"Purchase":{"partner":"p","lines":[{"sku":"s","category":"k","quantity":1,"amount":5,"on_sale":true}],"attrs":{"CustomerAttributes":{"birth_month":2,"birth_day":3,"member_since":4,"account_status":"x"}}}}}
{"event_id":"e2","customer_id":"c","time":1,"currency":"EUR","payload":{"Return":{"original_event_id":"e1","lines":[{"sku":"s","category":"k","quantity":1,"amount":5,"on_sale":false}]}}}
{"event_id":"e3","customer_id":"c","time":1,"currency":"USD","payload":{"Redemption":{"points":7,"partner":"","lines":[]}}}
JSON
"$bin" encode --type InputEvent --split "$work/corpus" "$work/seeds.jsonl"
printf '\0\0\0\0\145garbage' > "$work/corpus/garbage"
cd "$work"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} LSAN_OPTIONS=suppressions=$src/tests/fuzz/lsan.supp \
    ./fuzz_decode -max_total_time="$secs" \
    -rss_limit_mb=1024 -max_len=4096 -print_final_stats=1 corpus
