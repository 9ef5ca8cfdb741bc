/* Probe workers: timing (initialDelaySeconds, periodSeconds, timeoutSeconds) and the consecutive
 * success/failure counting of the Kubernetes prober (k8s-semantics.md section 8). Each attempt
 * is one probe__run (probe_http.c); a worker never has two attempts in flight. */
#include "node/probe.h"

#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"
#include "node/probe-int.h"

struct probe {
    struct loop *loop;
    char kind[16];
    json_t *spec;
    const struct container_target *t;
    probe_result_fn *fn;
    void *ctx;
    enum probe_kind handler; /* 0: grpc or unknown, reported as a failure */
    const json_t *handler_obj;
    int64_t initial_delay_ms, period_ms, timeout_ms;
    int success_threshold, failure_threshold;
    struct loop_timer tick;
    struct probe_run *run;
    int64_t attempt_started;
    int last;   /* result of the previous attempt: 1, 0, or -1 before the first */
    int run_len; /* consecutive attempts with that result */
    int state;  /* published result: 1, 0, -1 unknown */
    int on_hold; /* liveness/startup failed (or startup succeeded): idle until probe_reset */
    int stopped;
    unsigned gen; /* bumped by probe_reset, so a reset from inside fn is not undone */
};

static json_int_t spec_int(const json_t *spec, const char *key, json_int_t def, json_int_t min)
{
    json_int_t v = jx_int(spec, key, def);

    return v < min ? min : v;
}

static void probe_free(void *arg)
{
    struct probe *p = arg;

    json_decref(p->spec);
    free(p);
}

static void probe_schedule_next(struct probe *p)
{
    int64_t now = loop_now_ms(p->loop), elapsed = now - p->attempt_started;

    /* Like a Go ticker: attempts start on the period grid; a slow attempt skips ticks. */
    if (elapsed < 0)
        elapsed = 0;
    loop_timer_start(p->loop, &p->tick, p->period_ms - elapsed % p->period_ms);
}

/* Applies one attempt to the counters and returns the published state. */
static int probe_count(struct probe *p, int ok)
{
    p->run_len = ok == p->last ? p->run_len + 1 : 1;
    p->last = ok;
    if ((!ok && p->run_len < p->failure_threshold) || (ok && p->run_len < p->success_threshold))
        return p->state;
    p->state = ok;
    /* The kubelet kills a container whose liveness or startup probe failed; the worker waits
     * for the next instance (probe_reset). A startup probe is done once it succeeded. */
    if (!ok && (strcmp(p->kind, "liveness") == 0 || strcmp(p->kind, "startup") == 0)) {
        p->on_hold = 1;
        p->run_len = 0;
    } else if (ok && strcmp(p->kind, "startup") == 0) {
        p->on_hold = 1;
    }
    return p->state;
}

static void probe_report(struct probe *p, int ok, const char *output)
{
    int state = probe_count(p, ok);
    unsigned gen = p->gen;

    p->fn(p, ok, state, output, p->ctx);
    if (!p->stopped && !p->on_hold && gen == p->gen)
        probe_schedule_next(p);
}

static void on_run_done(struct probe_run *r, const struct probe_outcome *o, void *arg)
{
    struct probe *p = arg;
    unsigned gen = p->gen;

    p->run = NULL;
    if (!o->errored) {
        probe_report(p, o->ok, o->output ? o->output : "");
        return;
    }
    /* As the kubelet's worker: an attempt that could not run is thrown away (not counted);
     * the caller still hears of it (ok = -1) for the "probe errored" event. */
    p->fn(p, -1, p->state, o->output ? o->output : "", p->ctx);
    if (!p->stopped && !p->on_hold && gen == p->gen)
        probe_schedule_next(p);
}

static void on_tick(struct loop_timer *t, void *arg)
{
    struct probe *p = arg;

    p->attempt_started = loop_now_ms(p->loop);
    if (!p->handler) {
        probe_report(p, 0, json_object_get(p->spec, "grpc")
                               ? "gRPC probes are not supported by kroll"
                               : "probe has no handler (httpGet, tcpSocket, exec or grpc)");
        return;
    }
    p->run = probe__run_start(p->loop, p->handler, p->handler_obj, p->t, p->timeout_ms,
                              on_run_done, p);
}

struct probe *probe_start(struct loop *loop, const char *kind, const json_t *spec,
                          const struct container_target *t, probe_result_fn *fn, void *ctx)
{
    struct probe *p = xcalloc(1, sizeof *p);
    static const struct {
        const char *key;
        enum probe_kind kind;
    } handlers[] = {{"httpGet", PROBE_HTTP}, {"tcpSocket", PROBE_TCP}, {"exec", PROBE_EXEC}};

    p->loop = loop;
    snprintf(p->kind, sizeof p->kind, "%s", kind ? kind : "readiness");
    p->spec = json_is_object(spec) ? json_deep_copy(spec) : json_object();
    p->t = t;
    p->fn = fn;
    p->ctx = ctx;
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        const json_t *h = json_object_get(p->spec, handlers[i].key);
        if (json_is_object(h)) {
            p->handler = handlers[i].kind;
            p->handler_obj = h;
            break;
        }
    }
    /* Defaults and minimums of the API (a validated object already satisfies them). */
    p->initial_delay_ms = spec_int(p->spec, "initialDelaySeconds", 0, 0) * 1000;
    p->period_ms = spec_int(p->spec, "periodSeconds", 10, 1) * 1000;
    p->timeout_ms = spec_int(p->spec, "timeoutSeconds", 1, 1) * 1000;
    p->success_threshold = (int)spec_int(p->spec, "successThreshold", 1, 1);
    p->failure_threshold = (int)spec_int(p->spec, "failureThreshold", 3, 1);
    loop_timer_init(&p->tick, on_tick, p);
    probe_reset(p);
    return p;
}

void probe_reset(struct probe *p)
{
    if (!p || p->stopped)
        return;
    probe__run_cancel(p->run);
    p->run = NULL;
    p->last = -1;
    p->run_len = 0;
    p->state = -1;
    p->on_hold = 0;
    p->gen++;
    loop_timer_start(p->loop, &p->tick, p->initial_delay_ms);
}

void probe_stop(struct probe *p)
{
    if (!p || p->stopped)
        return;
    p->stopped = 1;
    probe__run_cancel(p->run);
    p->run = NULL;
    loop_timer_stop(p->loop, &p->tick);
    loop_defer(p->loop, probe_free, p);
}
