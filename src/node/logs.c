/* pods/log: serves `kubectl logs` from the shim's CRI-format log files
 * (<pod-dir>/logs/<container>/{current.log.1,current.log,previous.log}) with container,
 * follow, tailLines, timestamps, previous, sinceSeconds/sinceTime and limitBytes, and the
 * kubelet's error texts. Follow polls the file every 200 ms (rotation aware) and ends when the
 * client leaves or the container is no longer running. */
#include "node/node-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/query.h"

#define FOLLOW_POLL_MS 200

struct log_opts {
    int timestamps;
    long long tail;  /* -1: all */
    long long limit; /* -1: none */
    time_t since;    /* 0: none */
};

int logs__cri_split(const char *line, size_t len, struct cri_rec *r)
{
    const char *sp1 = memchr(line, ' ', len), *sp2, *sp3;

    memset(r, 0, sizeof *r);
    if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line))))
        return -1;
    sp3 = memchr(sp2 + 1, ' ', len - (size_t)(sp2 + 1 - line));
    r->ts = line;
    r->ts_len = (size_t)(sp1 - line);
    r->is_err = (size_t)(sp2 - sp1 - 1) == 6 && memcmp(sp1 + 1, "stderr", 6) == 0;
    if (sp3) {
        r->text = sp3 + 1;
        r->text_len = len - (size_t)(sp3 + 1 - line);
        r->partial = sp2[1] == 'P';
    }
    return 0;
}

FILE *logs__open_new(const char *path, ino_t *ino, off_t *off, int *restarted)
{
    struct stat st;
    FILE *f;

    *restarted = 0;
    if (stat(path, &st) < 0)
        return NULL;
    if (st.st_ino != *ino || st.st_size < *off) { /* rotated or restarted: a new file */
        *ino = st.st_ino;
        *off = 0;
        *restarted = 1;
    }
    if (st.st_size == *off || !(f = fopen(path, "re")))
        return NULL;
    fseeko(f, *off, SEEK_SET);
    return f;
}

/* Appends the text of one CRI record to out (timestamp prefix on request); returns 0, or -1
 * when the record is filtered out by since. */
static int record_emit(const char *line, size_t len, const struct log_opts *o, struct buf *out)
{
    struct cri_rec r;
    char ts[48];

    if (logs__cri_split(line, len, &r) < 0)
        return -1;
    snprintf(ts, sizeof ts, "%.*s", (int)r.ts_len, r.ts);
    if (o->since && time_parse(ts) < o->since)
        return -1;
    if (o->timestamps) {
        buf_append(out, ts, strlen(ts));
        buf_append(out, " ", 1);
    }
    if (r.text)
        buf_append(out, r.text, r.text_len);
    if (!r.partial)
        buf_append(out, "\n", 1);
    return 0;
}

static char *file_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    char *data = NULL;
    size_t cap = 0, len = 0, r;

    *n = 0;
    if (!f)
        return NULL;
    do {
        if (len + 65536 > cap)
            data = xrealloc(data, cap = (cap + 65536) * 2);
        r = fread(data + len, 1, 65536, f);
        len += r;
    } while (r > 0);
    fclose(f);
    *n = len;
    return data;
}

/* All records of the given files in order, filtered and tailed, into out. */
static void logs_collect(const char *const *paths, int np, const struct log_opts *o,
                         struct buf *out)
{
    size_t nlines = 0, cap = 0;
    struct {
        const char *p;
        size_t n;
    } *lines = NULL;
    char *data[4] = {0};

    for (int f = 0; f < np && f < 4; f++) {
        size_t n, start = 0;

        data[f] = file_read(paths[f], &n);
        for (size_t i = 0; data[f] && i < n; i++) {
            if (data[f][i] != '\n')
                continue;
            if (nlines == cap)
                lines = xrealloc(lines, (cap = cap ? cap * 2 : 256) * sizeof *lines);
            lines[nlines].p = data[f] + start;
            lines[nlines++].n = i - start;
            start = i + 1;
        }
    }
    {
        size_t first = 0;
        struct buf tmp;

        /* Tail counts lines that survive the since filter. */
        if (o->tail >= 0) {
            long long kept = 0;

            first = nlines;
            buf_init(&tmp, 1 << 20);
            while (first > 0 && kept < o->tail) {
                tmp.len = 0;
                if (record_emit(lines[first - 1].p, lines[first - 1].n, o, &tmp) == 0)
                    kept++;
                first--;
            }
            buf_release(&tmp);
        }
        for (size_t i = first; i < nlines; i++)
            record_emit(lines[i].p, lines[i].n, o, out);
    }
    free(lines);
    for (int f = 0; f < 4; f++)
        free(data[f]);
}

