/*
 * demo: `loyalty-stream demo`, the README's main command: the real pipeline on an
 * embedded mock Kafka cluster (or a given broker) with generated traffic. See demo.c.
 */
#ifndef LS_DEMO_H
#define LS_DEMO_H

/** @brief `loyalty-stream demo [--bootstrap HOST:PORT] ...`. @returns the exit code. */
int demo_main(int argc, char **argv);

#endif
