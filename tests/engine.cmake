# Engine group: the time zone reader, the program loader, the engine rules, property tests
# and golden replays of examples/programs.
ls_add_unit_test(test_tz SOURCES unit/test_tz.c LIBS ls_engine_json)
ls_add_unit_test(test_prog SOURCES unit/test_prog.c LIBS ls_engine)
ls_add_unit_test(test_eng SOURCES unit/test_eng.c LIBS ls_engine_json)
ls_add_unit_test(test_eng_props SOURCES unit/test_eng_props.c LIBS ls_engine_json)
ls_add_unit_test(test_eng_json SOURCES unit/test_eng_json.c LIBS ls_engine_json)

# Golden replays of examples/programs (one program per DOMAIN.md mechanism): byte-exact
# outputs and summaries. Refresh after an intended change with
#   tests/golden/run_golden.sh build/processor/loyalty-stream examples/programs --update
# and review the diff.
add_test(NAME test_golden_programs
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/golden/run_golden.sh $<TARGET_FILE:loyalty-stream>
                 ${CMAKE_SOURCE_DIR}/examples/programs)
set_tests_properties(test_golden_programs PROPERTIES LABELS unit)
add_test(NAME test_program_cli
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/golden/check_program_cli.sh
                 $<TARGET_FILE:loyalty-stream> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_program_cli PROPERTIES LABELS unit)

# `replay --report` in headless Chromium: the page loads without script errors and its
# numbers equal replay's text summary. The PNG it renders is kept as
# <build>/replay-report.png for a person to look at (docs/PROGRAMS.md, "The HTML report").
add_test(NAME test_replay_report
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/report/test_report.sh $<TARGET_FILE:loyalty-stream>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/replay-report.png)
set_tests_properties(test_replay_report PROPERTIES LABELS "cli" TIMEOUT 300)
