/* pods/attach: `kubectl attach` (and `kubectl run -it`) to a container's main process.
 * - A container with `stdin` or `tty` in its spec: the pod's shim holds its stdin pipe or
 *   terminal (it outlives the server), and the attach is a connection to the shim (the `attach`
 *   op, then frames: shim-int.h) relaying input, resizes and output both ways, until the
 *   container ends, the client leaves, or (without stdinOnce) the client's stdin ends.
 * - Any other container (output only): the attach follows
 *   <pod-dir>/logs/<container>/current.log from its end (polled every ATTACH_POLL_MS, rotation
 *   aware: a new inode or a shorter file starts over) and sends each record on the stdout or
 *   stderr channel, until the container stops running or the client leaves.
 * Several attaches share the output; -t to a container without a tty is refused (400) with the
 * text kubectl itself prints. */
#include "node/node-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/query.h"
#include "node/stream-int.h"
#include "shim/shim.h"

#define ATTACH_POLL_MS 200
#define ATTACH_READ_MAX (1u << 20)    /* bytes read from the log per poll */
#define ATTACH_STREAMS_MS 30000       /* SPDY: all expected streams within this (the kubelet's) */
#define ATTACH_TO_SHIM_MAX (1u << 20) /* input queued for the shim: else the client waits */
#define ATTACH_OUT_HIGH (4u << 20)    /* client backlog above which the shim is not read */
#define ATTACH_FROM_SHIM_MAX ((1u << 20) + 4096) /* unparsed bytes from the shim */
#define ATTACH_FRAME_MAX (64 * 1024)             /* as SHIM_ATTACH_FRAME_MAX */

enum { CH_STDIN, CH_STDOUT, CH_STDERR, CH_ERROR, CH_RESIZE, CH_N };

struct xattach {
    struct kubelet *kl;
    struct xs *xs;
    char uid[64], cname[256];
    char *path;
    ino_t ino;
    off_t off;
    int want_out, want_err;
    uint32_t sid[CH_N]; /* SPDY: the stream of each channel */
    int started, ended;
    struct buf part; /* an incomplete last line */
    struct loop_timer timer;
    /* Live attach (the shim holds stdin/tty): the connection to the shim and its buffers. */
    int live, want_in, tty, replied, shim_paused;
    int sfd;
    struct loop_io sio;
    struct buf from_shim, to_shim, resize;
};

static void send_ch(struct xattach *a, int ch, const char *p, size_t n, int fin);
static void live_start(struct xattach *a);

static void send_ch(struct xattach *a, int ch, const char *p, size_t n, int fin)
{
    if (!a->xs)
        return;
    if (a->xs->proto == XS_WS)
        xs_ws_send(a->xs, ch, p, n);
    else if (a->sid[ch])
        xs_spdy_data(a->xs, a->sid[ch], p, n, fin);
}

/* One CRI record, on the stdout or stderr channel when the client asked for it. */
static void record(struct xattach *a, const char *line, size_t len)
{
    struct cri_rec r;

    if (logs__cri_split(line, len, &r) < 0 || !r.text)
        return;
    if (r.is_err ? !a->want_err : !a->want_out)
        return;
    send_ch(a, r.is_err ? 2 : 1, r.text, r.text_len, 0);
    if (!r.partial)
        send_ch(a, r.is_err ? 2 : 1, "\n", 1, 0);
}

static int still_running(struct xattach *a)
{
    struct kpod *p = kubelet__find_uid(a->kl, a->uid);

    for (int i = 0; p && i < p->nc; i++)
        if (strcmp(p->c[i].name, a->cname) == 0)
            return p->c[i].st == KC_RUNNING && !podfsm_terminating(p->state);
    return 0;
}

static void poll_log(struct xattach *a)
{
    static char chunk[ATTACH_READ_MAX];
    FILE *f;
    size_t n;
    int restarted;

    f = logs__open_new(a->path, &a->ino, &a->off, &restarted);
    if (restarted) /* rotated: the new file from its start */
        a->part.len = 0;
    if (!f)
        return;
    n = fread(chunk, 1, sizeof chunk, f);
    fclose(f);
    a->off += (off_t)n;
    for (size_t i = 0, start = 0; i < n; i++) {
        if (chunk[i] != '\n')
            continue;
        if (a->part.len) {
            buf_append(&a->part, chunk + start, i - start);
            record(a, a->part.data, a->part.len);
            a->part.len = 0;
        } else {
            record(a, chunk + start, i - start);
        }
        start = i + 1;
        if (i + 1 == n || memchr(chunk + start, '\n', n - start) == NULL) {
            if (buf_append(&a->part, chunk + start, n - start) < 0)
                a->part.len = 0;
            break;
        }
    }
}

