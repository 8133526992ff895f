/*
 * avtool: the `decode` and `encode` commands, tools for the teams on either side of the
 * Avro contract (docs/SCHEMAS.md).
 *
 *   decode [--registry URL] [--engine-json]
 *          [FILE | --bootstrap HOST:PORT --topic T [--count N]]
 *     prints every framed record as one JSON line: {"schema_id","type","value"} (plus
 *     topic, partition, offset and key when read from Kafka), or with --engine-json the
 *     engine's own JSON form (docs/EVENTS-JSON.md, what `replay` reads and prints); a
 *     record that cannot be decoded prints {"error": <dead-letter reason>, "message"}
 *     and the exit code is 1.
 *   encode --type T [--registry URL] [--output FILE | --split DIR |
 *          --bootstrap HOST:PORT --topic T] [FILE]
 *     reads JSON lines (the Avro JSON encoding of type T's schema, as `decode` prints a
 *     value) and writes framed Avro: a framed-record file (default, stdout), one file per
 *     record for `kcat -P` (--split), or produces to Kafka keyed by customer_id.
 *
 * FILE is a framed-record file (frame.h: 4-byte big-endian length + record); "-" or none
 * is stdin.
 */
#ifndef LS_AVTOOL_H
#define LS_AVTOOL_H

/** @brief The `decode` command. @returns 0 ok, 1 a record failed, 2 bad usage. */
int decode_main(int argc, char **argv);

/** @brief The `encode` command. @returns 0 ok, 1 a line failed, 2 bad usage. */
int encode_main(int argc, char **argv);

#endif
