/*
 * bench_avro: the Avro codec (framing, writer-id cache, byte check, resolution by name,
 * validation) against bare avro-c doing the same decode/encode work on the same records in
 * the same run. Prints records/s and the ratio; goal: the codec's overhead <= 10%.
 * Decoding is measured twice: records framed with our own InputEvent schema id (the
 * codec's direct path, schemas/avro_map.c) and the same bytes framed with another id
 * registered with the same schema text (the generic path every foreign writer takes).
 * Encoding likewise: the codec's direct path (what the processor uses) and its generic
 * avro-c path (the fallback that reports errors).
 *
 * "Bare avro-c" = what a hand-written avro-c consumer does: one reused generic value,
 * avro_value_read of the payload (no frame, no id lookup, no pre-check), fields copied
 * into eng_event_t by name, no validation; for encoding, fields set by name and
 * avro_value_write into a fixed buffer (no frame, no buffer growth).
 * Codec and bare alternate every pass over the records (thread CPU time), so machine
 * noise hits both; the median of the rounds is reported.
 *   bench_avro [RECORDS_PER_ROUND]
 */
#include "avro_codec.h"
#include "avro_codec_int.h"
#include "frame.h"

#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_RECORDS  2000
#define ROUNDS     7
#define FOREIGN_ID 900001 /* a writer id other than ours, with our schema's text */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: a shared machine's
                                                 preemption does not count */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct rec {
    uint8_t *buf;
    uint8_t *foreign; /* the same record framed with FOREIGN_ID */
    size_t len;
    char key[ENG_ID_MAX];
} rec_t;

static void make_event(eng_event_t *ev, int i)
{
    static const char *cats[] = {"food", "lenses", "services", "consumables"};
    memset(ev, 0, sizeof(*ev));
    ev->kind = ENG_EV_PURCHASE;
    snprintf(ev->event_id, sizeof(ev->event_id), "pos-17-%08d", i);
    snprintf(ev->customer_id, sizeof(ev->customer_id), "customer-%06d", (i * 7919) % 50000);
    ev->time_ms = 1767225600000 + i * 1000LL;
    snprintf(ev->partner, sizeof(ev->partner), "store-%d", i % 40);
    strcpy(ev->currency, "RUB");
    ev->n_lines = 1 + (uint32_t)(i % 4);
    for (uint32_t l = 0; l < ev->n_lines; l++) {
        snprintf(ev->lines[l].sku, sizeof(ev->lines[l].sku), "sku-%05d", (i + (int)l) % 9000);
        strcpy(ev->lines[l].category, cats[(i + (int)l) % 4]);
        ev->lines[l].quantity = 1 + (int32_t)l;
        ev->lines[l].amount = 19000 + 1000LL * (i % 300);
        ev->lines[l].on_sale = (i + (int)l) % 5 == 0;
    }
}

static void make_output(eng_output_t *o, int i)
{
    memset(o, 0, sizeof(*o));
    o->kind = ENG_OUT_BONUS_EARNED;
    snprintf(o->output_id, sizeof(o->output_id), "pos-17-%08d:0", i);
    snprintf(o->customer_id, sizeof(o->customer_id), "customer-%06d", (i * 7919) % 50000);
    snprintf(o->cause_id, sizeof(o->cause_id), "pos-17-%08d", i);
    o->time_ms = 1767225600000 + i * 1000LL;
    strcpy(o->currency, "RUB");
    o->u.bonus_earned.points = 100 + i % 900;
    o->u.bonus_earned.rate_bp = 500;
    strcpy(o->u.bonus_earned.tier, "Silver");
    strcpy(o->u.bonus_earned.source, "purchase");
    o->u.bonus_earned.usable_from = o->time_ms + 86400000;
    o->u.bonus_earned.expires_at = i % 3 ? o->time_ms + 86400000LL * 60 : ENG_TIME_NEVER;
}

/* ------------------------------------------------------------------ bare avro-c */

static void bare_str(const avro_value_t *rec, const char *name, char *dst, size_t cap)
{
    avro_value_t f;
    const char *s;
    size_t size;
    avro_value_get_by_name(rec, name, &f, NULL);
    avro_value_get_string(&f, &s, &size);
    snprintf(dst, cap, "%s", s);
}

