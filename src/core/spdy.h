/* SPDY/3.1 framing for the server side of kubectl's streams (exec and attach before 1.30,
 * port-forward on every version): a bounded frame parser, the per-direction zlib header
 * codec (preset with the SPDY/3 dictionary, one stream per connection and direction, flushed
 * per frame) and writers of the frames a server sends. Stream bookkeeping is the caller's. */
#ifndef KROLL_CORE_SPDY_H
#define KROLL_CORE_SPDY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>

#include "core/buf.h"

enum {
    SPDY_SYN_STREAM = 1,
    SPDY_SYN_REPLY = 2,
    SPDY_RST_STREAM = 3,
    SPDY_SETTINGS = 4,
    SPDY_PING = 6,
    SPDY_GOAWAY = 7,
    SPDY_HEADERS = 8,
    SPDY_WINDOW_UPDATE = 9,
};
#define SPDY_FLAG_FIN 0x01
#define SPDY_MAX_FRAME (1u << 20)    /* largest frame body accepted */
#define SPDY_MAX_HEADERS (64u << 10) /* largest decompressed header block */
#define SPDY_MAX_PAIRS 64            /* name/value pairs in one block */

struct spdy_frame {
    int control;
    unsigned type; /* control frames */
    unsigned flags;
    uint32_t stream; /* data frames; for control frames, the stream id of the body if any */
    const uint8_t *data;
    size_t len;
};

/* Parses one frame at p (n bytes available). Returns its size (> 0) with f filled, 0 when more
 * input is needed, -E_TOO_LARGE for a body over SPDY_MAX_FRAME, or -E_BAD_REQUEST for a
 * control frame of another SPDY version. */
ssize_t spdy_frame_parse(const uint8_t *p, size_t n, struct spdy_frame *f);

struct spdy_hdr {
    char name[64];
    char value[256]; /* longer values are cut (kubectl's are short) */
};

struct spdy_zin {
    z_stream z;
    int ready;
};
struct spdy_zout {
    z_stream z;
    int ready;
};
void spdy_zin_release(struct spdy_zin *zi);
void spdy_zout_release(struct spdy_zout *zo);
/* Inflates one header block (n bytes) into at most max pairs. Not reentrant (one static
 * buffer of SPDY_MAX_HEADERS): call it from one thread, the server's loop. Returns the pair count,
 * or -E_BAD_REQUEST (corrupt block, more than SPDY_MAX_PAIRS pairs, inflated past
 * SPDY_MAX_HEADERS). The zlib stream continues across calls: a failure ends the session. */
int spdy_headers_decode(struct spdy_zin *zi, const uint8_t *p, size_t n, struct spdy_hdr *h,
                        int max);
/* Appends SYN_REPLY (empty header block) for stream id. Returns 0 or a negative code. */
int spdy_syn_reply_append(struct spdy_zout *zo, struct buf *out, uint32_t id);
/* Appends a data frame (FIN when fin). len at most SPDY_MAX_FRAME. */
int spdy_data_append(struct buf *out, uint32_t id, int fin, const void *data, size_t len);
int spdy_rst_append(struct buf *out, uint32_t id, uint32_t status);
int spdy_ping_append(struct buf *out, uint32_t ping_id);
int spdy_goaway_append(struct buf *out, uint32_t last_id);

#endif
