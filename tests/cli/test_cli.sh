#!/usr/bin/env bash
# The command line of loyalty-stream: --help, --version, bad usage exiting 2, and the exit
# codes of start-up failures (docs/OPERATIONS.md).
set -u
bin=$1
fails=0 passed=0
check() { # check NAME WANT_RC GREP_PATTERN -- ARGS...
    local name=$1 want=$2 pat=$3; shift 4
    local out rc
    out=$("$bin" "$@" 2>&1); rc=$?
    if [ "$rc" != "$want" ] || ! grep -qE -- "$pat" <<<"$out"; then
        echo "FAIL $name: exit $rc (want $want), output:"; echo "$out" | head -20
        fails=$((fails + 1))
    else
        echo "ok   $name"; passed=$((passed + 1))
    fi
}
check help_lists_commands 0 '^  run --config FILE' -- --help
check version_names_build 0 '^loyalty-stream [0-9]+\.[0-9]+\.[0-9]+ \(' -- --version
check unknown_flag_is_usage_error 2 '^usage: loyalty-stream' -- --frobnicate
check unknown_command_is_usage_error 2 "unknown command 'frobnicate'" -- frobnicate
check no_command_is_usage_error 2 'no command given' --
check bad_log_level_is_usage_error 2 "unknown log level 'loud'" -- --log-level loud run
tmp=$(mktemp -d)
printf 'bootstrap.servers = b:9092\nprogram.file = p.yaml\n\ncommit.interval.ms = soon\n' >"$tmp/bad.properties"
check run_bad_value_names_file_and_line 2 "bad.properties:4: key 'commit.interval.ms': 'soon' is not an integer" -- run --config "$tmp/bad.properties"
printf 'bootstrap.servers = b:9092\nprogram.file = p.yaml\nkafka.no.such.property = 1\n' >"$tmp/kafka.properties"
check run_bad_kafka_key_names_line 2 "kafka.properties:3: key 'kafka.no.such.property': librdkafka" -- run --config "$tmp/kafka.properties"
check run_without_config_is_usage_error 2 '--config FILE is required' -- run
# Start-up failures: a registry out of reach may come back (1), a bad program will not (2).
printf 'name: t\ncurrency: USD\ntimezone: UTC\nearning:\n  base_percent: 1\n' >"$tmp/ok.yaml"
printf 'name: t\ncurrency: USD\ntimezone: UTC\nearning:\n  base_pecent: 1\n' >"$tmp/bad.yaml"
printf 'bootstrap.servers = 127.0.0.1:1\nprogram.file = %s\nstate.dir = %s\nschema.registry.url = http://127.0.0.1:1\n' \
    "$tmp/ok.yaml" "$tmp/state" >"$tmp/registry.properties"
check run_registry_unreachable_exits_1 1 'registering .*subject' -- run --config "$tmp/registry.properties"
# A misspelled LOYALTY_* variable is named, with the setting it most likely meant.
out=$(LOYALTY_BOOTSTRAP_SERVER=x LOYALTY_NOTHING_LIKE_ANY_KEY_AT_ALL=1 "$bin" run --config "$tmp/registry.properties" 2>&1)
if grep -q 'unknown environment variable ignored.*name=LOYALTY_BOOTSTRAP_SERVER did_you_mean=LOYALTY_BOOTSTRAP_SERVERS' <<<"$out" &&
    grep -q 'name=LOYALTY_NOTHING_LIKE_ANY_KEY_AT_ALL$' <<<"$out"; then
    echo "ok   unknown_environment_variable_is_warned"; passed=$((passed + 1))
else
    echo "FAIL unknown_environment_variable_is_warned:"; echo "$out" | head -5; fails=$((fails + 1))
fi
# Global flags before the command win over the configuration file.
printf 'log.level = debug\nlog.format = text\n' >>"$tmp/registry.properties"
check global_log_json_applies_to_run 1 '^\{"ts":.*"msg":"starting"' -- --log-json run --config "$tmp/registry.properties"
check global_log_level_applies_to_run 1 '^[^"]*$' -- --log-level off run --config "$tmp/registry.properties"
printf 'bootstrap.servers = 127.0.0.1:1\nprogram.file = %s\nstate.dir = %s\n' "$tmp/bad.yaml" \
    "$tmp/state" >"$tmp/badprog.properties"
check run_bad_program_exits_2 2 "bad.yaml:5:[0-9]+.*base_pecent" -- run --config "$tmp/badprog.properties"
# State queries bound to a non-loopback address need a token file: exit 2 naming the key.
printf 'bootstrap.servers = b:9092\nprogram.file = p.yaml\nhttp.query.port = 8081\nhttp.query.bind = 0.0.0.0\n' \
    >"$tmp/query.properties"
