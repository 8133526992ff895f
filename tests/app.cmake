# Unit tests of processor/app (ls_app) against a fake pipeline (unit/fake_pipe.c): the
# app's hooks driven as processor/pipeline/pipe.c drives them, with real RocksDB, the real
# codec and a real program file.
#
# The real pipeline stays out by how static libraries link: fake_pipe.c is an object of
# the executable and defines the pipe.h functions the app calls (pipe_produce,
# pipe_produce_changelog, pipe_touch, pipe_rec_header), so no pipe_* symbol is left
# undefined for the linker to pull pipe.o out of libls_pipeline.a (which still comes along
# as a dependency of ls_app and ls_ops). Should the app ever call a pipe.h function the
# fake lacks, pipe.o would be pulled in and the link fails on duplicate definitions: the
# real pipeline can never slip in silently.
ls_add_unit_test(test_app SOURCES unit/test_app.c unit/fake_pipe.c unit/test_store_util.c
                 LIBS ls_app)
# For running the binary by hand; ctest sets LS_SOURCE_DIR.
target_compile_definitions(test_app PRIVATE LS_SOURCE_DIR_DEFAULT="${CMAKE_SOURCE_DIR}")
