/* Network namespaces, the one helper for all components: the shim creates a pod's namespace
 * (root netns or, unprivileged, a user namespace + netns), brings lo up and adds the pod IP;
 * the prober, port-forward and the proxy reach a pod by opening their sockets inside that
 * namespace (setns, socket, setns back). A namespace is named by a path such as
 * /proc/<shim pid>/ns/net; NULL (or "") means the caller's own. */
#ifndef KROLL_CORE_NETNS_H
#define KROLL_CORE_NETNS_H

#include "core/err.h"

/* The pod annotation in which the kubelet publishes the path of a running pod's network
 * namespace (/proc/<shim pid>/ns/net), so that the Service proxy learns it from the API like
 * everything else it knows about a pod. The kubelet owns it: a value that differs from the
 * namespace it runs the pod in is put back. Absent for hostNetwork pods. */
#define POD_NETNS_ANNOTATION "kroll.dev/netns"

/* The cluster DNS address (like kube-dns' 10.96.0.10): the proxy answers on port 53 there, in
 * the host's and in every pod's network namespace; the kubelet writes it into pods'
 * resolv.conf; the Service allocator never hands it out. */
#define CLUSTER_DNS_IP "127.77.0.10"

/* Whether path names a network namespace the way POD_NETNS_ANNOTATION does, /proc/<pid>/ns/net
 * (a reader refuses anything else, so an annotation written by hand cannot point elsewhere). */
int netns_path_valid(const char *path);

/* How netns_enter() isolated the calling process. */
enum netns_mode {
    NETNS_HOST = 0,   /* no isolation: hostNetwork pod */
    NETNS_OWN = 1,    /* unshare(CLONE_NEWNET) as root */
    NETNS_USERNS = 2, /* unprivileged: new user namespace (uid 0 inside) + netns */
};

/* Flags for netns_enter(). */
enum {
    NETNS_NO_USERNS = 1 << 0,    /* never fall back to a user namespace */
    NETNS_FORCE_USERNS = 1 << 1, /* skip the plain netns attempt (tests the fallback) */
};

/* Moves the calling process into a new network namespace (see enum netns_mode), brings lo up
 * and, when pod_ip is not NULL, adds it to lo as the alias "lo:1" (/32). Must be called before
 * the process starts threads. Returns the mode (> 0), or a negative code with err explaining why
 * no namespace could be made (then only hostNetwork pods can run). */
int netns_enter(const char *pod_ip, int flags, struct err *err);

/* Forks a short-lived child that tries netns_enter(); returns the mode the shim would
 * get, or a negative code with the reason in err. Bounded (waits at most ~2 s). */
int netns_probe(int flags, struct err *err);

/* Sets lo up in the current namespace and adds ip (may be NULL) as lo:1. */
int netns_lo_setup(const char *ip, struct err *err);

/* Opens a socket(domain, type, 0) inside the network namespace at netns_path (NULL or "": the
 * current one) and returns the fd, or -errno. The calling thread switches namespaces for the
 * duration of the call only, so this is safe for a single-threaded caller or per-thread use.
 * self_fd is an open fd of the thread's own namespace, kept by a caller that opens many
 * sockets (the proxy's workers), or -1 to open /proc/thread-self/ns/net for this call. */
int netns_socket(const char *netns_path, int self_fd, int domain, int type);

/* Starts a non-blocking TCP connect to ip:port (IPv4 or IPv6 text) inside netns_path. Returns
 * the fd (connected, or with the connect in progress: wait for POLLOUT then check SO_ERROR) or
 * -errno. The fd is O_NONBLOCK and close-on-exec. */
int netns_connect_tcp(const char *netns_path, const char *ip, int port);

#endif
