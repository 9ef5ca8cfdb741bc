/* Supervision of the Service proxy by the server: `kroll proxy --data-dir DIR` runs as its own
 * process (own session, outlives the server so that traffic survives a server restart); the
 * server adopts a running one through DIR/run/proxy.pid or starts it and restarts it when it
 * dies. */
#ifndef KROLL_SERVER_PROXY_SUP_H
#define KROLL_SERVER_PROXY_SUP_H

#include <sys/types.h>

#include "core/loop.h"

struct proxy_sup;

struct proxy_sup_opts {
    const char *data_dir;
    const char *self_exe;     /* the kroll binary */
    const char *node_address; /* NULL: 127.0.0.1 */
};

/* Adopts or starts the proxy and watches it on loop. Never fails: a
 * proxy that cannot start is retried with backoff (its log is DIR/run/proxy.log). */
struct proxy_sup *proxy_sup_start(struct loop *loop, const struct proxy_sup_opts *o);
/* Stops watching (the proxy keeps running). NULL: no-op. */
void proxy_sup_stop(struct proxy_sup *ps);
/* The proxy's pid, or 0 while none runs. */
pid_t proxy_sup_pid(const struct proxy_sup *ps);

#endif