static void bare_decode(avro_reader_t rd, avro_value_t *v, const rec_t *r, eng_event_t *ev)
{
    avro_value_t f, p, lines, el;
    size_t n;
    int32_t q;
    int b;
    avro_reader_memory_set_source(rd, (const char *)r->buf + 5, (int64_t)r->len - 5);
    avro_value_reset(v);
    if (avro_value_read(rd, v) != 0)
        abort();
    bare_str(v, "event_id", ev->event_id, sizeof(ev->event_id));
    bare_str(v, "customer_id", ev->customer_id, sizeof(ev->customer_id));
    avro_value_get_by_name(v, "time", &f, NULL);
    avro_value_get_long(&f, &ev->time_ms);
    bare_str(v, "currency", ev->currency, sizeof(ev->currency));
    avro_value_get_by_name(v, "payload", &f, NULL);
    avro_value_get_current_branch(&f, &p);
    bare_str(&p, "partner", ev->partner, sizeof(ev->partner));
    avro_value_get_by_name(&p, "lines", &lines, NULL);
    avro_value_get_size(&lines, &n);
    for (size_t i = 0; i < n && i < ENG_LINES_MAX; i++) {
        eng_line_t *l = &ev->lines[i];
        avro_value_get_by_index(&lines, i, &el, NULL);
        bare_str(&el, "sku", l->sku, sizeof(l->sku));
        bare_str(&el, "category", l->category, sizeof(l->category));
        avro_value_get_by_name(&el, "quantity", &f, NULL);
        avro_value_get_int(&f, &q);
        l->quantity = q;
        avro_value_get_by_name(&el, "amount", &f, NULL);
        avro_value_get_long(&f, &l->amount);
        avro_value_get_by_name(&el, "on_sale", &f, NULL);
        avro_value_get_boolean(&f, &b);
        l->on_sale = b;
    }
    ev->n_lines = (uint32_t)n;
}

static void set_s(avro_value_t *rec, const char *name, const char *s)
{
    avro_value_t f;
    avro_value_get_by_name(rec, name, &f, NULL);
    avro_value_set_string(&f, s);
}

static void set_l(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    avro_value_get_by_name(rec, name, &f, NULL);
    avro_value_set_long(&f, v);
}