/* ---- follow ---- */

struct follow {
    struct http_req *req;
    struct kubelet *kl;
    struct loop_timer timer;
    char *ns, *pod, *uid, *container, *path;
    ino_t ino;
    off_t off;
    struct log_opts o;
    long long sent;
    int closed;
};

static void follow_free(void *ctx)
{
    struct follow *f = ctx;

    free(f->ns), free(f->pod), free(f->uid), free(f->container), free(f->path);
    free(f);
}

static void follow_on_close(struct http_req *req, void *ctx)
{
    struct follow *f = ctx;

    f->closed = 1;
    loop_timer_stop(f->kl->loop, &f->timer);
    loop_defer(f->kl->loop, follow_free, f);
}

static const json_t *cont_status_of(const json_t *pod, const char *name);

static int still_running(struct follow *f)
{
    const json_t *pod = kc_get(f->kl->kc, kc_resource(RES_POD), f->ns, f->pod);
    const json_t *c;

    if (!pod || strcmp(jx_str(pod, "metadata.uid") ?: "", f->uid) != 0)
        return 0;
    c = cont_status_of(pod, f->container);
    return c && jx_get(c, "state.running") != NULL;
}

/* Sends the complete records appended since the last poll; returns -1 when the stream ended. */
static int follow_pump(struct follow *f)
{
    FILE *fp;
    struct buf out;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0, restarted;

    if (!(fp = logs__open_new(f->path, &f->ino, &f->off, &restarted)))
        return 0;
    buf_init(&out, 256u << 20);
    while ((n = getline(&line, &cap, fp)) > 0 && line[n - 1] == '\n') {
        f->off += n;
        record_emit(line, (size_t)n - 1, &f->o, &out);
    }
    free(line);
    fclose(fp);
    if (f->o.limit >= 0 && f->sent + (long long)out.len > f->o.limit) {
        out.len = (size_t)(f->o.limit - f->sent);
        rc = -1;
    }
    if (out.len) {
        f->sent += (long long)out.len;
        if (http_stream_write(f->req, out.data, out.len) < 0)
            rc = -2;
    }
    buf_release(&out);
    return rc;
}

static void on_follow_timer(struct loop_timer *t, void *ctx)
{
    struct follow *f = ctx;
    int running = still_running(f), rc = follow_pump(f);

    if (rc == -2 || f->closed)
        return;
    if (rc < 0 || !running) {
        /* Ending the stream ourselves: the connection may live on (keep-alive), so on_close
         * will not run for this request and the follow state is released here. */
        f->req->on_close = NULL;
        http_stream_end(f->req);
        loop_defer(f->kl->loop, follow_free, f);
        return;
    }
    loop_timer_start(f->kl->loop, &f->timer, FOLLOW_POLL_MS);
}

/* ---- the hook ---- */

static const json_t *cont_status_of(const json_t *pod, const char *name)
{
    const json_t *c;
    size_t i;

    for (int k = 0; k < 2; k++)
        json_array_foreach(
            jx_get(pod, k ? "status.initContainerStatuses" : "status.containerStatuses"), i,
            c) if (strcmp(jx_str(c, "name") ?: "", name) == 0) return c;
    return NULL;
}

static int names_list(const json_t *arr, char *out, size_t n)
{
    const json_t *c;
    size_t i, off = 0;

    out[0] = 0;
    json_array_foreach(arr, i, c) off += (size_t)snprintf(out + off, off < n ? n - off : 0, "%s%s",
                                                          i ? " " : "", jx_str(c, "name") ?: "");
    return (int)json_array_size(arr);
}

