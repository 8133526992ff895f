/*
 * reset: delete a stopped processor's local state so that it restores from the changelog.
 *   reset --state DIR              the whole store (e.g. one RocksDB reports as corrupt)
 *   reset --state DIR --task N     one task's state and checkpoint
 * The one idea: the changelog holds every committed state, so local state is a cache that
 * may always be thrown away; the next assignment of a task without a checkpoint restores
 * it from the changelog's beginning. A store that a running processor holds is refused.
 */
#ifndef LS_RESET_H
#define LS_RESET_H

/** @brief `reset`: 0 done, 1 failed (in use, cannot delete), 2 bad usage. */
int reset_main(int argc, char **argv);

#endif
