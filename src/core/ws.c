/* WebSocket framing (RFC 6455 section 5): see ws.h. */
#include "core/ws.h"

#include <openssl/evp.h>
#include <string.h>

#include "core/err.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int ws_accept_key(const char *key, char out[29])
{
    unsigned char md[EVP_MAX_MD_SIZE], in[64];
    unsigned int mdlen = 0;
    size_t kl = key ? strlen(key) : 0;

    if (kl != 24 ||
        strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != 24)
        return -E_BAD_REQUEST;
    memcpy(in, key, kl);
    memcpy(in + kl, WS_GUID, sizeof WS_GUID - 1);
    if (!EVP_Digest(in, kl + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return -E_INTERNAL;
    EVP_EncodeBlock((unsigned char *)out, md, 20);
    return 0;
}

ssize_t ws_frame_parse(uint8_t *p, size_t n, size_t max, struct ws_frame *f)
{
    size_t hl = 2, len;
    uint8_t *mask;

    if (n < 2)
        return 0;
    if (p[0] & 0x70)
        return -E_BAD_REQUEST; /* no extension was negotiated */
    f->fin = !!(p[0] & 0x80);
    f->op = p[0] & 0x0f;
    if (!(p[1] & 0x80))
        return -E_BAD_REQUEST; /* client frames are masked */
    len = p[1] & 0x7f;
    switch (f->op) {
    case WS_OP_CONT:
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        break;
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        if (!f->fin || len > 125)
            return -E_BAD_REQUEST;
        break;
    default:
        return -E_BAD_REQUEST;
    }
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (size_t)p[2] << 8 | p[3];
        hl = 4;
    } else if (len == 127) {
        uint64_t l = 0;

        if (n < 10)
            return 0;
        for (int i = 0; i < 8; i++)
            l = l << 8 | p[2 + i];
        if (l > max)
            return -E_TOO_LARGE;
        len = (size_t)l;
        hl = 10;
    }
    if (len > max)
        return -E_TOO_LARGE;
    if (n < hl + 4 + len)
        return 0;
    mask = p + hl;
    f->payload = p + hl + 4;
    f->len = len;
    for (size_t i = 0; i < len; i++)
        f->payload[i] ^= mask[i & 3];
    return (ssize_t)(hl + 4 + len);
}

int ws_frame_append(struct buf *out, int op, const void *payload, size_t len)
{
    uint8_t h[10];
    size_t hl = 2;

    h[0] = (uint8_t)(0x80 | (op & 0x0f));
    if (len < 126) {
        h[1] = (uint8_t)len;
    } else if (len <= 0xffff) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    if (buf_append(out, h, hl) < 0 || (len && buf_append(out, payload, len) < 0))
        return -E_TOO_LARGE;
    return 0;
}
