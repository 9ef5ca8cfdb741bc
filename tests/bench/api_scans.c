/* A small measurement of two API lookups that used to scan (docs/architecture.md, "What
 * duplicates remain and why"): the store key -> resource lookup every in-process watch event
 * makes (api/local.c), and api_event's search for the Event a repeat aggregates into.
 * Not part of CTest (figures, not checks). Build it against a build directory's library:
 *   cc -O2 -I src -I build tests/bench/api_scans.c build/libkroll_lib.a build/libllhttp.a \
 *      $(pkg-config --libs jansson sqlite3 openssl yaml-0.1 libarchive zlib ldns) -lm \
 *      -lpthread -o /tmp/api_scans
 *   /tmp/api_scans N    (N Events stored first; the data directory is made under $TMPDIR,
 *                        default /dev/shm, so that SQLite's fsync does not hide the CPU cost)
 * Prints the lookups' ns/op, and api_event's us/call for a new Event and for a repeat, with the
 * scan it made before (a verbatim copy, below) and with the index, on the same store. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api-int.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/loop.h"
#include "store/store.h"

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The lookup api/local.c made before: a scan of the table. */
static const struct resource *by_key_scan(const char *key)
{
    for (int i = 0; i < RES_COUNT; i++)
        if (strcmp(scheme_resources[i].key, key) == 0)
            return &scheme_resources[i];
    return NULL;
}

/* api_event as it was before the index (src/api/strategy.c at 66a5e0b), verbatim: the scan. */
static void old_api_event(struct api *api, const json_t *obj, const char *type, const char *reason,
                          const char *component, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void old_api_event(struct api *api, const json_t *obj, const char *type, const char *reason,
                          const char *component, const char *fmt, ...)
{
    const struct resource *r = scheme_resource(RES_EVENT);
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    const char *uid = jx_str(obj, "metadata.uid");
    json_t *m = store_map(api->store, r->key), *v, *ev, *out = NULL;
    struct api_wopts o = {.grace = -1};
    char msg[1024], ts[32], evname[300];
    struct timespec now;
    const char *k;
    struct err err;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!ns || !*ns)
        ns = "default";
    time_rfc3339(time(NULL), ts);
    err_init(&err);
    /* Aggregate an identical recent event into its count, as the event recorder does. */
    if (m)
        json_object_foreach(m, k, v)
        {
            if (strcmp(jx_str(v, "involvedObject.uid") ?: "", uid ?: "") == 0 &&
                strcmp(jx_str(v, "reason") ?: "", reason) == 0 &&
                strcmp(jx_str(v, "message") ?: "", msg) == 0 &&
                strcmp(jx_str(v, "type") ?: "", type) == 0 &&
                strcmp(jx_str(v, "metadata.namespace") ?: "", ns) == 0) {
                ev = json_deep_copy(v);
                json_object_set_new(ev, "count", json_integer(jx_int(v, "count", 1) + 1));
                json_object_set_new(ev, "lastTimestamp", json_string(ts));
                if (api_update(api, r, ns, jx_str(v, "metadata.name"), ev, &o, &out, &err) < 0)
                    log_warn("api", "msg=\"event update failed\" err=\"%s\"", err.msg);
                json_decref(ev);
                json_decref(out);
                err_release(&err);
                return;
            }
        }
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(evname, sizeof evname, "%.200s.%llx", name ? name : "object",
             (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
    ev = json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s,s:s},s:s,s:s,s:i,s:s,"
                   "s:n,s:s,s:s}",
                   "metadata", "name", evname, "namespace", ns, "involvedObject", "kind",
                   jx_str(obj, "kind") ?: "", "namespace", jx_str(obj, "metadata.namespace") ?: "",
                   "name", name ?: "", "uid", uid ?: "", "apiVersion",
                   jx_str(obj, "apiVersion") ?: "", "reason", reason, "message", msg, "source",
                   "component", component, "host", api->node_name, "firstTimestamp", ts,
                   "lastTimestamp", ts, "count", 1, "type", type, "eventTime", "reportingComponent",
                   component, "reportingInstance", api->node_name);
    if (jx_str(obj, "metadata.resourceVersion"))
        jx_set(ev, "involvedObject.resourceVersion",
               json_string(jx_str(obj, "metadata.resourceVersion")));
    if (!jx_str(obj, "metadata.namespace") || !*jx_str(obj, "metadata.namespace"))
        jx_del(ev, "involvedObject.namespace");
    if (api_create(api, r, ns, ev, &o, &out, &err) < 0)
        log_warn("api", "msg=\"event create failed\" err=\"%s\"", err.msg);
    json_decref(ev);
    json_decref(out);
    err_release(&err);
}