static size_t bare_encode(avro_writer_t w, avro_value_t *v, char *buf, size_t cap,
                          const eng_output_t *o)
{
    avro_value_t f, b;
    const eng_bonus_earned_t *e = &o->u.bonus_earned;
    avro_value_reset(v);
    set_s(v, "output_id", o->output_id);
    set_s(v, "customer_id", o->customer_id);
    set_l(v, "time", o->time_ms);
    avro_value_get_by_name(v, "cause_id", &f, NULL);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_string(&b, o->cause_id);
    set_s(v, "currency", o->currency);
    set_l(v, "points", e->points);
    avro_value_get_by_name(v, "rate_bp", &f, NULL);
    avro_value_set_int(&f, e->rate_bp);
    set_s(v, "tier", e->tier);
    set_s(v, "source", e->source);
    set_l(v, "usable_from", e->usable_from);
    avro_value_get_by_name(v, "expires_at", &f, NULL);
    if (e->expires_at == ENG_TIME_NEVER) {
        avro_value_set_branch(&f, 0, &b);
        avro_value_set_null(&b);
    } else {
        avro_value_set_branch(&f, 1, &b);
        avro_value_set_long(&b, e->expires_at);
    }
    avro_value_get_by_name(v, "period", &f, NULL); /* version 2: a correction's period */
    avro_value_set_branch(&f, 0, &b);
    avro_value_set_null(&b);
    avro_value_get_by_name(v, "correction", &f, NULL);
    avro_value_set_boolean(&f, 0);
    avro_writer_memory_set_dest(w, buf, (int64_t)cap);
    if (avro_value_write(w, v) != 0)
        abort();
    return (size_t)avro_writer_tell(w);
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : N_RECORDS;
    char err[256], msg[256];
    avro_codec_config_t cfg;
    avro_codec_config_defaults(&cfg);
    avro_codec_t *c = avro_codec_new(&cfg, err, sizeof(err));
    rec_t *recs = calloc((size_t)n, sizeof(*recs));
    eng_output_t *outs = calloc((size_t)n, sizeof(*outs));
    eng_event_t *ev = malloc(sizeof(*ev));
    if (!c || !recs || !outs || !ev || n <= 0)
        return 1;
    for (int i = 0; i < n; i++) {
        const uint8_t *buf;
        make_event(ev, i);
        if (avro_codec_encode_event(c, ev, &buf, &recs[i].len, err, sizeof(err)) != 0)
            return 1;
        recs[i].buf = malloc(recs[i].len);
        recs[i].foreign = malloc(recs[i].len);
        if (!recs[i].buf || !recs[i].foreign)
            return 1;
        memcpy(recs[i].buf, buf, recs[i].len);
        memcpy(recs[i].foreign, buf, recs[i].len);
        frame_write_header(recs[i].foreign, FOREIGN_ID);
        strcpy(recs[i].key, ev->customer_id);
        make_output(&outs[i], i);
    }
    /* bare avro-c's own values, from the same schemas */
    avro_schema_t in_s, out_s;
    const char *in_j = avro_codec_schema_json(AVRO_CODEC_TYPE_INPUT);
    const char *out_j = avro_codec_schema_json(ENG_OUT_BONUS_EARNED);
    avro_schema_from_json_length(in_j, strlen(in_j), &in_s);
    avro_schema_from_json_length(out_j, strlen(out_j), &out_s);
    if (avro_codec_add_writer_schema(c, FOREIGN_ID, in_j, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_avro: %s\n", err);
        return 1;
    }
    avro_value_iface_t *in_i = avro_generic_class_from_schema(in_s);
    avro_value_iface_t *out_i = avro_generic_class_from_schema(out_s);
    avro_value_t in_v, out_v;
    avro_generic_value_new(in_i, &in_v);
    avro_generic_value_new(out_i, &out_v);
    avro_reader_t rd = avro_reader_memory("", 0);
    static char wbuf[4096];
    avro_writer_t wr = avro_writer_memory(wbuf, sizeof(wbuf));

    double t_dec[ROUNDS] = {0}, t_gen[ROUNDS] = {0}, t_bare_dec[ROUNDS] = {0}, t_enc[ROUNDS] = {0},
           t_genc[ROUNDS] = {0}, t_bare_enc[ROUNDS] = {0};
    size_t sink = 0;
    int reps = 1 + 200000 / n; /* about 200,000 records per measurement */
    /* Codec and bare alternate every pass over the records, so that a change in machine
     * load during a round hits both sides alike. */
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < reps; k++) {
            double t0 = now_s();
            for (int i = 0; i < n; i++)
                if (avro_codec_decode_event(c, recs[i].key, strlen(recs[i].key), recs[i].buf,
                                            recs[i].len, ev, msg, sizeof(msg)) != DLQ_OK)
                    return 1;
            double t1 = now_s();
            for (int i = 0; i < n; i++)
                bare_decode(rd, &in_v, &recs[i], ev);
            double t2 = now_s();
            for (int i = 0; i < n; i++)
                if (avro_codec_decode_event(c, recs[i].key, strlen(recs[i].key), recs[i].foreign,
                                            recs[i].len, ev, msg, sizeof(msg)) != DLQ_OK)
                    return 1;
            double t2g = now_s();
            for (int i = 0; i < n; i++) {
                const uint8_t *buf;
                size_t len;
                if (avro_codec_encode_output(c, &outs[i], &buf, &len, err, sizeof(err)) != 0)
                    return 1;
                sink += len;
            }
            double t3 = now_s();
            for (int i = 0; i < n; i++)
                sink += bare_encode(wr, &out_v, wbuf, sizeof(wbuf), &outs[i]);
            double t4 = now_s();
            for (int i = 0; i < n; i++) {
                const uint8_t *buf;
                size_t len;
                if (avro_map_encode_output_generic(c, &outs[i], &buf, &len, err, sizeof(err)))
                    return 1;
                sink += len;
            }
            double t5 = now_s();
            t_dec[r] += t1 - t0;
            t_bare_dec[r] += t2 - t1;
            t_gen[r] += t2g - t2;
            t_enc[r] += t3 - t2g;
            t_bare_enc[r] += t4 - t3;
            t_genc[r] += t5 - t4;
        }
    }
    qsort(t_dec, ROUNDS, sizeof(double), cmp_double);
    qsort(t_bare_dec, ROUNDS, sizeof(double), cmp_double);
    qsort(t_gen, ROUNDS, sizeof(double), cmp_double);
    qsort(t_enc, ROUNDS, sizeof(double), cmp_double);
    qsort(t_genc, ROUNDS, sizeof(double), cmp_double);
    qsort(t_bare_enc, ROUNDS, sizeof(double), cmp_double);
    double total = (double)reps * n, m = ROUNDS / 2;
    int mi = (int)m;
    printf("bench_avro: %d distinct records x %d, median of %d rounds (%zu bytes encoded)\n", n,
           reps, ROUNDS, sink);
    printf("  decode InputEvent, our schema id (direct)   codec %10.0f rec/s   bare avro-c "
           "%10.0f rec/s   overhead %+5.1f%%\n",
           total / t_dec[mi], total / t_bare_dec[mi], 100.0 * (t_dec[mi] / t_bare_dec[mi] - 1));
    printf("  decode InputEvent, another id (generic)     codec %10.0f rec/s   bare avro-c "
           "%10.0f rec/s   overhead %+5.1f%%\n",
           total / t_gen[mi], total / t_bare_dec[mi], 100.0 * (t_gen[mi] / t_bare_dec[mi] - 1));
    printf("  encode BonusEarned, direct                  codec %10.0f rec/s   bare avro-c "
           "%10.0f rec/s   overhead %+5.1f%%\n",
           total / t_enc[mi], total / t_bare_enc[mi], 100.0 * (t_enc[mi] / t_bare_enc[mi] - 1));
    printf("  encode BonusEarned, generic                 codec %10.0f rec/s   bare avro-c "
           "%10.0f rec/s   overhead %+5.1f%%\n",
           total / t_genc[mi], total / t_bare_enc[mi], 100.0 * (t_genc[mi] / t_bare_enc[mi] - 1));
    for (int i = 0; i < n; i++) {
        free(recs[i].buf);
        free(recs[i].foreign);
    }
    free(recs);
    free(outs);
    free(ev);
    avro_value_decref(&in_v);
    avro_value_decref(&out_v);
    avro_value_iface_decref(in_i);
    avro_value_iface_decref(out_i);
    avro_schema_decref(in_s);
    avro_schema_decref(out_s);
    avro_reader_free(rd);
    avro_writer_free(wr);
    avro_codec_destroy(c);
    return 0;
}
