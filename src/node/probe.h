/* Probes (readiness, liveness, startup) run on the server loop without blocking: httpGet and
 * tcpSocket open their socket inside the pod's network namespace, exec runs through the pod's
 * shim. Timing and thresholds follow Kubernetes exactly (k8s-semantics.md section 8). */
#ifndef KROLL_NODE_PROBE_H
#define KROLL_NODE_PROBE_H

#include "core/loop.h"
#include "node/podctx.h"

struct probe;

/* Called after every probe attempt. ok: this attempt's result (1 success, 0 failure, -1 the
 * probe could not run: unknown port name, shim unreachable; not counted, as upstream throws
 * such attempts away; output is then the error); state: the thresholded result
 * (1 success, 0 failure, -1 not yet known); output: the failure text Kubernetes puts into the
 * Unhealthy event, e.g. "HTTP probe failed with statuscode: 503" or
 * "Get \"http://127.78.0.3:8501/healthz\": dial tcp ...: connect: connection refused". */
typedef void probe_result_fn(struct probe *p, int ok, int state, const char *output, void *ctx);

/* Starts probing per spec (a Probe object: httpGet|tcpSocket|exec|grpc, initialDelaySeconds,
 * periodSeconds, timeoutSeconds, successThreshold, failureThreshold; copied). kind is
 * "readiness", "liveness" or "startup". t is borrowed and must outlive the probe. The first
 * attempt starts initialDelaySeconds after this call (or after probe_reset), then one every
 * periodSeconds; fn is called after each attempt, never from inside probe_start. As in the
 * kubelet's worker, a liveness or startup probe that published a failure, and a startup probe
 * that published a success, stop attempting until probe_reset (the next container instance).
 * grpc probes are not supported: each attempt fails with a message saying so. */
struct probe *probe_start(struct loop *loop, const char *kind, const json_t *spec,
                          const struct container_target *t, probe_result_fn *fn, void *ctx);
/* Stops the probe; safe from inside its own callback (freed in the defer phase). */
void probe_stop(struct probe *p);
/* Resets counters and restarts the initial delay (after a container restart). */
void probe_reset(struct probe *p);

#endif
