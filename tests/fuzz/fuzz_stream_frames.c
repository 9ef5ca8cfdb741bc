/* libFuzzer target for the frame parsers of kubectl's streaming protocols: WebSocket client
 * frames (src/core/ws.c) and SPDY/3.1 frames with their zlib header blocks (src/core/spdy.c),
 * fed the way the node's sessions feed them (frames one after another, the header-block zlib
 * stream continued across SYN_STREAM frames). The first input byte picks the parser. Invariants:
 * a parsed frame lies inside the input and within the size limit; a masked frame built from
 * the input parses back to its payload; SPDY frames the server writes parse back. Crashes,
 * sanitizer reports, leaks and a broken invariant are findings. Build: tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/spdy.h"
#include "core/ws.h"

#define MAX_PAYLOAD 4096

static void ws_all(uint8_t *p, size_t n)
{
    size_t off = 0;

    while (off < n) {
        struct ws_frame f;
        ssize_t r = ws_frame_parse(p + off, n - off, MAX_PAYLOAD, &f);

        if (r <= 0)
            return;
        if ((size_t)r > n - off || f.len > MAX_PAYLOAD || f.payload < p + off ||
            f.payload + f.len > p + off + r)
            abort();
        off += (size_t)r;
    }
}

/* A masked client frame of the input's bytes must parse back to them. */
static void ws_roundtrip(const uint8_t *d, size_t n)
{
    size_t len = n > 70000 ? 70000 : n, hl = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
    uint8_t *f = malloc(hl + 4 + len + 1), mask[4] = {0x12, 0x34, 0x56, 0x78};
    struct ws_frame wf;

    f[0] = 0x82;
    if (hl == 2) {
        f[1] = (uint8_t)(0x80 | len);
    } else if (hl == 4) {
        f[1] = 0x80 | 126, f[2] = (uint8_t)(len >> 8), f[3] = (uint8_t)len;
    } else {
        f[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            f[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(f + hl, mask, 4);
    for (size_t i = 0; i < len; i++)
        f[hl + 4 + i] = d[i] ^ mask[i & 3];
    if (ws_frame_parse(f, hl + 4 + len, 1u << 20, &wf) != (ssize_t)(hl + 4 + len) ||
        wf.len != len || (len && memcmp(wf.payload, d, len) != 0) || !wf.fin || wf.op != 2)
        abort();
    free(f);
}

static void spdy_all(const uint8_t *p, size_t n)
{
    struct spdy_zin zi = {0};
    struct spdy_hdr h[SPDY_MAX_PAIRS];
    size_t off = 0;

    while (off < n) {
        struct spdy_frame f;
        ssize_t r = spdy_frame_parse(p + off, n - off, &f);

        if (r <= 0)
            break;
        if ((size_t)r > n - off || f.len > SPDY_MAX_FRAME || f.len + 8 != (size_t)r)
            abort();
        if (f.control && f.type == SPDY_SYN_STREAM && f.len >= 10 &&
            spdy_headers_decode(&zi, f.data + 10, f.len - 10, h, SPDY_MAX_PAIRS) < 0)
            break; /* a corrupt block ends the session */
        off += (size_t)r;
    }
    spdy_zin_release(&zi);
}

/* What the server writes parses back; its empty header block inflates to zero pairs. */
static void spdy_roundtrip(const uint8_t *d, size_t n)
{
    struct spdy_zout zo = {0};
    struct spdy_zin zi = {0};
    struct spdy_hdr h[4];
    struct spdy_frame f;
    struct buf b;
    uint32_t id = n >= 4 ? ((uint32_t)d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3]) & 0x7fffffff : 1;

    buf_init(&b, 1u << 22);
    if (spdy_data_append(&b, id, 1, d, n > 65536 ? 65536 : n) < 0 ||
        spdy_frame_parse((uint8_t *)b.data, b.len, &f) != (ssize_t)b.len || f.control ||
        f.stream != id || !(f.flags & SPDY_FLAG_FIN))
        abort();
    for (int i = 0; i < 2; i++) {
        b.len = 0;
        if (spdy_syn_reply_append(&zo, &b, id) < 0 ||
            spdy_frame_parse((uint8_t *)b.data, b.len, &f) != (ssize_t)b.len || !f.control ||
            f.type != SPDY_SYN_REPLY || f.stream != id ||
            spdy_headers_decode(&zi, f.data + 4, f.len - 4, h, 4) != 0)
            abort();
    }
    buf_release(&b);
    spdy_zout_release(&zo);
    spdy_zin_release(&zi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;

    if (size < 1)
        return 0;
    copy = malloc(size);
    memcpy(copy, data + 1, size - 1);
    switch (data[0] & 3) {
    case 0:
        ws_all(copy, size - 1);
        break;
    case 1:
        ws_roundtrip(data + 1, size - 1);
        break;
    case 2:
        spdy_all(data + 1, size - 1);
        break;
    default:
        spdy_roundtrip(data + 1, size - 1);
        break;
    }
    free(copy);
    return 0;
}