check run_exposed_queries_without_token_exit_2 2 "key 'http.query.token.file' is required" -- run --config "$tmp/query.properties"
# The registry's credentials in its URL never reach the log.
printf 'bootstrap.servers = 127.0.0.1:1\nprogram.file = %s\nstate.dir = %s\nschema.registry.url = http://reg-user:hunter2@127.0.0.1:1\n' \
    "$tmp/ok.yaml" "$tmp/state2" >"$tmp/registry-creds.properties"
check run_registry_credentials_are_redacted 1 'http://\*\*\*@127\.0\.0\.1:1' -- run --config "$tmp/registry-creds.properties"
if "$bin" run --config "$tmp/registry-creds.properties" 2>&1 | grep -q 'hunter2\|reg-user'; then
    echo "FAIL run_registry_password_not_logged: the log shows the registry's credentials"
    fails=$((fails + 1))
else
    echo "ok   run_registry_password_not_logged"; passed=$((passed + 1))
fi
# A store written by a program in one currency refuses a program in another (exit 2).
printf 'name: t\ncurrency: EUR\ntimezone: UTC\nearning:\n  base_percent: 1\n' >"$tmp/eur.yaml"
printf 'bootstrap.servers = 127.0.0.1:1\nprogram.file = %s\nstate.dir = %s/cur\nhttp.port = -1\n' \
    "$tmp/ok.yaml" "$tmp" >"$tmp/usd.properties"
sed "s#ok.yaml#eur.yaml#" "$tmp/usd.properties" >"$tmp/eur.properties"
"$bin" run --config "$tmp/usd.properties" >"$tmp/usd.log" 2>&1 &
usd_pid=$!
for _ in $(seq 100); do [ -e "$tmp/cur/CURRENT" ] && break; sleep 0.1; done
sleep 0.5
kill -TERM "$usd_pid"
wait "$usd_pid"
check run_program_in_another_currency_exits_2 2 "holds the states of a program in USD, but program.file .*eur.yaml is in EUR" -- run --config "$tmp/eur.properties"
rm -rf "$tmp"
# The partitioner options (docs/SCHEMAS.md, "Keys and partitions"): an unknown name is bad usage.
check replay_unknown_partitioner_is_usage_error 2 'replay: --partitioner crc64: expected murmur2' -- \
    replay --program p.yaml --input e.jsonl --partitions 4 --partitioner crc64
check demo_unknown_partitioner_is_usage_error 2 'demo: --partitioner: .*crc64' -- demo --partitioner crc64
check encode_partitioner_needs_bootstrap 2 '^usage: loyalty-stream encode' -- \
    encode --engine-json --partitioner murmur2
check decode_has_no_partitioner 2 '^usage: loyalty-stream decode' -- \
    decode --bootstrap b:9092 --topic t --partitioner murmur2
# replay counts the per-customer bounds as the processor does (docs/PROGRAMS.md, "Per-customer
# bounds"): 17 purchases of distinct expiry, then a return of the first, forgotten one.
btmp=$(mktemp -d)
printf 'currency: RUB\ntimezone: Europe/Moscow\nearning: {base_percent: 10}\nexpiry: {mode: after_days, days: 400}\n' >"$btmp/p.yaml"
for i in $(seq 0 16); do
    printf '{"type":"purchase","event_id":"p%d","customer_id":"c","time":"2026-01-%02dT12:00:00Z","currency":"RUB","lines":[{"sku":"s","category":"x","quantity":1,"amount":100000}]}\n' "$i" $((i + 1))
done >"$btmp/e.jsonl"
echo '{"type":"return","event_id":"r0","customer_id":"c","time":"2026-01-20T12:00:00Z","currency":"RUB","original_event_id":"p0","lines":[{"sku":"s","category":"x","quantity":1,"amount":100000}]}' >>"$btmp/e.jsonl"
check replay_counts_the_bounds 0 '^per-customer bounds bit: purchases 1 return_not_found 1 lots 1$' -- \
    replay --program "$btmp/p.yaml" --input "$btmp/e.jsonl" --now 2026-02-01T00:00:00Z
check replay_return_beyond_the_ring_says_so 0 '"points":0,"debt_added":0,"original_event_id":"p0","reason":"purchase_not_found"' -- \
    replay --program "$btmp/p.yaml" --input "$btmp/e.jsonl" --now 2026-02-01T00:00:00Z
rm -rf "$btmp"
for cmd in $("$bin" --help | sed -n 's/^  \([a-z-]*\) .*(not available in this build)$/\1/p'); do
    check "unavailable_${cmd}_exits_2" 2 "'$cmd' is not available in this build" -- "$cmd"
done
echo "$passed passed, $fails failed"
[ "$fails" = 0 ]