static void end_status(struct xattach *a, const char *failure)
{
    static const char ok[] = "{\"metadata\":{},\"status\":\"Success\"}";

    if (!a->xs || a->ended)
        return;
    a->ended = 1;
    if (a->sfd >= 0) { /* nothing more from the shim (its socket would keep the loop busy) */
        if (a->sio.fn)
            loop_io_stop(a->kl->loop, &a->sio);
        a->sio.fn = NULL;
        close(a->sfd);
        a->sfd = -1;
    }
    if (failure) {
        json_t *st = json_pack("{s:{},s:s,s:s,s:s,s:i}", "metadata", "status", "Failure", "message",
                               failure, "reason", "InternalError", "code", 500);
        char *body = jx_dump(st);

        send_ch(a, CH_ERROR, body, strlen(body), 1);
        free(body);
        json_decref(st);
    } else {
        send_ch(a, CH_ERROR, ok, sizeof ok - 1, 1);
    }
    xs_end(a->xs);
}

static void on_timer(struct loop_timer *t, void *ctx)
{
    struct xattach *a = ctx;

    if (!a->xs)
        return;
    if (!a->started) {
        log_warn("node", "msg=\"attach: the client did not open its streams in time\"");
        xs_end(a->xs);
        return;
    }
    if (a->live && a->sfd < 0)
        return;
    if (a->live) { /* output back-pressure: resume reading the shim once the client caught up */
        if (xs_backlog(a->xs) > ATTACH_OUT_HIGH / 2) {
            loop_timer_start(a->kl->loop, t, ATTACH_POLL_MS);
        } else {
            a->shim_paused = 0;
            loop_io_modify(a->kl->loop, &a->sio, EPOLLIN | (a->to_shim.len ? EPOLLOUT : 0));
        }
        return;
    }
    poll_log(a);
    if (still_running(a)) {
        loop_timer_start(a->kl->loop, t, ATTACH_POLL_MS);
        return;
    }
    end_status(a, NULL);
}

static void start(struct xattach *a)
{
    struct stat st;

    if (a->started)
        return;
    a->started = 1;
    loop_timer_stop(a->kl->loop, &a->timer);
    if (a->xs->proto == XS_WS)
        send_ch(a, a->want_out ? CH_STDOUT : a->want_err ? CH_STDERR : CH_ERROR, "", 0, 0);
    if (a->live) {
        live_start(a);
        return;
    }
    if (stat(a->path, &st) == 0) { /* only what comes from now on, as an attach sees it */
        a->ino = st.st_ino;
        a->off = st.st_size;
    }
    loop_timer_start(a->kl->loop, &a->timer, ATTACH_POLL_MS);
}

/* ---- the live attach: a connection to the shim ---- */

static void shim_flush(struct xattach *a)
{
    while (a->sfd >= 0 && a->to_shim.len) {
        ssize_t n = write(a->sfd, a->to_shim.data, a->to_shim.len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            a->to_shim.len = 0;
            break;
        }
        buf_consume(&a->to_shim, (size_t)n);
    }
    if (a->xs)
        xs_pause(a->xs, a->to_shim.len >= ATTACH_TO_SHIM_MAX);
    if (a->sfd >= 0 && a->started)
        loop_io_modify(a->kl->loop, &a->sio,
                       (a->shim_paused ? 0 : EPOLLIN) | (a->to_shim.len ? EPOLLOUT : 0));
}

static void live_input(struct xattach *a, int type, const void *p, size_t n)
{
    if (!a->live || a->sfd < 0)
        return;
    for (size_t o = 0; o < n || (n == 0 && o == 0); o += ATTACH_FRAME_MAX) {
        size_t k = n - o < ATTACH_FRAME_MAX ? n - o : ATTACH_FRAME_MAX;
        unsigned char h[5] = {(unsigned char)type, (unsigned char)(k >> 24),
                              (unsigned char)(k >> 16), (unsigned char)(k >> 8), (unsigned char)k};

        if (buf_append(&a->to_shim, h, sizeof h) < 0 ||
            (k && buf_append(&a->to_shim, (const char *)p + o, k) < 0)) {
            log_warn("node", "msg=\"attach input over its cap, dropped\" bytes=%zu", n);
            break;
        }
        if (n == 0)
            break;
    }
    shim_flush(a);
}

