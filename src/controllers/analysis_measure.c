/* Measurements on worker threads (analysis_measure.h). A job is a plain C request copied
 * from the provider on the loop; the thread performs it, parses the answer into the value the
 * conditions see, and queues itself as done. The owner and each running thread hold a
 * reference on the shared table, so whichever ends last frees it. */
#include "controllers/analysis_measure.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/expr.h"
#include "core/httpc.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/promql.h"

enum { K_WEB, K_PROM, K_PROM_BUILTIN };

struct job {
    struct job *next;
    struct anl_jobs *owner;
    char *key, *ns, *name;
    int kind, done, abandoned;
    struct httpc_req req;
    char *url, *method, *headers, *body, *jsonpath;
    struct anl_outcome out;
};

struct anl_jobs {
    pthread_mutex_t mu;
    struct job *head;
    int njobs, refs, closed, efd;
    struct loop *loop;
    struct loop_io io;
    anl_done_fn *fn;
    void *ctx;
};

void anl_outcome_release(struct anl_outcome *o)
{
    json_decref(o->result);
    free(o->value);
    o->result = NULL;
    o->value = NULL;
}

static void job_free(struct job *jb)
{
    free(jb->key);
    free(jb->ns);
    free(jb->name);
    free(jb->url);
    free(jb->method);
    free(jb->headers);
    free(jb->body);
    free(jb->jsonpath);
    anl_outcome_release(&jb->out);
    free(jb);
}

static void jobs_unref_locked(struct anl_jobs *j, int *gone)
{
    *gone = --j->refs == 0;
}

static void jobs_destroy(struct anl_jobs *j)
{
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* ---- answers ---- */

static int set_error(struct anl_outcome *o, const char *fmt, const char *arg)
{
    o->error = 1;
    snprintf(o->msg, sizeof o->msg, fmt, arg);
    return -1;
}

/* Path segments: .name or [index]; "$" and the braces are optional. */
json_t *anl_jsonpath(const json_t *doc, const char *path, char *msg, size_t n)
{
    char p[512], *s;
    size_t len;
    const json_t *cur = doc;

    snprintf(p, sizeof p, "%s", path && *path ? path : "{$}");
    s = p;
    len = strlen(s);
    if (*s == '{' && len >= 2 && s[len - 1] == '}')
        s[len - 1] = 0, s++;
    if (*s == '$')
        s++;
    while (*s && cur) {
        if (*s == '.') {
            char *end = s + 1 + strcspn(s + 1, ".[");
            char save = *end;

            if (end == s + 1)
                break;
            *end = 0;
            cur = json_object_get(cur, s + 1);
            if (!cur) {
                snprintf(msg, n, "%s is not found", s + 1);
                return NULL;
            }
            *end = save;
            s = end;
        } else if (*s == '[') {
            char *end;
            long i = strtol(s + 1, &end, 10);

            if (*end != ']' || end == s + 1 || !json_is_array(cur)) {
                snprintf(msg, n, "jsonPath %s: only .name and [index] are supported", path);
                return NULL;
            }
            if (i < 0)
                i += (long)json_array_size(cur);
            if (i < 0 || (size_t)i >= json_array_size(cur)) {
                snprintf(msg, n, "array index out of bounds: index %ld, length %zu", i,
                         json_array_size(cur));
                return NULL;
            }
            cur = json_array_get(cur, (size_t)i);
            s = end + 1;
        } else {
            break;
        }
    }
    if (*s) {
        snprintf(msg, n, "jsonPath %s: only .name and [index] are supported", path);
        return NULL;
    }
    return json_incref((json_t *)cur);
}

static void web_answer(struct job *jb, struct httpc_resp *r)
{
    json_t *doc = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL), *v;

    if (!doc) { /* not JSON: the body is the value, as a string */
        jb->out.result = json_stringn(r->body, r->body_len) ?: json_string("");
        jb->out.value = strdup(r->body);
        return;
    }
    v = anl_jsonpath(doc, jb->jsonpath, jb->out.msg, sizeof jb->out.msg);
    json_decref(doc);
    if (!v) {
        jb->out.error = 1;
        return;
    }
    jb->out.result = v;
    if (json_is_string(v)) {
        jb->out.value = strdup(json_string_value(v));
    } else if (json_is_real(v)) { /* the shortest text that reads back, as Go prints it */
        char buf[40];

        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, json_real_value(v));
            if (strtod(buf, NULL) == json_real_value(v))
                break;
        }
        jb->out.value = strdup(buf);
    } else {
        jb->out.value = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    }
}

