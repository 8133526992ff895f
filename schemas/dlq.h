/*
 * dlq: why a record goes to the dead-letter topic, and the headers that say so.
 *
 * The one idea: the decoder never crashes and never guesses; it returns a reason code.
 * The pipeline produces the record's ORIGINAL bytes (key and value untouched) to the
 * dead-letter topic with the headers built here; only a value larger than that topic
 * accepts is cut to fit (dlq_headers_mark_truncated says so in the headers). This module is plain
 * data (no librdkafka): the pipeline turns dlq_headers_t into rd_kafka headers.
 *
 * Reason codes are part of the contract (docs/SCHEMAS.md): their names are stable and
 * appear in the `dlq.reason` header; new codes are only ever added.
 */
#ifndef LS_DLQ_H
#define LS_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    DLQ_OK = 0,                    /* not a dead letter */
    DLQ_TRUNCATED = 1,             /* shorter than the frame header, or Avro data ends early */
    DLQ_BAD_MAGIC = 2,             /* first byte is not the Confluent magic byte 0 */
    DLQ_UNKNOWN_SCHEMA_ID = 3,     /* id neither configured nor known to the registry */
    DLQ_INCOMPATIBLE_SCHEMA = 4,   /* writer schema cannot be read as ours (wrong record,
                                      a required field missing, a type not promotable) */
    DLQ_MALFORMED = 5,             /* bytes are not valid Avro for the writer schema: bad
                                      varint, union/enum index out of range, negative or huge
                                      length, trailing bytes */
    DLQ_MISSING_EVENT_ID = 6,      /* event_id is empty */
    DLQ_MISSING_CUSTOMER = 7,      /* customer_id is empty */
    DLQ_NEGATIVE_AMOUNT = 8,       /* a money amount or points value is negative */
    DLQ_UNKNOWN_CURRENCY = 9,      /* currency is not an ISO 4217 code */
    DLQ_TOO_MANY_LINES = 10,       /* more basket lines than ENG_LINES_MAX */
    DLQ_FIELD_TOO_LONG = 11,       /* an id or name exceeds its bound (never truncated) */
    DLQ_INVALID_VALUE = 12,        /* out of range otherwise: quantity < 1, month 13, NUL in
                                      a string, no lines, ... */
    DLQ_KEY_MISMATCH = 13,         /* record key differs from customer_id */
    DLQ_REGISTRY_UNAVAILABLE = 14, /* RETRIABLE, not a dead letter: the registry could not
                                      be asked; retry or abort the transaction */
    DLQ_FUTURE_TIME = 15,          /* the event time is further ahead of the wall clock than
                                      the allowed skew (time.max.future.ms) */
    DLQ_NO_KEY = 16,               /* the record has no key (the key must be customer_id) */
    DLQ_TOO_LARGE = 17,            /* the dead letter did not fit the dead-letter topic: its
                                      value is cut; dlq.original.reason says why it is one */
    DLQ_TOO_LATE = 18,             /* the event is older than the task's clock by more than
                                      the program's late_events.max_lateness_days: its period
                                      can no longer be corrected */
    DLQ_REASON_COUNT
} dlq_reason_t;

/** @brief Stable name of a reason ("bad_magic", ...), "unknown" for an invalid value. */
const char *dlq_reason_name(dlq_reason_t r);

/** @brief Parse a reason name back. @returns 0 and *r set, -1 if unknown. */
int dlq_reason_parse(const char *name, dlq_reason_t *r);

/**
 * @brief True when the failure is transient (the record itself may be fine): the
 * pipeline must retry or abort instead of dead-lettering it.
 */
bool dlq_reason_is_retriable(dlq_reason_t r);

/* Header names on a dead-lettered record. */
#define DLQ_H_REASON      "dlq.reason"             /* reason name, e.g. "unknown_currency" */
#define DLQ_H_MESSAGE     "dlq.message"            /* one sentence naming the field */
#define DLQ_H_TOPIC       "dlq.original.topic"     /* topic the record was consumed from */
#define DLQ_H_PARTITION   "dlq.original.partition" /* decimal */
#define DLQ_H_OFFSET      "dlq.original.offset"    /* decimal */
#define DLQ_H_TIMESTAMP   "dlq.original.timestamp" /* decimal ms since the epoch, UTC */
#define DLQ_H_SIZE        "dlq.original.size"      /* decimal bytes of the original value */
#define DLQ_H_ORIG_REASON "dlq.original.reason"    /* with too_large: the reason it is one */
#define DLQ_HEADER_COUNT  6                        /* built by dlq_headers_build */
#define DLQ_HEADER_MAX    8                        /* with dlq_headers_mark_truncated */
#define DLQ_MESSAGE_MAX   256                      /* longer messages are cut at a UTF-8 boundary */
#define DLQ_TOPIC_MAX     256

typedef struct dlq_header {
    const char *name;  /* one of DLQ_H_* (static) */
    const char *value; /* points into the dlq_headers_t (no NUL counted in value_len) */
    size_t value_len;
} dlq_header_t;

/** The headers of one dead letter, self-contained: no allocation, no pointers out. */
typedef struct dlq_headers {
    dlq_header_t h[DLQ_HEADER_MAX];
    size_t count;
    char reason[32];
    char message[DLQ_MESSAGE_MAX];
    char topic[DLQ_TOPIC_MAX];
    char partition[16];
    char offset[24];
    char timestamp[24];
    char size[24];
    char orig_reason[32];
} dlq_headers_t;

/**
 * @brief Fill *out with the dead-letter headers of one record.
 * @param message the decoder's sentence (may be NULL or ""); cut to DLQ_MESSAGE_MAX - 1.
 * @returns 0 ok, -1 if reason is DLQ_OK or retriable, or topic is NULL or too long.
 */
int dlq_headers_build(dlq_headers_t *out, dlq_reason_t reason, const char *message,
                      const char *topic, int32_t partition, int64_t offset, int64_t timestamp_ms);

/**
 * @brief Mark built headers as those of a dead letter whose value had to be cut to fit the
 * dead-letter topic: the reason becomes too_large, the reason it is a dead letter moves
 * to dlq.original.reason, and dlq.original.size carries the value's original length.
 * @returns 0 ok, -1 if @p h was not built by dlq_headers_build or is already marked.
 */
int dlq_headers_mark_truncated(dlq_headers_t *h, size_t original_size);

/**
 * @brief The dead-letter topic of an input topic: "<topic>.dlq" (e.g. purchases.dlq).
 * @returns 0 ok, -1 if it does not fit in buf.
 */
int dlq_topic_for(const char *topic, char *buf, size_t buflen);

#endif
