/* Tests of schemas/frame: the Confluent header and the framed-record file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_header_round_trip_is_big_endian(void **state)
{
    (void)state;
    uint8_t b[8];
    int32_t id;
    const uint8_t *payload;
    size_t plen;
    frame_write_header(b, 0x01020304);
    assert_int_equal(b[0], 0);
    assert_int_equal(b[1], 1);
    assert_int_equal(b[4], 4);
    b[5] = 'x';
    assert_int_equal(frame_parse(b, 6, &id, &payload, &plen), FRAME_OK);
    assert_int_equal(id, 0x01020304);
    assert_ptr_equal(payload, b + 5);
    assert_int_equal(plen, 1);
}

static void test_short_or_wrong_magic_is_refused(void **state)
{
    (void)state;
    uint8_t b[5] = {0, 0, 0, 0, 7};
    int32_t id = -1;
    const uint8_t *payload = NULL;
    size_t plen = 0;
    assert_int_equal(frame_parse(NULL, 0, &id, &payload, &plen), FRAME_ERR_TRUNCATED);
    assert_int_equal(frame_parse(b, 4, &id, &payload, &plen), FRAME_ERR_TRUNCATED);
    assert_int_equal(frame_parse(b, 5, &id, &payload, &plen), FRAME_OK);
    assert_int_equal(plen, 0);
    b[0] = 1;
    assert_int_equal(frame_parse(b, 5, &id, &payload, &plen), FRAME_ERR_MAGIC);
}

static void test_file_round_trip(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    char err[256];
    assert_int_equal(frame_file_write(f, "abc", 3), 0);
    assert_int_equal(frame_file_write(f, "", 0), 0);
    assert_int_equal(frame_file_write(f, "\n\0x", 3), 0);
    rewind(f);
    assert_int_equal(frame_file_read(f, &buf, &cap, &len, err, sizeof(err)), 1);
    assert_int_equal(len, 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(frame_file_read(f, &buf, &cap, &len, err, sizeof(err)), 1);
    assert_int_equal(len, 0);
    assert_int_equal(frame_file_read(f, &buf, &cap, &len, err, sizeof(err)), 1);
    assert_memory_equal(buf, "\n\0x", 3);
    assert_int_equal(frame_file_read(f, &buf, &cap, &len, err, sizeof(err)), 0);
    free(buf);
    fclose(f);
}

static void test_file_with_huge_length_prefix_is_refused(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    char err[256];
    fwrite("\xff\xff\xff\xf0", 1, 4, f);
    rewind(f);
    assert_int_equal(frame_file_read(f, &buf, &cap, &len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "exceeds"));
    assert_null(buf); /* nothing was allocated for it */
    fclose(f);
}

static void test_truncated_file_is_an_error(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    char err[256];
    fwrite("\0\0\0\x09"
           "abc",
           1, 7, f); /* says 9 bytes, has 3 */
    rewind(f);
    assert_int_equal(frame_file_read(f, &buf, &cap, &len, err, sizeof(err)), -1);
    free(buf);
    fclose(f);
    f = tmpfile();
    fwrite("\0\0", 1, 2, f); /* ends inside a length prefix */
    rewind(f);
    buf = NULL;
    cap = 0;
    assert_int_equal(frame_file_read(f, &buf, &cap, &len, err, sizeof(err)), -1);
    free(buf);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip_is_big_endian),
        cmocka_unit_test(test_short_or_wrong_magic_is_refused),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_file_with_huge_length_prefix_is_refused),
        cmocka_unit_test(test_truncated_file_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
