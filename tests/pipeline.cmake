# The processor on the real broker (issue 7): `loyalty-stream run` as separate processes,
# judged against `loyalty-stream replay`. LS_KILLS sets the number of random SIGKILLs
# (default 50); LS_KEEP_TEST_DIRS=1 keeps /tmp/<scenario> (logs, stores) for a look.
add_library(ls_lskit STATIC it/lskit.c)
target_link_libraries(ls_lskit PUBLIC ls_commands ls_testkit)
ls_add_it_test(test_processor SOURCES it/test_processor.c LIBS ls_lskit TIMEOUT 1500)
# The fault suite on its own three-broker cluster: broker kills and restarts, a two-broker
# outage, an instance kill, a rolling restart and a scale-in, each judged against replay.
ls_add_it_test(test_faults SOURCES it/test_faults.c LIBS ls_lskit TIMEOUT 1200)
set_property(TEST test_faults APPEND PROPERTY LABELS slow faults)
# Kafka security on its own broker (kafka-test-broker.sh --secure: TLS + SASL).
ls_add_it_test(test_security SOURCES it/test_security.c LIBS ls_lskit TIMEOUT 600)
# Fencing: recovered in the process without a live duplicate; a live duplicate stops.
ls_add_it_test(test_fence SOURCES it/test_fence.c LIBS ls_lskit TIMEOUT 900)
# librdkafka's log lines during broker faults (processor/pipeline/klog.c).
ls_add_unit_test(test_klog SOURCES unit/test_klog.c LIBS ls_pipeline)
# The input consumer's librdkafka defaults, gated on the running librdkafka's version.
ls_add_unit_test(test_pipe_conf SOURCES unit/test_pipe_conf.c LIBS ls_pipeline)
# The operator's view on the real broker: handover after SIGTERM, /readyz, corruption.
ls_add_it_test(test_ops SOURCES it/test_ops.c LIBS ls_lskit PkgConfig::CURL TIMEOUT 600)
# Hostile records (issue 23) on the real broker: bad event times, an oversized record,
# keyless and mismatched keys, a schema registry that answers 401, 500 and garbage (the
# in-process stand-in of tests/unit/test_sr_server.c).
ls_add_it_test(test_hostile SOURCES it/test_hostile.c unit/test_sr_server.c
               LIBS ls_lskit PkgConfig::MHD TIMEOUT 900)
target_include_directories(test_hostile PRIVATE ${CMAKE_CURRENT_LIST_DIR}/unit)
# Event time (issue 23): backlogs with late events across month ends, under both clocks.
ls_add_it_test(test_event_time SOURCES it/test_event_time.c LIBS ls_lskit PkgConfig::JANSSON
               TIMEOUT 900)