static void bench_lookup(void)
{
    const long n = 2000000;
    const struct resource *volatile sink;
    char *keys[RES_COUNT]; /* copies, as the store's keys are: no pointer is the table's */
    long hits = 0;
    double t0;

    for (int i = 0; i < RES_COUNT; i++)
        keys[i] = xstrdup(scheme_resources[i].key);
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        sink = by_key_scan(keys[i % RES_COUNT]);
        hits += sink != NULL;
    }
    printf("key lookup, table scan (before):  %6.1f ns/op (%d resources)\n",
           (now_s() - t0) * 1e9 / n, RES_COUNT);
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        sink = scheme_by_key(keys[i % RES_COUNT]);
        hits += sink != NULL;
    }
    printf("key lookup, binary search (after): %6.1f ns/op (%ld of %ld found)\n",
           (now_s() - t0) * 1e9 / n, hits, 2 * n);
    for (int i = 0; i < RES_COUNT; i++)
        free(keys[i]);
}

static json_t *pod(long i)
{
    char name[32], uid[32];

    snprintf(name, sizeof name, "p%ld", i);
    snprintf(uid, sizeof uid, "uid-%ld", i);
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                     "name", name, "namespace", "default", "uid", uid);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000, m = 200;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/dev/shm";
    char dir[256], *db, *cmd;
    struct api_opts ao = {0};
    struct store *st;
    struct api *api;
    struct loop *loop;
    struct err err;
    json_t *ns, *out = NULL, *p;
    struct api_wopts o = {.grace = -1};
    double t0;

    if (n < 1 || n > 1000000)
        return fprintf(stderr, "usage: api_scans N (1..1000000)\n"), 2;
    bench_lookup();
    snprintf(dir, sizeof dir, "%s/kroll-api-scans.XXXXXX", tmp);
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    err_init(&err);
    loop = loop_new();
    db = xasprintf("%s/state.db", dir);
    if (store_open(db, &st, &err) < 0)
        return fprintf(stderr, "store: %s\n", err.msg), 1;
    ao.data_dir = dir;
    ao.listen_host = "127.0.0.1";
    ao.node_name = "bench";
    if (!(api = api_new(loop, st, &ao, &err)))
        return fprintf(stderr, "api: %s\n", err.msg), 1;
    ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
                   "default");
    api_create(api, scheme_resource(RES_NAMESPACE), NULL, ns, &o, &out, &err);
    json_decref(ns);
    json_decref(out);
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        p = pod(i);
        api_event(api, p, "Normal", "Scheduled", "bench", "event %ld", i);
        json_decref(p);
    }
    printf("api_event, %ld new Events stored: %8.1f us/call on average\n", n,
           (now_s() - t0) * 1e6 / n);
    for (int old = 1; old >= 0; old--) {
        const char *how = old ? "scan (before)" : "index (after)";
        long base = n + (old ? 0 : m);

        t0 = now_s();
        for (long i = 0; i < m; i++) {
            p = pod(base + i);
            if (old)
                old_api_event(api, p, "Normal", "Scheduled", "bench", "event %ld", base + i);
            else
                api_event(api, p, "Normal", "Scheduled", "bench", "event %ld", base + i);
            json_decref(p);
        }
        printf("api_event, %s, new Event, %ld stored: %8.1f us/call\n", how, base,
               (now_s() - t0) * 1e6 / m);
        t0 = now_s();
        for (long i = 0; i < m; i++) {
            long k = (i * 7919) % n;

            p = pod(k);
            if (old)
                old_api_event(api, p, "Normal", "Scheduled", "bench", "event %ld", k);
            else
                api_event(api, p, "Normal", "Scheduled", "bench", "event %ld", k);
            json_decref(p);
        }
        printf("api_event, %s, repeat, %ld stored:    %8.1f us/call\n", how, base + m,
               (now_s() - t0) * 1e6 / m);
    }
    /* Repeats aggregate: n + 2m Events, whatever the lookup. */
    printf("stored Events: %zu (want %ld)\n",
           json_object_size(store_map(st, scheme_resources[RES_EVENT].key)), n + 2 * m);
    api_free(api);
    store_close(st);
    loop_free(loop);
    cmd = xasprintf("rm -rf -- '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
    free(db);
    return 0;
}
