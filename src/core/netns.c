/* Network namespaces: creation (root or unprivileged user namespace), loopback setup with plain
 * ioctls (no dependency on ip(8)), and opening sockets inside another pod's namespace (the shim,
 * the kubelet's probes and port-forward, the proxy's workers all use this one copy).
 * Guarantee: netns_socket() always returns the calling thread to its original namespace, or
 * aborts, because continuing in the wrong namespace would silently misroute traffic. */
#include "core/netns.h"

#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;
    int rc = 0;

    if (fd < 0)
        return -errno;
    n = write(fd, text, strlen(text));
    if (n < 0)
        rc = -errno;
    else if ((size_t)n != strlen(text))
        rc = -EIO;
    close(fd);
    return rc;
}

/* Maps uid/gid 0 inside the new user namespace to our own ids outside, so the shim holds full
 * capabilities over its netns while files it creates stay owned by the invoking user. */
static int userns_map_self(uid_t uid, gid_t gid)
{
    char map[64];
    int rc;

    rc = write_file("/proc/self/setgroups", "deny");
    if (rc < 0 && rc != -ENOENT)
        return rc;
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
    if ((rc = write_file("/proc/self/uid_map", map)) < 0)
        return rc;
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
    return write_file("/proc/self/gid_map", map);
}

int netns_lo_setup(const char *ip, struct err *err)
{
    struct ifreq ifr;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    int fd, rc = 0;

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(err, -errno, "socket: %s", strerror(errno));
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        rc = err_set(err, -errno, "lo: SIOCGIFFLAGS: %s", strerror(errno));
        goto out;
    }
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
        rc = err_set(err, -errno, "lo: SIOCSIFFLAGS (up): %s", strerror(errno));
        goto out;
    }
    if (!ip)
        goto out;
    /* An alias label adds a secondary address; setting "lo" itself would replace 127.0.0.1. */
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "lo:1");
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1) {
        rc = err_set(err, -EINVAL, "pod IP %s is not an IPv4 address", ip);
        goto out;
    }
    if (ioctl(fd, SIOCSIFADDR, &ifr) < 0) {
        rc = err_set(err, -errno, "lo:1: SIOCSIFADDR %s: %s", ip, strerror(errno));
        goto out;
    }
    inet_pton(AF_INET, "255.255.255.255", &sin->sin_addr);
    if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
        rc = err_set(err, -errno, "lo:1: SIOCSIFNETMASK: %s", strerror(errno));
out:
    close(fd);
    return rc;
}

int netns_enter(const char *pod_ip, int flags, struct err *err)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int mode = NETNS_OWN, rc, first = 0;

    if (!(flags & NETNS_FORCE_USERNS) && unshare(CLONE_NEWNET) == 0)
        goto setup;
    first = (flags & NETNS_FORCE_USERNS) ? 0 : errno;
    if (flags & NETNS_NO_USERNS)
        return err_set(err, -first,
                       "cannot create a network namespace: unshare(CLONE_NEWNET): "
                       "%s; only hostNetwork pods can run",
                       strerror(first));
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
        rc = -errno;
        return err_set(err, rc,
                       "cannot create a network namespace: unshare(CLONE_NEWNET): %s; "
                       "unshare(CLONE_NEWUSER|CLONE_NEWNET): %s; run as root or enable "
                       "unprivileged user namespaces; only hostNetwork pods can run",
                       first ? strerror(first) : "skipped", strerror(-rc));
    }
    mode = NETNS_USERNS;
    if ((rc = userns_map_self(uid, gid)) < 0)
        return err_set(err, rc, "user namespace id map: %s", strerror(-rc));
setup:
    rc = netns_lo_setup(pod_ip, err);
    return rc < 0 ? rc : mode;
}

int netns_probe(int flags, struct err *err)
{
    int pfd[2], status, rc, n;
    pid_t pid;
    struct pollfd p;
    char msg[sizeof err->msg + 8];

    if (pipe2(pfd, O_CLOEXEC) < 0)
        return err_set(err, -errno, "pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0) {
        rc = err_set(err, -errno, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return rc;
    }
    if (pid == 0) {
        struct err e;

        err_init(&e);
        rc = netns_enter(NULL, flags, &e);
        n = snprintf(msg, sizeof msg, "%d %s", rc, rc < 0 ? e.msg : "");
        if (write(pfd[1], msg, (size_t)n) < 0)
            _exit(2);
        _exit(0);
    }
    close(pfd[1]);
    p = (struct pollfd){.fd = pfd[0], .events = POLLIN};
    n = 0;
    if (poll(&p, 1, 2000) > 0)
        n = (int)read(pfd[0], msg, sizeof msg - 1);
    close(pfd[0]);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (n <= 0)
        return err_set(err, -E_INTERNAL, "network namespace probe gave no answer");
    msg[n] = 0;
    rc = atoi(msg);
    if (rc < 0)
        err_set(err, rc, "%s", strchr(msg, ' ') ? strchr(msg, ' ') + 1 : "");
    return rc;
}

/* Switching back must not fail silently: the thread would keep working in a pod's namespace. */
static void netns_restore(int self_fd)
{
    if (setns(self_fd, CLONE_NEWNET) < 0)
        die("netns: cannot return to the original network namespace: %s", strerror(errno));
}

int netns_path_valid(const char *path)
{
    const char *p = path;

    if (!p || strncmp(p, "/proc/", 6) != 0)
        return 0;
    p += 6;
    if (*p < '1' || *p > '9' || strspn(p, "0123456789") > 9)
        return 0;
    p += strspn(p, "0123456789");
    return strcmp(p, "/ns/net") == 0;
}

int netns_socket(const char *netns_path, int self_fd, int domain, int type)
{
    int own_fd = -1, ns_fd, fd, saved;

    if (!netns_path || !netns_path[0]) {
        fd = socket(domain, type, 0);
        return fd < 0 ? -errno : fd;
    }
    ns_fd = open(netns_path, O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0)
        return -errno;
    if (self_fd < 0) {
        self_fd = own_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self_fd < 0) {
            saved = -errno;
            close(ns_fd);
            return saved;
        }
    }
    if (setns(ns_fd, CLONE_NEWNET) < 0) {
        saved = -errno;
        close(ns_fd);
        if (own_fd >= 0)
            close(own_fd);
        return saved;
    }
    close(ns_fd);
    fd = socket(domain, type, 0);
    saved = fd < 0 ? -errno : fd;
    netns_restore(self_fd);
    if (own_fd >= 0)
        close(own_fd);
    return saved;
}

int netns_connect_tcp(const char *netns_path, const char *ip, int port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    int fd, rc;

    if (!ip || port <= 0 || port > 65535)
        return -EINVAL;
    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        len = sizeof *s4;
    } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof *s6;
    } else {
        return -EINVAL;
    }
    fd = netns_socket(netns_path, -1, ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return fd;
    if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}