/* A sample [ts, "value"] as a number, or "NaN"/"+Inf"/"-Inf" (EXPR_NUMERIC_STRINGS); the
 * value text is appended to val (comma-separated, as Argo prints a vector). */
static json_t *sample(const json_t *pair, char *val, size_t n)
{
    const char *v = json_string_value(json_array_get(pair, 1));
    size_t l = strlen(val);
    char *end;
    double d;

    if (!v)
        return json_null();
    snprintf(val + l, n - l, "%s%s", l > 1 ? "," : "", v);
    d = strtod(v, &end);
    if (*end || !*v || d != d || d - d != 0)
        return json_string(strstr(v, "Inf") ? (v[0] == '-' ? "-Inf" : "+Inf") : "NaN");
    return json_real(d);
}

/* /api/v1/query answers: scalar -> float; vector -> list of floats; matrix -> every value. */
static void prom_answer(struct job *jb, struct httpc_resp *r)
{
    json_t *doc = json_loadb(r->body, r->body_len, 0, NULL), *res, *e, *pt;
    const char *type;
    char val[4096] = "";
    size_t i, k;

    jb->out.flags = EXPR_NUMERIC_STRINGS;
    if (!doc || strcmp(jx_str(doc, "status") ?: "", "success") != 0) {
        set_error(&jb->out, "%s",
                  doc && jx_str(doc, "error") ? jx_str(doc, "error") : "invalid Prometheus answer");
        json_decref(doc);
        return;
    }
    type = jx_str(doc, "data.resultType") ?: "";
    res = jx_get(doc, "data.result");
    if (!strcmp(type, "scalar")) {
        jb->out.result = sample(res, val, sizeof val);
    } else if (!strcmp(type, "vector") || !strcmp(type, "matrix")) {
        jb->out.result = json_array();
        strcpy(val, "[");
        json_array_foreach(res, i, e)
        {
            if (!strcmp(type, "vector"))
                json_array_append_new(jb->out.result,
                                      sample(json_object_get(e, "value"), val, sizeof val));
            else
                json_array_foreach(json_object_get(e, "values"), k, pt)
                    json_array_append_new(jb->out.result, sample(pt, val, sizeof val));
        }
        snprintf(val + strlen(val), sizeof val - strlen(val), "]");
    } else {
        set_error(&jb->out, "Prometheus result type %s is not supported", type);
    }
    jb->out.value = strdup(val);
    json_decref(doc);
}

static void *job_main(void *arg)
{
    struct job *jb = arg;
    struct anl_jobs *j = jb->owner;
    struct httpc_resp r;
    uint64_t one = 1;
    int gone = 0;

    jb->out.started = time(NULL);
    if (jb->kind == K_PROM_BUILTIN) { /* answered in process, errors included */
        r.status = promql_query_default(jb->body, (double)time(NULL), &r.body);
        r.body_len = strlen(r.body);
        prom_answer(jb, &r);
        free(r.body);
    } else if (httpc_do(&jb->req, &r, jb->out.msg, sizeof jb->out.msg) < 0) {
        jb->out.error = 1;
    } else {
        if (r.status < 200 || r.status > 299) {
            char code[16];

            snprintf(code, sizeof code, "%d", r.status);
            set_error(&jb->out, "received non 2xx response code: %s", code);
        } else if (jb->kind == K_WEB) {
            web_answer(jb, &r);
        } else {
            prom_answer(jb, &r);
        }
        free(r.body);
    }
    jb->out.finished = time(NULL);
    pthread_mutex_lock(&j->mu);
    jb->done = 1;
    if (jb->abandoned || j->closed) {
        struct job **pp = &j->head;

        while (*pp && *pp != jb)
            pp = &(*pp)->next;
        if (*pp)
            *pp = jb->next;
        j->njobs--;
        job_free(jb);
    } else if (write(j->efd, &one, sizeof one) < 0) {
        /* the counter cannot overflow here; a failed write only delays the pickup */
    }
    jobs_unref_locked(j, &gone);
    pthread_mutex_unlock(&j->mu);
    if (gone)
        jobs_destroy(j);
    return NULL;
}

/* ---- the table ---- */

