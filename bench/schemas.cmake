# Benchmarks of schemas/: the Avro codec against bare avro-c in the same run.
add_executable(bench_avro bench_avro.c)
target_link_libraries(bench_avro PRIVATE ls_schemas)
