# Unit tests of state/: real RocksDB in temporary directories, never a mock.
ls_add_unit_test(test_store SOURCES unit/test_store.c unit/test_store_util.c LIBS ls_state)
ls_add_unit_test(test_store_tmr SOURCES unit/test_store_tmr.c unit/test_store_util.c
                 LIBS ls_state)
ls_add_unit_test(test_clog SOURCES unit/test_clog.c unit/test_store_util.c LIBS ls_state)
ls_add_unit_test(test_store_inspect SOURCES unit/test_store_inspect.c unit/test_store_util.c
                 LIBS ls_commands)
# 1,000 SIGKILLs of a child process in the middle of commits.
ls_add_unit_test(test_store_crash SOURCES unit/test_store_crash.c unit/test_store_util.c
                 LIBS ls_state)
# Plain builds run all 1,000 kills (about 30 s here); under ASan+UBSan a fork and a RocksDB
# open cost three times as much, so the sanitizer run does 300 of them to stay well under
# a minute. The 1,000-kill run is the plain build's `ctest -L unit` (./dev test's last step).
if(LS_SANITIZE)
    set_property(TEST test_store_crash APPEND PROPERTY ENVIRONMENT LS_CRASH_ITERATIONS=300)
endif()
set_tests_properties(test_store_crash PROPERTIES TIMEOUT 300)