static void on_wake(struct loop_io *io, unsigned events, void *ctx)
{
    struct anl_jobs *j = ctx;
    uint64_t v;
    json_t *runs = json_object(), *x;
    const char *k;

    if (read(j->efd, &v, sizeof v) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&j->mu);
    for (struct job *jb = j->head; jb; jb = jb->next)
        if (jb->done)
            json_object_set_new(runs, jb->key, json_pack("[ss]", jb->ns, jb->name));
    pthread_mutex_unlock(&j->mu);
    json_object_foreach(runs, k, x) j->fn(json_string_value(json_array_get(x, 0)),
                                          json_string_value(json_array_get(x, 1)), j->ctx);
    json_decref(runs);
}

struct anl_jobs *anl_jobs_new(struct loop *loop, anl_done_fn *fn, void *ctx)
{
    struct anl_jobs *j = xcalloc(1, sizeof *j);

    pthread_mutex_init(&j->mu, NULL);
    j->loop = loop;
    j->fn = fn;
    j->ctx = ctx;
    j->refs = 1;
    j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (j->efd < 0 || loop_io_start(loop, &j->io, j->efd, EPOLLIN, on_wake, j) < 0) {
        log_warn("analysis", "msg=\"cannot watch measurements; they will not run\" err=\"%s\"",
                 strerror(errno));
        if (j->efd >= 0)
            close(j->efd);
        j->efd = -1;
        j->closed = 1;
    }
    return j;
}

void anl_jobs_free(struct anl_jobs *j)
{
    struct job **pp;
    int gone;

    if (!j)
        return;
    if (j->efd >= 0)
        loop_io_stop(j->loop, &j->io);
    pthread_mutex_lock(&j->mu);
    j->closed = 1;
    if (j->efd >= 0)
        close(j->efd);
    j->efd = -1;
    for (pp = &j->head; *pp;) { /* finished ones go now; running ones free themselves */
        struct job *jb = *pp;

        if (jb->done) {
            *pp = jb->next;
            job_free(jb);
        } else {
            pp = &jb->next;
        }
    }
    jobs_unref_locked(j, &gone);
    pthread_mutex_unlock(&j->mu);
    if (gone)
        jobs_destroy(j);
}

/* "Key: value\r\n" lines from [{key, value}], within the limits; -1 with o set. */
static int header_lines(const json_t *hs, char **out, struct anl_outcome *o)
{
    size_t i, len = 0;
    const json_t *h;
    char *buf;

    if (json_array_size(hs) > ANL_MAX_HEADERS)
        return set_error(o, "more than %s headers", "32");
    buf = xcalloc(1, json_array_size(hs) * (ANL_MAX_HEADER_LEN + 4) + 1);
    json_array_foreach(hs, i, h)
    {
        const char *k = jx_str(h, "key") ?: "", *v = jx_str(h, "value") ?: "";

        if (!*k || strlen(k) + strlen(v) > ANL_MAX_HEADER_LEN || strpbrk(k, "\r\n:") ||
            strpbrk(v, "\r\n")) {
            free(buf);
            return set_error(o, "invalid header %.100s", k);
        }
        len += (size_t)sprintf(buf + len, "%s: %s\r\n", k, v);
    }
    *out = buf;
    return 0;
}

