/* Lifecycle handlers (postStart, preStop): exec through the shim, httpGet inside the pod's
 * network namespace, sleep, tcpSocket (deprecated, treated as a no-op as upstream). */
#ifndef KROLL_NODE_HOOKS_H
#define KROLL_NODE_HOOKS_H

#include <stdint.h>

#include "core/loop.h"
#include "node/podctx.h"

struct hook;

/* ok is 1 on success; msg is the failure text for the FailedPostStartHook /
 * FailedPreStopHook event (e.g. "Exec lifecycle hook ([/bin/sh -c exit 3]) for Container
 * \"server\" in Pod \"p_default(uid)\" failed - error: command '/bin/sh -c exit 3' exited
 * with 3: , message: \"\""). */
typedef void hook_done_fn(struct hook *h, int ok, const char *msg, void *ctx);

/* Runs handler (a LifecycleHandler object, copied) for the container; calls done once, from
 * the loop (never inside hook_run), at completion or after timeout_ms (then ok=0, msg says it
 * timed out; an exec command is killed by the shim at that time). timeout_ms <= 0: no limit.
 * httpGet fails unless the status is 2xx/3xx. Messages name the pod by t->pod_ref. */
struct hook *hook_run(struct loop *loop, const json_t *handler, const struct container_target *t,
                      int64_t timeout_ms, hook_done_fn *done, void *ctx);
/* Cancels a running hook; done is not called afterwards. */
void hook_cancel(struct hook *h);

#endif