/* A resize message: {"Width":W,"Height":H}, to the shim as two big-endian u16. */
static void live_resize(struct xattach *a, const char *p, size_t n)
{
    json_t *j = json_loadb(p, n, JSON_DISABLE_EOF_CHECK, NULL);
    json_int_t w = json_integer_value(json_object_get(j, "Width"));
    json_int_t h = json_integer_value(json_object_get(j, "Height"));
    unsigned char d[4] = {(unsigned char)(w >> 8), (unsigned char)w, (unsigned char)(h >> 8),
                          (unsigned char)h};

    json_decref(j);
    if (a->tty && w > 0 && w < 65536 && h > 0 && h < 65536)
        live_input(a, 'r', d, sizeof d);
}

/* The shim's reply to the attach op: NULL, or why the attach cannot go on. */
static const char *shim_reply(const char *line, size_t n, char *why, size_t wn)
{
    json_t *r = json_loadb(line, n, 0, NULL);
    const char *e = jx_str(r, "error");
    int ok = json_is_true(json_object_get(r, "ok"));

    if (!ok)
        snprintf(why, wn, "error attaching to container: %s", e ? e : "malformed shim reply");
    json_decref(r);
    return ok ? NULL : why;
}

/* Frames from the shim: output to the client, or the end. Returns 1 when the session ended. */
static int shim_frames(struct xattach *a)
{
    char why[512];
    size_t off = 0;
    int done = 0;

    if (!a->replied) {
        char *nl = memchr(a->from_shim.data, '\n', a->from_shim.len);

        if (!nl)
            return 0;
        a->replied = 1;
        off = (size_t)(nl - a->from_shim.data) + 1;
        if (shim_reply(a->from_shim.data, off - 1, why, sizeof why)) {
            end_status(a, why);
            return 1;
        }
    }
    while (!done && a->from_shim.len - off >= 5) {
        const unsigned char *h = (const unsigned char *)a->from_shim.data + off;
        size_t n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];

        if (n > ATTACH_FRAME_MAX) {
            end_status(a, "error attaching to container: malformed frame from the shim");
            return 1;
        }
        if (a->from_shim.len - off < 5 + n)
            break;
        if (h[0] == 'o' && a->want_out)
            send_ch(a, CH_STDOUT, (const char *)h + 5, n, 0);
        else if (h[0] == 'e' && a->want_err)
            send_ch(a, CH_STDERR, (const char *)h + 5, n, 0);
        else if (h[0] == 'x' || h[0] == 'z') /* the container ended; this attach's stdin ended */
            done = 1;
        off += 5 + n;
    }
    buf_consume(&a->from_shim, off);
    if (done)
        end_status(a, NULL);
    return done;
}

static void on_shim_io(struct loop_io *io, unsigned ev, void *ctx)
{
    struct xattach *a = ctx;
    char tmp[16384];

    if (ev & EPOLLOUT)
        shim_flush(a);
    for (int i = 0; i < 16 && a->xs && !a->ended && !a->shim_paused; i++) {
        ssize_t n = read(a->sfd, tmp, sizeof tmp);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            end_status(a, still_running(a) ? "error attaching to container: the pod's shim "
                                             "closed the connection"
                                           : NULL);
            return;
        }
        if (buf_append(&a->from_shim, tmp, (size_t)n) < 0 || shim_frames(a))
            return;
        if (xs_backlog(a->xs) > ATTACH_OUT_HIGH) {
            a->shim_paused = 1;
            loop_io_modify(a->kl->loop, io, a->to_shim.len ? EPOLLOUT : 0);
            loop_timer_start(a->kl->loop, &a->timer, ATTACH_POLL_MS);
            return;
        }
    }
}

static void live_start(struct xattach *a)
{
    loop_io_start(a->kl->loop, &a->sio, a->sfd, EPOLLIN | (a->to_shim.len ? EPOLLOUT : 0),
                  on_shim_io, a);
}