static int spec_has(const json_t *pod, const char *name)
{
    const json_t *c;
    size_t i;

    for (int k = 0; k < 2; k++)
        json_array_foreach(jx_get(pod, k ? "spec.initContainers" : "spec.containers"), i,
                           c) if (strcmp(jx_str(c, "name") ?: "", name) == 0) return 1;
    return 0;
}

/* One integer of PodLogOptions, kept when below the lower bound for the check that follows. */
static int query_ll(struct http_req *req, const char *k, long long *out, struct err *err)
{
    *out = -1;
    return http_query_int64(req, k, out, err);
}

static void bound_check(long long v, int set, long long min, const char *field, struct err *err)
{
    json_t *jv;

    if (!set || v >= min)
        return;
    jv = json_integer(v);
    err_field_invalid(err, field, jv, "%s",
                      min ? "must be greater than 0" : "must be greater than or equal to 0");
    json_decref(jv);
}

/* PodLogOptions from the query, converted and validated as kube-apiserver does
 * (ValidatePodLogOptions): 400 for a value that is no integer, 422 PodLogOptions otherwise. */
static int log_opts_parse(struct http_req *req, const char *pname, struct log_opts *o,
                          int *previous, int *follow, struct err *err)
{
    long long since = -1;
    int ts, ls, ss;
    const char *st = http_req_query(req, "sinceTime");

    *previous = http_query_bool(req, "previous");
    *follow = http_query_bool(req, "follow") && !*previous;
    o->timestamps = http_query_bool(req, "timestamps");
    if ((ts = query_ll(req, "tailLines", &o->tail, err)) < 0 ||
        (ls = query_ll(req, "limitBytes", &o->limit, err)) < 0 ||
        (ss = query_ll(req, "sinceSeconds", &since, err)) < 0)
        return err->code;
    bound_check(o->tail, ts, 0, "tailLines", err);
    bound_check(o->limit, ls, 1, "limitBytes", err);
    if (ss && st)
        err_field_forbidden(err, "",
                            "at most one of `sinceTime` or `sinceSeconds` may be specified");
    else
        bound_check(since, ss, 1, "sinceSeconds", err);
    if (err_has_causes(err))
        return err_invalid(err, "PodLogOptions", NULL, pname);
    if (ss)
        o->since = time(NULL) - since;
    else if (st && *st)
        o->since = time_parse(st);
    return 0;
}

/* The container a request names, or the pod's only container when it names none. NULL when
 * the request was answered (400 with the kubelet's texts). */
static const char *logs_container(struct http_req *req, const json_t *pod, const char *container)
{
    const char *pname = jx_str(pod, "metadata.name") ?: "";
    char names[1024], inames[1024];

    if (!container || !*container) {
        int n = names_list(jx_get(pod, "spec.containers"), names, sizeof names);
        int ni = names_list(jx_get(pod, "spec.initContainers"), inames, sizeof inames);

        if (n != 1) {
            if (ni)
                http_respond_errf(req, -E_BAD_REQUEST, NULL,
                                  "a container name must be specified for pod %s, choose one of: "
                                  "[%s] or one of the init containers: [%s]",
                                  pname, names, inames);
            else
                http_respond_errf(req, -E_BAD_REQUEST, NULL,
                                  "a container name must be specified for pod %s, choose one of: "
                                  "[%s]",
                                  pname, names);
            return NULL;
        }
        container = jx_str(json_array_get(jx_get(pod, "spec.containers"), 0), "name");
    }
    if (!spec_has(pod, container)) {
        http_respond_errf(req, -E_BAD_REQUEST, NULL, "container %s is not valid for pod %s",
                          container, pname);
        return NULL;
    }
    return container;
}

/* The log files to read, oldest first, into paths (np of them, owned by the caller). -1 when
 * the request was answered: no previous instance, or the container has not started yet. */
