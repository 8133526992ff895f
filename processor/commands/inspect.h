/*
 * inspect: read a state store offline, read-only.
 *   inspect --state DIR --customer ID [--task N]   the customer's state as JSON
 *   inspect --state DIR --summary                  tasks, checkpoints, counts as JSON
 * The one idea: it opens the store read-only (no lock, no write), so it works on a store
 * that a stopped or crashed processor left, and changes nothing.
 */
#ifndef LS_INSPECT_H
#define LS_INSPECT_H

/** @brief `inspect`: 0 ok, 1 failed (cannot open, customer not found), 2 bad usage. */
int inspect_main(int argc, char **argv);

#endif
