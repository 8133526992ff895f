# Pipeline benchmark on a real Kafka broker (issue 7 item 9): a pass-through exactly-once
# pipe against loyalty-stream on the same input, latency, memory, and restore against raw
# consumption. Starts its own broker with tests/kafka/kafka-test-broker.sh.
# It shares the integration tests' Kafka helpers, so it needs the test targets.
if(NOT TARGET ls_testkit)
    return()
endif()
add_executable(bench_pipeline ${CMAKE_CURRENT_LIST_DIR}/bench_pipeline.c)
target_link_libraries(bench_pipeline PRIVATE ls_commands ls_testkit)
ls_link_allocator(bench_pipeline) # the raw reader and the pass-through: as loyalty-stream
add_dependencies(bench_pipeline loyalty-stream)
target_compile_definitions(bench_pipeline PRIVATE
    LS_BENCH_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    LS_BENCH_BINARY="$<TARGET_FILE:loyalty-stream>")
if(TARGET kafka_probe)
    add_dependencies(bench_pipeline kafka_probe)
    target_compile_definitions(bench_pipeline PRIVATE LS_BENCH_PROBE="$<TARGET_FILE:kafka_probe>")
endif()

# bench_peer: the same benchmark in its --peer mode (bench/peer: loyalty-stream against a
# Kafka Streams 4.1.1 application on the same broker and input), so that `./dev bench peer`
# runs it. Never a ctest test: it runs for minutes and needs Maven Central once.
add_executable(bench_peer ${CMAKE_CURRENT_LIST_DIR}/bench_pipeline.c)
target_link_libraries(bench_peer PRIVATE ls_commands ls_testkit)
ls_link_allocator(bench_peer)
add_dependencies(bench_peer loyalty-stream)
target_compile_definitions(bench_peer PRIVATE
    LS_BENCH_PEER_DEFAULT=1
    LS_BENCH_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    LS_BENCH_BINARY="$<TARGET_FILE:loyalty-stream>")
if(TARGET kafka_probe)
    add_dependencies(bench_peer kafka_probe)
    target_compile_definitions(bench_peer PRIVATE LS_BENCH_PROBE="$<TARGET_FILE:kafka_probe>")
endif()
