# Benchmarks of state/: staged read-modify-write against bare RocksDB, restore apply,
# resident memory with 1M customers across 12 tasks.
add_executable(bench_store ${CMAKE_CURRENT_LIST_DIR}/bench_store.c)
target_link_libraries(bench_store PRIVATE ls_state)
ls_link_allocator(bench_store) # the store as loyalty-stream runs it