/* Fills jb's request from the provider; -1 with o set when it cannot be measured. */
static int job_prepare(struct job *jb, const json_t *provider, struct anl_outcome *o)
{
    const json_t *web = json_object_get(provider, "web"),
                 *prom = json_object_get(provider, "prometheus");

    if (json_is_object(web)) {
        const json_t *jb_body = json_object_get(web, "jsonBody");

        jb->kind = K_WEB;
        jb->url = strdup(jx_str(web, "url") ?: "");
        jb->method =
            strdup(jx_str(web, "method") && *jx_str(web, "method") ? jx_str(web, "method") : "GET");
        jb->jsonpath = strdup(jx_str(web, "jsonPath") ?: "{$}");
        jb->req.timeout_ms = (int)jx_int(web, "timeoutSeconds", 10) * 1000;
        jb->req.insecure = jx_bool(web, "insecure");
        if (header_lines(json_object_get(web, "headers"), &jb->headers, o) < 0)
            return -1;
        if (jx_str(web, "body"))
            jb->body = strdup(jx_str(web, "body"));
        else if (jb_body)
            jb->body = json_dumps(jb_body, JSON_COMPACT | JSON_ENCODE_ANY);
        if (jb_body && !strstr(jb->headers, "Content-Type")) {
            char *h = NULL;
            if (asprintf(&h, "%sContent-Type: application/json\r\n", jb->headers) > 0) {
                free(jb->headers);
                jb->headers = h;
            }
        }
        return 0;
    }
    if (json_is_object(prom)) {
        const char *addr = jx_str(prom, "address");
        char *q = httpc_query_escape(jx_str(prom, "query") ?: "");
        size_t al;

        if (!addr || !*addr)
            addr = getenv("ARGO_ROLLOUTS_PROMETHEUS_ADDRESS");
        if (!addr || !*addr) { /* Argo's default-address hook: kroll's built-in metrics */
            free(q);
            jb->kind = K_PROM_BUILTIN;
            jb->body = strdup(jx_str(prom, "query") ?: "");
            jb->method = strdup("GET");
            return 0;
        }
        al = strlen(addr);
        jb->kind = K_PROM;
        if (asprintf(&jb->url, "%.*s/api/v1/query?query=%s",
                     (int)(al && addr[al - 1] == '/' ? al - 1 : al), addr, q) < 0)
            jb->url = NULL;
        free(q);
        jb->method = strdup("GET");
        jb->req.timeout_ms = (int)jx_int(prom, "timeout", 30) * 1000;
        jb->req.insecure = jx_bool(prom, "insecure");
        if (header_lines(json_object_get(prom, "headers"), &jb->headers, o) < 0)
            return -1;
        if (!jb->url || strlen(jb->url) >= HTTPC_MAX_URL)
            return set_error(o, "%s", "prometheus: query too long");
        return 0;
    }
    {
        const char *k = json_object_iter_key(json_object_iter((json_t *)provider));
        return set_error(o, "provider %s is not supported", k ? k : "(none)");
    }
}

int anl_jobs_start(struct anl_jobs *j, const char *key, const char *ns, const char *name,
                   const json_t *provider, struct anl_outcome *o)
{
    struct job *jb;
    sigset_t all, old;
    pthread_t th;
    int rc;

    memset(o, 0, sizeof *o);
    o->started = time(NULL);
    if (j->closed)
        return set_error(o, "%s", "measurements are not running (no event descriptor)");
    if (j->njobs >= ANL_MAX_JOBS)
        return 1;
    jb = xcalloc(1, sizeof *jb);
    if (job_prepare(jb, provider, o) < 0) {
        o->finished = time(NULL);
        job_free(jb);
        return -1;
    }
    jb->owner = j;
    jb->key = strdup(key);
    jb->ns = strdup(ns);
    jb->name = strdup(name);
    jb->req.url = jb->url;
    jb->req.user_agent = "kroll-analysis";
    jb->req.method = jb->method;
    jb->req.headers = jb->headers;
    jb->req.body = jb->body;
    jb->req.body_len = jb->body ? strlen(jb->body) : 0;
    pthread_mutex_lock(&j->mu);
    jb->next = j->head;
    j->head = jb;
    j->njobs++;
    j->refs++;
    pthread_mutex_unlock(&j->mu);
    /* Workers take no signals: the loop's signalfd stays their only consumer. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&th, NULL, job_main, jb);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_warn("analysis", "msg=\"cannot start a measurement thread; measuring inline\"");
        job_main(jb);
    } else {
        pthread_detach(th);
    }
    return 0;
}

int anl_jobs_take(struct anl_jobs *j, const char *key, struct anl_outcome *o)
{
    struct job **pp, *jb = NULL;
    int rc = 0;

    pthread_mutex_lock(&j->mu);
    for (pp = &j->head; *pp; pp = &(*pp)->next)
        if (!(*pp)->abandoned && strcmp((*pp)->key, key) == 0) {
            jb = *pp;
            break;
        }
    if (jb && !jb->done) {
        rc = 1;
    } else if (jb) {
        *pp = jb->next;
        j->njobs--;
        *o = jb->out;
        memset(&jb->out, 0, sizeof jb->out);
        job_free(jb);
        rc = 2;
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

void anl_jobs_cancel(struct anl_jobs *j, const char *prefix)
{
    struct job **pp;
    size_t n = strlen(prefix);

    pthread_mutex_lock(&j->mu);
    for (pp = &j->head; *pp;) {
        struct job *jb = *pp;

        if (strncmp(jb->key, prefix, n) != 0) {
            pp = &jb->next;
        } else if (jb->done) {
            *pp = jb->next;
            j->njobs--;
            job_free(jb);
        } else {
            jb->abandoned = 1; /* its thread frees it */
            pp = &jb->next;
        }
    }
    pthread_mutex_unlock(&j->mu);
}
