# Engine benchmark: events/s of the pure engine vs the cost of parsing the same events
# from JSON, measured in one run (bench/RESULTS.md, section "Engine").
add_executable(bench_engine ${CMAKE_CURRENT_LIST_DIR}/bench_engine.c)
target_link_libraries(bench_engine PRIVATE ls_engine_json m)
