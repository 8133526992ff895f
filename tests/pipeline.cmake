# The processor on the real broker (issue 7): `loyalty-stream run` as separate processes,
# judged against `loyalty-stream replay`. LS_KILLS sets the number of random SIGKILLs
# (default 50); LS_KEEP_TEST_DIRS=1 keeps /tmp/<scenario> (logs, stores) for a look.
add_library(ls_lskit STATIC it/lskit.c)
target_link_libraries(ls_lskit PUBLIC ls_commands ls_testkit)
ls_add_it_test(test_processor SOURCES it/test_processor.c LIBS ls_lskit TIMEOUT 1500)
# Hostile records (issue 23) on the real broker: bad event times, an oversized record,
# keyless and mismatched keys, a schema registry that answers 401, 500 and garbage (the
# in-process stand-in of tests/unit/test_sr_server.c).
ls_add_it_test(test_hostile SOURCES it/test_hostile.c unit/test_sr_server.c
               LIBS ls_lskit PkgConfig::MHD TIMEOUT 900)
target_include_directories(test_hostile PRIVATE ${CMAKE_CURRENT_LIST_DIR}/unit)
