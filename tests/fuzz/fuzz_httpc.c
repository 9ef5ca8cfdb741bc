/* libFuzzer target for the HTTP client's response parser (src/core/httpc_parse.c): the input,
 * after one control byte, is what a server answers, fed through a socketpair (then EOF) to the
 * same head parser and body decoder that httpc_do and httpc_open use. The control byte picks
 * the request method (HEAD has no body), the size of each read (1 byte to 16 KiB, so framing
 * falls across reads) and the body cap. Invariants: a parsed status is 100-999, the decoded body
 * is no longer than the input nor the cap, and a failed read leaves an error message. Crashes,
 * sanitizer reports, leaks and a broken invariant are findings. Build: tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/httpc-int.h"
#include "core/log.h"

#define MAX_ANSWER (64 * 1024) /* stays inside the socket's buffer: one write, no thread */

static const size_t read_sizes[] = {1, 2, 3, 7, 64, 1000, 4096, 16384};

static void drain(struct httpc_conn *c, size_t step, size_t cap, size_t in_len)
{
    char tmp[16384];
    size_t total = 0;
    ssize_t r;

    while ((r = httpc_read(c, tmp, step)) > 0) {
        if ((size_t)r > step)
            abort();
        total += (size_t)r;
        if (total > in_len || total > cap)
            return; /* a caller's cap; the decoder itself must stay within the input */
    }
    if (r < 0 && !c->err[0])
        abort();
    if (total > in_len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct httpc_conn *c;
    int sv[2];
    uint8_t ctl;

    if (size < 1)
        return 0;
    ctl = data[0];
    data++, size--;
    if (size > MAX_ANSWER)
        size = MAX_ANSWER;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    int sz = 256 * 1024;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    if (size && write(sv[1], data, size) != (ssize_t)size) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    close(sv[1]);
    c = xcalloc(1, sizeof *c);
    c->fd = sv[0];
    c->timeout_ms = 1000;
    c->stream = ctl & 1;
    c->deadline = httpc__now_ms() + c->timeout_ms;
    if (httpc__head(c, ctl & 2 ? "HEAD" : "GET") == 0) {
        if (c->status < 100 || c->status > 999)
            abort();
        (void)httpc_header(c, "content-length");
        if (ctl & 4) {
            struct buf b;

            buf_init(&b, ctl & 8 ? 16 : HTTPC_MAX_BODY);
            if (httpc_read_all(c, &b) == 0 && (b.len > size || b.len > b.max))
                abort();
            buf_release(&b);
        } else {
            drain(c, read_sizes[(ctl >> 4) & 7], HTTPC_MAX_BODY, size);
        }
    } else if (!c->err[0]) {
        abort();
    }
    httpc_close(c);
    return 0;
}
