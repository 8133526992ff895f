/*
 * alloc_conf: jemalloc's settings, built into the programs that link jemalloc (see
 * ls_link_allocator in CMakeLists.txt; the MALLOC_CONF environment variable still
 * overrides them). One arena per CPU instead of jemalloc's default of four, and freed
 * pages go back to the system after 1 s instead of 10 s: with jemalloc's defaults
 * bench_store (12 tasks, 1M customers, default budget) ends above its goal of 200 MiB
 * VmHWM, with these below it and below glibc's malloc, at the same speed (figures in
 * bench/RESULTS.md, "State store").
 */
const char *malloc_conf; /* read by jemalloc at its start */
const char *malloc_conf = "percpu_arena:percpu,dirty_decay_ms:1000";
