/*
 * progcmd: the two commands that work on program files without Kafka.
 *   check-program FILE          validate a program file, print a summary or the errors
 *   replay --program P --input EVENTS.jsonl [--what-if P2] [--clock stream]
 *          [--final-state FILE] [--no-outputs]
 *                               run the engine over a file of JSON events
 * The one idea: replay is the reference the pipeline is compared against, so it follows
 * the engine's caller contract to the letter (eng.h): one pending timer per customer,
 * stream-time clock, timers due at or before an event's time fire before it.
 */
#ifndef LS_PROGCMD_H
#define LS_PROGCMD_H

/** @brief `check-program`: 0 valid, 1 invalid, 2 bad usage. */
int check_program_main(int argc, char **argv);
/** @brief `replay`: 0 ok (bad lines are reported and skipped), 1 failed, 2 bad usage. */
int replay_main(int argc, char **argv);

#endif