/* Connects to the pod's shim and sends the attach op (its reply is read on the loop). */
static int live_connect(struct xattach *a, const char *pod_dir, struct err *err)
{
    struct shim_call call;
    json_t *req =
        json_pack("{s:s, s:s, s:b}", "op", "attach", "container", a->cname, "stdin", a->want_in);
    int rc = shim_call_start(&call, pod_dir, req, err);

    json_decref(req);
    if (rc < 0)
        return rc;
    a->sfd = call.fd;
    call.fd = -1;
    shim_call_release(&call);
    fcntl(a->sfd, F_SETFL, fcntl(a->sfd, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* ---- the session ---- */

static void on_ws_msg(void *ctx, const uint8_t *p, size_t n)
{
    struct xattach *a = ctx;

    if (!n)
        return;
    if (p[0] == CH_STDIN && a->want_in)
        live_input(a, 'i', p + 1, n - 1);
    else if (p[0] == CH_RESIZE)
        live_resize(a, (const char *)p + 1, n - 1);
    else if (p[0] == 255 && n >= 2 && p[1] == CH_STDIN && a->want_in) /* v5 half-close */
        live_input(a, 'c', NULL, 0);
}

static void on_syn(void *ctx, uint32_t id, const struct spdy_hdr *h, int nh)
{
    static const char *const names[CH_N] = {"stdin", "stdout", "stderr", "error", "resize"};
    struct xattach *a = ctx;

    for (int i = 0; i < nh; i++)
        for (int ch = 0; ch < CH_N; ch++)
            if (strcmp(h[i].name, "streamtype") == 0 && strcmp(h[i].value, names[ch]) == 0 &&
                !a->sid[ch])
                a->sid[ch] = id;
    if (a->sid[CH_ERROR] && (!a->want_out || a->sid[CH_STDOUT]) &&
        (!a->want_err || a->sid[CH_STDERR]) && (!a->want_in || a->sid[CH_STDIN]) &&
        (!a->tty || a->sid[CH_RESIZE]))
        start(a);
}

static void on_data(void *ctx, uint32_t id, const uint8_t *p, size_t n)
{
    struct xattach *a = ctx;

    if (id == a->sid[CH_STDIN] && a->want_in) {
        live_input(a, 'i', p, n);
    } else if (id == a->sid[CH_RESIZE] && a->tty) {
        /* A stream of JSON objects: apply each complete one. */
        if (buf_append(&a->resize, p, n) < 0)
            a->resize.len = 0;
        for (char *end; (end = memchr(a->resize.data, '}', a->resize.len));) {
            live_resize(a, a->resize.data, (size_t)(end + 1 - a->resize.data));
            buf_consume(&a->resize, (size_t)(end + 1 - a->resize.data));
        }
    }
}

static void on_fin(void *ctx, uint32_t id, int reset)
{
    struct xattach *a = ctx;

    (void)reset;
    if (id && id == a->sid[CH_STDIN] && a->want_in)
        live_input(a, 'c', NULL, 0);
}

static void attach_free(struct xattach *a)
{
    loop_timer_stop(a->kl->loop, &a->timer);
    if (a->sfd >= 0) { /* the shim sees the attach go (stdinOnce closes the stdin) */
        if (a->sio.fn)
            loop_io_stop(a->kl->loop, &a->sio);
        close(a->sfd);
        a->sfd = -1;
    }
    buf_release(&a->part);
    buf_release(&a->from_shim);
    buf_release(&a->to_shim);
    buf_release(&a->resize);
    free(a->path);
    free(a);
}

static void on_gone(void *ctx)
{
    attach_free(ctx);
}

static const struct xs_app attach_app = {on_ws_msg, on_syn, on_data, on_fin, on_gone};

void attach__serve(struct kubelet *kl, struct http_req *req, const json_t *pod,
                   const struct kcont *c)
{
    struct xattach *a;
    struct err err = {0};
    int ctr_tty = jx_bool(c->spec, "tty"), ctr_in = jx_bool(c->spec, "stdin");

    (void)pod;
    if (http_query_bool(req, "tty") && !ctr_tty) {
        http_respond_errf(req, -E_BAD_REQUEST, NULL,
                          "Unable to use a TTY - container %s did not allocate one", c->name);
        return;
    }
    a = xcalloc(1, sizeof *a);
    a->kl = kl;
    a->sfd = -1;
    snprintf(a->uid, sizeof a->uid, "%s", c->p->uid);
    snprintf(a->cname, sizeof a->cname, "%s", c->name);
    a->path = xasprintf("%s/pods/%s/logs/%s/current.log", kl->data_dir, c->p->uid, c->name);
    a->live = ctr_in || ctr_tty;
    a->tty = a->live && http_query_bool(req, "tty");
    a->want_in = a->live && http_query_bool(req, "stdin");
    a->want_out = http_query_bool(req, "stdout");
    a->want_err = http_query_bool(req, "stderr") && !a->tty;
    buf_init(&a->part, 1u << 20);
    buf_init(&a->from_shim, ATTACH_FROM_SHIM_MAX);
    buf_init(&a->to_shim, ATTACH_TO_SHIM_MAX + XS_MAX_MSG + 4096);
    buf_init(&a->resize, 4096);
    loop_timer_init(&a->timer, on_timer, a);
    if (a->live && live_connect(a, c->p->dir, &err) < 0) {
        http_respond_errf(req, -E_INTERNAL, NULL, "error attaching to container: %s", err.msg);
        attach_free(a);
        return;
    }
    if (!(a->xs = xs_accept(req, kl->loop, "attach", &attach_app, a))) {
        attach_free(a);
        return;
    }
    if (a->xs->proto == XS_WS)
        start(a);
    else
        loop_timer_start(kl->loop, &a->timer, ATTACH_STREAMS_MS);
}
