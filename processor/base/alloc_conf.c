/*
 * alloc_conf: jemalloc's settings, built into the programs that link jemalloc (see
 * ls_link_allocator in CMakeLists.txt; the MALLOC_CONF environment variable still
 * overrides them). One arena per CPU instead of jemalloc's default of four, and freed
 * pages go back to the system after 1 s instead of 10 s: with the defaults, bench_store
 * (12 tasks, 1M customers, default budget) ended at VmHWM 209-213 MiB, over its goal of
 * 200; with these at 168-182 MiB (glibc's malloc: 190 MiB), at the same speed
 * (bench/RESULTS.md, session 5).
 */
const char *malloc_conf; /* read by jemalloc at its start */
const char *malloc_conf = "percpu_arena:percpu,dirty_decay_ms:1000";
