/* Helpers shared by the state/ unit tests: temporary directories for real RocksDB. */
#ifndef LS_TEST_STORE_UTIL_H
#define LS_TEST_STORE_UTIL_H

#include "store.h"

#include <stddef.h>

/** Create a fresh temporary directory; returns its path (malloc'd). Aborts on failure. */
char *tsu_tmpdir(void);

/** Remove a directory tree and free @p dir. NULL is a no-op. */
void tsu_rmtree(char *dir);

/** Open a read-write store in @p dir with default settings; fails the test on error. */
store_t *tsu_open(const char *dir, int64_t now_ms);

/** Stage a NUL-terminated customer id and string value; fails the test on error. */
void tsu_put(store_task_t *t, const char *customer, const char *value);

/** Read a customer's value as a NUL-terminated string (malloc'd), NULL when absent. */
char *tsu_get(store_task_t *t, const char *customer);

#endif
