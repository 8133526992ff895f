# Unit tests of schemas/ (ls_schemas): the codec, framing, dead-letter reasons, the
# registry client (against a small in-process registry), a bounded libFuzzer run of the
# decoder, and (label `it`) a consumer in another stack reading every output type.
ls_add_unit_test(test_avro_codec SOURCES unit/test_avro_codec.c LIBS ls_schemas)
ls_add_unit_test(test_frame SOURCES unit/test_frame.c LIBS ls_schemas)
ls_add_unit_test(test_dlq SOURCES unit/test_dlq.c LIBS ls_schemas)
ls_add_unit_test(test_avro_state SOURCES unit/test_avro_state.c LIBS ls_schemas ls_engine_json)
ls_add_unit_test(test_sr SOURCES unit/test_sr.c unit/test_sr_server.c
                 LIBS ls_schemas PkgConfig::MHD)

# The decoder under libFuzzer (clang), bounded to 45 s; skipped (77) without clang.
add_test(NAME fuzz_decode COMMAND ${CMAKE_CURRENT_LIST_DIR}/fuzz/run_fuzz.sh
         ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/schemas/avro_schemas_gen.c
         $<TARGET_FILE:loyalty-stream> ${CMAKE_BINARY_DIR}/fuzz 45)
set_tests_properties(fuzz_decode PROPERTIES LABELS unit SKIP_RETURN_CODE 77 TIMEOUT 240)

# Cross-stack: Apache Avro for Python (Debian python3-avro) decodes every output type the
# C encoder produced. Label `it` (it needs another stack); skipped (77) without it.
add_executable(avro_interop_gen avro-interop/gen_outputs.c)
target_link_libraries(avro_interop_gen PRIVATE ls_schemas)
add_test(NAME test_avro_interop
         COMMAND sh -c "$<TARGET_FILE:avro_interop_gen> outputs.bin expected.jsonl && /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/avro-interop/consume.py outputs.bin expected.jsonl"
         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(test_avro_interop PROPERTIES LABELS it SKIP_RETURN_CODE 77 TIMEOUT 120)

# The decode / encode commands end to end on files.
add_test(NAME test_avtool COMMAND ${CMAKE_CURRENT_LIST_DIR}/avro-interop/test_avtool.sh
         $<TARGET_FILE:loyalty-stream>)
set_tests_properties(test_avtool PROPERTIES LABELS cli TIMEOUT 60)

# The decode / encode tools against Kafka (the in-process mock cluster).
add_executable(test_avro_tool_kafka unit/test_avro_tool_kafka.c)
target_link_libraries(test_avro_tool_kafka PRIVATE ls_commands PkgConfig::CMOCKA)
add_test(NAME test_avro_tool_kafka COMMAND test_avro_tool_kafka $<TARGET_FILE:loyalty-stream>)
set_tests_properties(test_avro_tool_kafka PROPERTIES LABELS cli TIMEOUT 120
                     ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")
