/* Pod sandboxes: the per-pod network namespace. The shim creates the namespace (root netns or,
 * unprivileged, a user namespace + netns), brings lo up and adds the pod IP; everything else on
 * the node reaches a pod by opening its sockets inside that namespace (setns, socket, setns back).
 * A namespace is named by a path such as /proc/<shim pid>/ns/net; NULL means the host's. */
#ifndef KROLL_NODE_SANDBOX_H
#define KROLL_NODE_SANDBOX_H

#include "core/err.h"

/* How sandbox_netns_enter() isolated the calling process. */
enum sandbox_mode {
    SANDBOX_HOST = 0,   /* no isolation: hostNetwork pod */
    SANDBOX_NETNS = 1,  /* unshare(CLONE_NEWNET) as root */
    SANDBOX_USERNS = 2, /* unprivileged: new user namespace (uid 0 inside) + netns */
};

/* Flags for sandbox_netns_enter(). */
enum {
    SANDBOX_NO_USERNS = 1 << 0,    /* never fall back to a user namespace */
    SANDBOX_FORCE_USERNS = 1 << 1, /* skip the plain netns attempt (tests the fallback) */
};

/* Moves the calling process into a new network namespace (see enum sandbox_mode), brings lo up
 * and, when pod_ip is not NULL, adds it to lo as the alias "lo:1" (/32). Must be called before
 * the process starts threads. Returns the mode (> 0), or a negative code with err explaining why
 * no namespace could be made (then only hostNetwork pods can run). */
int sandbox_netns_enter(const char *pod_ip, int flags, struct err *err);

/* Forks a short-lived child that tries sandbox_netns_enter(); returns the mode the shim would
 * get, or a negative code with the reason in err. Bounded (waits at most ~2 s). */
int sandbox_netns_probe(int flags, struct err *err);

/* Sets lo up in the current namespace and adds ip (may be NULL) as lo:1. */
int sandbox_lo_setup(const char *ip, struct err *err);

/* Opens a socket(domain, type, 0) inside the network namespace at netns_path (NULL: the current
 * one) and returns the fd, or -errno. The calling thread switches namespaces for the duration of
 * the call only, so this is safe for a single-threaded caller or per-thread use. */
int sandbox_socket_in(const char *netns_path, int domain, int type);

/* Starts a non-blocking TCP connect to ip:port (IPv4 or IPv6 text) inside netns_path. Returns
 * the fd (connected, or with the connect in progress: wait for POLLOUT then check SO_ERROR) or
 * -errno. The fd is O_NONBLOCK and close-on-exec. */
int sandbox_connect_tcp(const char *netns_path, const char *ip, int port);

#endif
