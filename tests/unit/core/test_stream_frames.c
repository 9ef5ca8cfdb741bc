/* core/ws.c and core/spdy.c: the WebSocket accept key (RFC 6455's example), client frame
 * parsing (masking, lengths, the limits and the frames no client may send), and SPDY/3.1
 * frames: the server's own parse back, and its empty header block inflates to zero pairs on
 * one zlib stream across frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/spdy.h"
#include "core/ws.h"

static void test_accept_key(void **state)
{
    char out[29];

    (void)state;
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(ws_accept_key("short", out), -E_BAD_REQUEST);
    assert_int_equal(ws_accept_key(NULL, out), -E_BAD_REQUEST);
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ\"\"", out), -E_BAD_REQUEST);
}

static void test_ws_parse(void **state)
{
    /* "\x01hi" on stdout... as a client would send stdin: channel 0, "hi", mask 1 2 3 4 */
    uint8_t f[] = {0x82, 0x83, 1, 2, 3, 4, 0 ^ 1, 'h' ^ 2, 'i' ^ 3};
    uint8_t unmasked[] = {0x82, 0x03, 0, 'h', 'i'};
    uint8_t ping_long[2 + 4 + 126] = {0x89, 0x80 | 126};
    uint8_t big[] = {0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4};
    uint8_t rsv[] = {0xc2, 0x80, 1, 2, 3, 4};
    struct ws_frame wf;

    (void)state;
    for (size_t n = 0; n < sizeof f; n++)
        assert_int_equal(ws_frame_parse(f, n, 100, &wf), 0); /* incomplete */
    assert_int_equal(ws_frame_parse(f, sizeof f, 100, &wf), (ssize_t)sizeof f);
    assert_true(wf.fin);
    assert_int_equal(wf.op, WS_OP_BINARY);
    assert_int_equal(wf.len, 3);
    assert_memory_equal(wf.payload, "\0hi", 3);
    assert_int_equal(ws_frame_parse(unmasked, sizeof unmasked, 100, &wf), -E_BAD_REQUEST);
    assert_int_equal(ws_frame_parse(ping_long, sizeof ping_long, 1000, &wf), -E_BAD_REQUEST);
    assert_int_equal(ws_frame_parse(big, sizeof big, 1 << 20, &wf), -E_TOO_LARGE);
    assert_int_equal(ws_frame_parse(rsv, sizeof rsv, 100, &wf), -E_BAD_REQUEST);
}

static void test_ws_write(void **state)
{
    struct buf b;
    char payload[300];

    (void)state;
    memset(payload, 'x', sizeof payload);
    buf_init(&b, 1 << 16);
    assert_int_equal(ws_frame_append(&b, WS_OP_BINARY, "\1ok", 3), 0);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "\x82\x03\1ok", 5);
    b.len = 0;
    assert_int_equal(ws_frame_append(&b, WS_OP_BINARY, payload, sizeof payload), 0);
    assert_int_equal(b.len, 4 + sizeof payload);
    assert_int_equal((uint8_t)b.data[1], 126);
    assert_int_equal(((uint8_t)b.data[2] << 8) | (uint8_t)b.data[3], 300);
    buf_release(&b);
}

static void test_spdy(void **state)
{
    struct spdy_zout zo = {0};
    struct spdy_zin zi = {0};
    struct spdy_frame f;
    struct spdy_hdr h[4];
    struct buf b;
    uint8_t ping[] = {0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 7};
    uint8_t v2[] = {0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 7};
    uint8_t huge[] = {0, 0, 0, 1, 0, 0x20, 0, 0};

    (void)state;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 3; i++) { /* one zlib stream per direction, across frames */
        b.len = 0;
        assert_int_equal(spdy_syn_reply_append(&zo, &b, 2 * i + 1), 0);
        assert_int_equal(spdy_frame_parse((uint8_t *)b.data, b.len, &f), (ssize_t)b.len);
        assert_true(f.control);
        assert_int_equal(f.type, SPDY_SYN_REPLY);
        assert_int_equal(f.stream, 2 * i + 1);
        assert_int_equal(spdy_headers_decode(&zi, f.data + 4, f.len - 4, h, 4), 0);
    }
    b.len = 0;
    assert_int_equal(spdy_data_append(&b, 5, 1, "abc", 3), 0);
    assert_int_equal(spdy_frame_parse((uint8_t *)b.data, b.len, &f), 11);
    assert_false(f.control);
    assert_int_equal(f.stream, 5);
    assert_int_equal(f.flags, SPDY_FLAG_FIN);
    assert_memory_equal(f.data, "abc", 3);
    assert_int_equal(spdy_frame_parse(ping, sizeof ping, &f), 12);
    assert_int_equal(f.type, SPDY_PING);
    assert_int_equal(spdy_frame_parse(ping, 11, &f), 0);
    assert_int_equal(spdy_frame_parse(v2, sizeof v2, &f), -E_BAD_REQUEST);
    assert_int_equal(spdy_frame_parse(huge, sizeof huge, &f), -E_TOO_LARGE);
    /* A block that is not zlib ends the session. */
    assert_true(spdy_headers_decode(&zi, (const uint8_t *)"garbage", 7, h, 4) < 0);
    buf_release(&b);
    spdy_zin_release(&zi);
    spdy_zout_release(&zo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_ws_parse),
        cmocka_unit_test(test_ws_write),
        cmocka_unit_test(test_spdy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