static int logs_paths(struct http_req *req, const char *dir, const json_t *pod,
                      const char *container, int previous, char *paths[2], int *np)
{
    const char *pname = jx_str(pod, "metadata.name") ?: "";
    const json_t *cs = cont_status_of(pod, container);

    /* As the kubelet: --previous is the lastState container. While a container waits to be
     * restarted (CrashLoopBackOff) that is the instance that just died, still current.log until
     * the shim starts the next one; so then both forms show the same logs, as upstream. */
    if (previous && jx_get(cs, "state.waiting") && jx_get(cs, "lastState.terminated"))
        previous = 0;
    if (previous) {
        paths[(*np)++] = xasprintf("%s/previous.log", dir);
        if (access(paths[0], R_OK) < 0) {
            http_respond_errf(req, -E_BAD_REQUEST, NULL,
                              "previous terminated container \"%s\" in pod \"%s\" not found",
                              container, pname);
            return -1;
        }
        return 0;
    }
    paths[(*np)++] = xasprintf("%s/current.log.1", dir);
    paths[(*np)++] = xasprintf("%s/current.log", dir);
    if (access(paths[1], R_OK) < 0 || !cs ||
        (jx_get(cs, "state.waiting") && !jx_get(cs, "lastState.terminated"))) {
        const char *reason = jx_str(cs, "state.waiting.reason") ?: "ContainerCreating";

        http_respond_errf(req, -E_BAD_REQUEST, NULL,
                          "container \"%s\" in pod \"%s\" is waiting to start: %s", container,
                          pname, reason);
        return -1;
    }
    return 0;
}

/* Answers with what the files hold so far (out), then follows path from its current end. */
static void logs_follow_start(struct http_req *req, struct kubelet *kl, const json_t *pod,
                              const char *container, const char *path, const struct log_opts *o,
                              const struct buf *out)
{
    struct follow *f = xcalloc(1, sizeof *f);
    struct stat st;

    f->req = req;
    f->kl = kl;
    f->ns = xstrdup(jx_str(pod, "metadata.namespace") ?: "default");
    f->pod = xstrdup(jx_str(pod, "metadata.name") ?: "");
    f->uid = xstrdup(jx_str(pod, "metadata.uid") ?: "");
    f->container = xstrdup(container);
    f->path = xstrdup(path);
    f->o = *o;
    f->o.since = 0;
    if (stat(f->path, &st) == 0) {
        f->ino = st.st_ino;
        f->off = st.st_size;
    }
    f->sent = (long long)out->len;
    http_stream_start(req, 200, "text/plain");
    req->on_close = follow_on_close;
    req->on_close_ctx = f;
    if (out->len)
        http_stream_write(req, out->data, out->len);
    loop_timer_init(&f->timer, on_follow_timer, f);
    loop_timer_start(kl->loop, &f->timer, FOLLOW_POLL_MS);
}

void logs__serve(struct http_req *req, const json_t *pod, const char *container, void *ctx)
{
    struct kubelet *kl = ctx;
    const char *pname = jx_str(pod, "metadata.name") ?: "";
    struct log_opts o = {0};
    char *dir, *paths[2] = {0};
    const char *pp[2];
    int np = 0, previous, follow;
    struct buf out;
    struct err err;

    if (!(container = logs_container(req, pod, container)))
        return;
    err_init(&err);
    if (log_opts_parse(req, pname, &o, &previous, &follow, &err) < 0) {
        http_respond_err(req, &err, NULL);
        err_release(&err);
        return;
    }
    dir =
        xasprintf("%s/pods/%s/logs/%s", kl->data_dir, jx_str(pod, "metadata.uid") ?: "", container);
    if (logs_paths(req, dir, pod, container, previous, paths, &np) < 0)
        goto out;
    for (int i = 0; i < np; i++)
        pp[i] = paths[i];
    buf_init(&out, 256u << 20);
    logs_collect(pp, np, &o, &out);
    if (o.limit >= 0 && (long long)out.len > o.limit)
        out.len = (size_t)o.limit;
    if (!follow)
        http_respond(req, 200, "text/plain", out.data ? out.data : "", out.len, NULL);
    else
        logs_follow_start(req, kl, pod, container, paths[1], &o, &out);
    buf_release(&out);
out:
    free(dir);
    free(paths[0]);
    free(paths[1]);
}
