/* The pod drain controller: when a bound pod starts terminating (metadata.deletionTimestamp),
 * it asks the Service proxy on DIR/run/proxy.sock to stop sending it new requests and to wait
 * for those in flight, then marks the pod with the annotation kroll.dev/drained (the proxy's
 * answer). The kubelet runs preStop and SIGTERM once it sees the mark, or when the grace
 * period has passed without one. Level-triggered: after a restart, terminating pods without
 * the mark are drained again (the proxy's drain is idempotent). */
#ifndef KROLL_SERVER_POD_DRAIN_H
#define KROLL_SERVER_POD_DRAIN_H

#include "client/kc.h"

struct pod_drain;

/* Starts the controller on kc's loop; data_dir is copied. */
struct pod_drain *pod_drain_start(struct kc *kc, const char *data_dir);
/* Stops it; drains in flight are dropped unmarked (the kubelet's grace timer still runs out).
 * NULL: no-op. */
void pod_drain_stop(struct pod_drain *pd);

#endif
