/*
 * iso4217: the currency codes of ISO 4217 and their minor units, so that a program file's
 * `currency: XYZ` is refused and its `minor_units` checked against the currency's.
 *
 * The one idea: one static sorted table, read-only; no locale, no system files.
 */
#ifndef LS_ISO4217_H
#define LS_ISO4217_H

#include <stddef.h>

/** @brief Decimals of an active ISO 4217 code ("JPY" 0, "EUR" 2, "KWD" 3), -1 if unknown. */
int iso4217_minor_units(const char *code);
/** @brief The i-th code of the table (for suggestions), NULL past the end. */
const char *iso4217_code(size_t i);

#endif
