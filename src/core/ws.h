/* WebSocket (RFC 6455) framing for the server side of an upgraded connection: the handshake's
 * accept key, a bounded parser of client frames (masked, unmasked in place) and the writer of
 * server frames (unmasked). Message reassembly and the protocol above (Kubernetes' channel
 * protocols) belong to the caller. */
#ifndef KROLL_CORE_WS_H
#define KROLL_CORE_WS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"

enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

struct ws_frame {
    int fin;
    int op;
    uint8_t *payload; /* inside the parsed input, unmasked */
    size_t len;
};

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (out: 28 characters and a NUL).
 * Returns 0, or -E_BAD_REQUEST for a key that is not 24 base64 characters. */
int ws_accept_key(const char *key, char out[29]);
/* Parses one client frame at p (n bytes available), whose payload may be at most max bytes.
 * Returns the frame's size in bytes (> 0) with f filled and the payload unmasked in place, 0
 * when more input is needed, -E_TOO_LARGE for a payload over max, or -E_BAD_REQUEST for a
 * frame no client may send (unmasked, reserved bits, unknown opcode, a control frame that is
 * fragmented or longer than 125 bytes). */
ssize_t ws_frame_parse(uint8_t *p, size_t n, size_t max, struct ws_frame *f);
/* Appends one unfragmented server frame (FIN set, no mask). Returns 0 or -E_TOO_LARGE. */
int ws_frame_append(struct buf *out, int op, const void *payload, size_t len);

#endif
