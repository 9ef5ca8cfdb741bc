/* Proxy supervision (see proxy_sup.h): spawning the proxy detached (double fork, new session,
 * log in DIR/run/proxy.log), adopting one that survived a server restart, noticing its death
 * through a pidfd on the server loop and restarting it with backoff. Pods are drained at the
 * proxy by the pod drain controller (pod_drain.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* close_range */
#endif
#include "server/proxy_sup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "core/tls.h"

#define RESTART_MIN_MS 500
#define RESTART_MAX_MS 10000
#define STABLE_MS 10000 /* a proxy that ran this long restarts at once after a crash */

struct proxy_sup {
    struct loop *loop;
    char *data_dir, *self_exe, *node_address;
    pid_t pid;
    int pidfd;
    struct loop_io pio;
    struct loop_timer restart;
    int64_t started_ms, backoff_ms;
};

/* ---- the proxy process ---- */

/* Whether a proxy holds run/proxy.lock: a cmdline can be forged by any process, the lock in
 * our private run/ only by our own proxy. Probing takes a shared lock for an instant. */
static int proxy_lock_held(struct proxy_sup *ps)
{
    char *p = xasprintf("%s/run/proxy.lock", ps->data_dir);
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), held = 0;

    free(p);
    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_SH | LOCK_NB) < 0)
        held = errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* Whether pid is `kroll proxy --data-dir <our dir>` (the pid file may be stale and reused). */
static int proc_is_our_proxy(struct proxy_sup *ps, pid_t pid)
{
    char path[64], buf[4096];
    ssize_t n;
    int proxy = 0, dir = 0;

    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    if ((n = file_read_into(path, buf, sizeof buf)) <= 0)
        return 0;
    for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
        proxy |= !strcmp(p, "proxy");
        dir |= !strcmp(p, ps->data_dir);
    }
    return proxy && dir && proxy_lock_held(ps);
}

static void sup_on_exit(struct loop_io *io, unsigned events, void *ctx);

/* Watches pid through a pidfd; -1 when it is already gone. */
static int sup_watch(struct proxy_sup *ps, pid_t pid)
{
    int fd = pidfd_open(pid, 0);

    if (fd < 0)
        return -1;
    ps->pid = pid;
    ps->pidfd = fd;
    loop_io_start(ps->loop, &ps->pio, fd, EPOLLIN, sup_on_exit, ps);
    return 0;
}

static void spawn_child(struct proxy_sup *ps)
{
    char *log = xasprintf("%s/run/proxy.log", ps->data_dir);
    char *argv[] = {"kroll",          "proxy",          "--data-dir", ps->data_dir,
                    "--node-address", ps->node_address, NULL};
    sigset_t none;
    int fd;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the server blocks signals for its signalfd */
    signal(SIGPIPE, SIG_DFL);
    fd = open("/dev/null", O_RDONLY);
    if (fd >= 0)
        dup2(fd, 0);
    fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    close_range(3, ~0U, 0); /* the API listener, the store... stay with the server */
    execv(ps->self_exe, argv);
    fprintf(stderr, "kroll: cannot run %s proxy: %s\n", ps->self_exe, strerror(errno));
    _exit(127);
}

/* Double fork into a new session, so that neither the server's signals nor its exit reach the
 * proxy and the server never has a zombie to reap. Returns the proxy's pid or -1. */
static pid_t sup_spawn(struct proxy_sup *ps)
{
    int p[2], status;
    pid_t mid, pid = -1;

    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    mid = fork();
    if (mid == 0) {
        pid_t gc;

        setsid();
        gc = fork();
        if (gc == 0)
            spawn_child(ps);
        if (write(p[1], &gc, sizeof gc) != sizeof gc)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    if (mid > 0) {
        waitpid(mid, &status, 0);
        if (read(p[0], &pid, sizeof pid) != sizeof pid)
            pid = -1;
    }
    close(p[0]);
    return pid;
}

static void sup_launch(struct proxy_sup *ps)
{
    char *pidp = xasprintf("%s/run/proxy.pid", ps->data_dir), txt[32];
    pid_t pid = sup_spawn(ps);

    ps->started_ms = loop_now_ms(ps->loop);
    if (pid > 0) {
        snprintf(txt, sizeof txt, "%d\n", (int)pid);
        file_write_atomic(pidp, txt, strlen(txt), 0644);
        log_info("proxy-sup", "msg=\"started proxy\" pid=%d log=%s/run/proxy.log", (int)pid,
                 ps->data_dir);
    }
    if (pid <= 0 || sup_watch(ps, pid) < 0) {
        log_warn("proxy-sup", "msg=\"proxy did not start\" retry_ms=%lld",
                 (long long)ps->backoff_ms);
        loop_timer_start(ps->loop, &ps->restart, ps->backoff_ms);
        ps->backoff_ms = ps->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : ps->backoff_ms * 2;
    }
    free(pidp);
}

static void sup_on_restart(struct loop_timer *t, void *ctx)
{
    sup_launch(ctx);
}

static void sup_on_exit(struct loop_io *io, unsigned events, void *ctx)
{
    struct proxy_sup *ps = ctx;
    int64_t ran = loop_now_ms(ps->loop) - ps->started_ms;

    loop_io_stop(ps->loop, &ps->pio);
    close(ps->pidfd);
    ps->pidfd = -1;
    if (ran >= STABLE_MS)
        ps->backoff_ms = RESTART_MIN_MS;
    log_warn("proxy-sup", "msg=\"proxy exited\" pid=%d restart_ms=%lld", (int)ps->pid,
             (long long)ps->backoff_ms);
    ps->pid = 0;
    loop_timer_start(ps->loop, &ps->restart, ps->backoff_ms);
    ps->backoff_ms = ps->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : ps->backoff_ms * 2;
}

/* ---- lifecycle ---- */

struct proxy_sup *proxy_sup_start(struct loop *loop, const struct proxy_sup_opts *o)
{
    struct proxy_sup *ps = xcalloc(1, sizeof *ps);
    char *pidp = xasprintf("%s/run/proxy.pid", o->data_dir), *txt = file_read_all(pidp, NULL);
    pid_t pid = txt ? (pid_t)atoi(txt) : 0;

    ps->loop = loop;
    ps->data_dir = xstrdup(o->data_dir);
    ps->self_exe = xstrdup(o->self_exe ? o->self_exe : "/proc/self/exe");
    ps->node_address = xstrdup(o->node_address ? o->node_address : "127.0.0.1");
    ps->pidfd = -1;
    ps->backoff_ms = RESTART_MIN_MS;
    loop_timer_init(&ps->restart, sup_on_restart, ps);
    if (pid > 0 && proc_is_our_proxy(ps, pid) && sup_watch(ps, pid) == 0) {
        ps->started_ms = loop_now_ms(loop);
        log_info("proxy-sup", "msg=\"adopted running proxy\" pid=%d", (int)pid);
    } else {
        sup_launch(ps);
    }
    free(pidp);
    free(txt);
    return ps;
}

void proxy_sup_stop(struct proxy_sup *ps)
{
    if (!ps)
        return;
    loop_timer_stop(ps->loop, &ps->restart);
    if (ps->pidfd >= 0) {
        loop_io_stop(ps->loop, &ps->pio);
        close(ps->pidfd);
    }
    free(ps->data_dir);
    free(ps->self_exe);
    free(ps->node_address);
    free(ps);
}

pid_t proxy_sup_pid(const struct proxy_sup *ps)
{
    return ps ? ps->pid : 0;
}
