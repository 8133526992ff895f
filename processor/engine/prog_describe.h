/*
 * prog_describe: a loaded program in words (what `check-program` prints) and the money
 * and rate formatting that summaries share.
 *
 * The one idea: everything here reads a prog_t and writes into a caller's buffer, never
 * beyond it; nothing allocates.
 */
#ifndef LS_PROG_DESCRIBE_H
#define LS_PROG_DESCRIBE_H

#include "prog.h"

#include <stddef.h>
#include <stdint.h>

/** @brief Write a human summary of the program (what it does, in words) to buf. */
void prog_describe(const prog_t *prog, char *buf, size_t buflen);
/** @brief Format minor units as "1234.56" in the program's currency (no code). */
void prog_format_money(const prog_t *prog, int64_t minor, char *buf, size_t buflen);
/** @brief Format basis points as "12.5%". */
void prog_format_bp(int32_t bp, char *buf, size_t buflen);

#endif
