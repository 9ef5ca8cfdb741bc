/* Private to the probe and hook modules: one asynchronous handler run (httpGet, tcpSocket or
 * exec) on the server loop, bounded by a timeout. Probes (probe.c) count its results; lifecycle
 * hooks (hooks.c) turn them into FailedPostStartHook / FailedPreStopHook messages. */
#ifndef KROLL_NODE_PROBE_INT_H
#define KROLL_NODE_PROBE_INT_H

#include <jansson.h>
#include <stdint.h>

#include "core/loop.h"
#include "node/podctx.h"

enum probe_kind { PROBE_HTTP = 1, PROBE_TCP, PROBE_EXEC };

/* What one run produced; borrowed for the duration of the callback. */
struct probe_outcome {
    int ok;             /* 1: success as probes count it (HTTP 200-399, connect, exit 0) */
    int timed_out;      /* 1: the run hit its timeout (ok is 0) */
    int status;         /* HTTP status code, 0 when no response arrived */
    int exit_code;      /* exec: exit status (-1 when killed by a signal or not run) */
    const char *output; /* the text Kubernetes shows: failure text, or exec/HTTP output */
    const char *error;  /* transport or runtime error alone (no "Get \"url\": " prefix), or NULL */
    const char *warning; /* HTTP: a redirect to another host was not followed, else NULL */
    int errored;        /* 1: the probe could not run (unknown port name, shim unreachable):
                         * the kubelet's "probe errored", not a failure of the container */
};

struct probe_run;
typedef void probe_run_fn(struct probe_run *r, const struct probe_outcome *o, void *ctx);

/* Starts running handler (an object with httpGet, tcpSocket or exec) against t. fn is called
 * exactly once from the loop, never from inside this call, unless the run is cancelled first.
 * An unusable handler (unknown port name, bad host, missing command) is reported through fn as
 * a failure. Never NULL. */
struct probe_run *probe__run_start(struct loop *loop, enum probe_kind kind, const json_t *handler,
                                   const struct container_target *t, int64_t timeout_ms,
                                   probe_run_fn *fn, void *ctx);
/* Stops a run; fn will not be called. Safe from inside fn (then a no-op). */
void probe__run_cancel(struct probe_run *r);

/* Resolves an IntOrString port against the container's ports (by name). Returns 1-65535, or
 * -1 with msg filled (e.g. `port "http" not found`). */
int probe__port_resolve(const json_t *port, const json_t *ports, char *msg, size_t n);

#endif
