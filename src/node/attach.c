/* pods/attach: `kubectl attach` to a container's main process, output only. The shim writes
 * the process's stdout and stderr to CRI log files and keeps no stdin, so an attach follows
 * <pod-dir>/logs/<container>/current.log from its end (polled every ATTACH_POLL_MS, rotation
 * aware: a new inode or a shorter file starts over) and sends each record on the stdout or
 * stderr channel, until the container stops running or the client leaves. Input (-i) and a
 * tty (-t) are refused with 400 (they need the shim to hold the container's stdin). */
#include "node/node-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/query.h"
#include "node/stream-int.h"

#define ATTACH_POLL_MS 200
#define ATTACH_READ_MAX (1u << 20) /* bytes read from the log per poll */

struct xattach {
    struct kubelet *kl;
    struct xs *xs;
    char uid[64], cname[256];
    char *path;
    ino_t ino;
    off_t off;
    int want_out, want_err;
    uint32_t sid[4]; /* SPDY: error, stdout, stderr (by channel number) */
    int started;
    struct buf part; /* an incomplete last line */
    struct loop_timer timer;
};

static void respond(struct http_req *req, int code, const char *msg)
{
    json_t *st = api_status_json(code, msg, NULL);
    char *body = jx_dump(st);

    http_respond(req, code == -E_NOT_FOUND ? 404 : 400, "application/json", body, strlen(body),
                 NULL);
    free(body);
    json_decref(st);
}

static void send_ch(struct xattach *a, int ch, const char *p, size_t n, int fin)
{
    if (!a->xs)
        return;
    if (a->xs->proto == XS_WS)
        xs_ws_send(a->xs, ch, p, n);
    else if (a->sid[ch])
        xs_spdy_data(a->xs, a->sid[ch], p, n, fin);
}

/* One CRI record: "<time> <stdout|stderr> <F|P> <text>". */
static void record(struct xattach *a, const char *line, size_t len)
{
    const char *s1 = memchr(line, ' ', len), *s2, *s3;
    int err;

    if (!s1 || !(s2 = memchr(s1 + 1, ' ', len - (size_t)(s1 + 1 - line))) ||
        !(s3 = memchr(s2 + 1, ' ', len - (size_t)(s2 + 1 - line))))
        return;
    err = strncmp(s1 + 1, "stderr", 6) == 0;
    if (err ? !a->want_err : !a->want_out)
        return;
    send_ch(a, err ? 2 : 1, s3 + 1, len - (size_t)(s3 + 1 - line), 0);
    if (s2[1] != 'P')
        send_ch(a, err ? 2 : 1, "\n", 1, 0);
}

static int still_running(struct xattach *a)
{
    struct kpod *p = kubelet__find_uid(a->kl, a->uid);

    for (int i = 0; p && i < p->nc; i++)
        if (strcmp(p->c[i].name, a->cname) == 0)
            return p->c[i].st == KC_RUNNING && !p->terminating;
    return 0;
}

static void poll_log(struct xattach *a)
{
    static char chunk[ATTACH_READ_MAX];
    struct stat st;
    FILE *f;
    size_t n;

    if (stat(a->path, &st) < 0)
        return;
    if (st.st_ino != a->ino || st.st_size < a->off) { /* rotated: the new file from its start */
        a->ino = st.st_ino;
        a->off = 0;
        a->part.len = 0;
    }
    if (st.st_size == a->off || !(f = fopen(a->path, "re")))
        return;
    fseeko(f, a->off, SEEK_SET);
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

static void on_timer(struct loop_timer *t, void *ctx)
{
    struct xattach *a = ctx;
    static const char ok[] = "{\"metadata\":{},\"status\":\"Success\"}";

    if (!a->xs)
        return;
    poll_log(a);
    if (still_running(a)) {
        loop_timer_start(a->kl->loop, t, ATTACH_POLL_MS);
        return;
    }
    send_ch(a, 3, ok, sizeof ok - 1, 1);
    xs_end(a->xs);
}

static void start(struct xattach *a)
{
    struct stat st;

    if (a->started)
        return;
    a->started = 1;
    if (stat(a->path, &st) == 0) { /* only what comes from now on, as an attach sees it */
        a->ino = st.st_ino;
        a->off = st.st_size;
    }
    if (a->xs->proto == XS_WS)
        send_ch(a, a->want_out ? 1 : a->want_err ? 2 : 3, "", 0, 0);
    loop_timer_start(a->kl->loop, &a->timer, ATTACH_POLL_MS);
}

static void on_ws_msg(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx, (void)p, (void)n; /* no stdin, no resize */
}

static void on_syn(void *ctx, uint32_t id, const struct spdy_hdr *h, int nh)
{
    static const char *const names[4] = {"", "stdout", "stderr", "error"};
    struct xattach *a = ctx;

    for (int i = 0; i < nh; i++)
        for (int ch = 1; ch < 4; ch++)
            if (strcmp(h[i].name, "streamtype") == 0 && strcmp(h[i].value, names[ch]) == 0)
                a->sid[ch] = id;
    if (a->sid[3] && (!a->want_out || a->sid[1]) && (!a->want_err || a->sid[2]))
        start(a);
}

static void on_data(void *ctx, uint32_t id, const uint8_t *p, size_t n)
{
    (void)ctx, (void)id, (void)p, (void)n;
}

static void on_fin(void *ctx, uint32_t id, int reset)
{
    (void)ctx, (void)id, (void)reset;
}

static void on_gone(void *ctx)
{
    struct xattach *a = ctx;

    loop_timer_stop(a->kl->loop, &a->timer);
    buf_release(&a->part);
    free(a->path);
    free(a);
}

static const struct xs_app attach_app = {on_ws_msg, on_syn, on_data, on_fin, on_gone};

void attach__serve(struct kubelet *kl, struct http_req *req, const json_t *pod,
                   const struct kcont *c)
{
    struct xattach *a;

    if (http_query_bool(req, "stdin") || http_query_bool(req, "tty")) {
        respond(req, -E_BAD_REQUEST,
                "attach with stdin or a tty is not supported: the "
                "container's stdin is not kept (attach without -i/-t "
                "follows its output)");
        return;
    }
    a = xcalloc(1, sizeof *a);
    a->kl = kl;
    snprintf(a->uid, sizeof a->uid, "%s", c->p->uid);
    snprintf(a->cname, sizeof a->cname, "%s", c->name);
    a->path = xasprintf("%s/pods/%s/logs/%s/current.log", kl->data_dir, c->p->uid, c->name);
    a->want_out = http_query_bool(req, "stdout");
    a->want_err = http_query_bool(req, "stderr");
    buf_init(&a->part, 1u << 20);
    loop_timer_init(&a->timer, on_timer, a);
    if (!(a->xs = xs_accept(req, kl->loop, "attach", &attach_app, a))) {
        buf_release(&a->part);
        free(a->path);
        free(a);
        return;
    }
    if (a->xs->proto == XS_WS)
        start(a);
}
