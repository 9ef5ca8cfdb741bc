/* `kroll shim`: the per-pod supervisor process. Creates the pod's network namespace, serves the
 * line-delimited JSON control protocol on <pod-dir>/shim.sock from one epoll loop (signalfd for
 * SIGCHLD/SIGTERM, a pidfd per child, no blocking waits), and ends only on `stop` or SIGTERM,
 * after killing and recording every process of the pod. See docs/internals/shim.md. */
#include "shim/shim-int.h"

#include "core/file.h"
#include "core/log.h"
#include "core/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void shim__watch_add(struct shim *s, int fd, uint32_t events, struct shim_watch *w)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};

    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        log_error("shim", "msg=\"epoll add failed\" fd=%d err=\"%s\"", fd, strerror(errno));
}

void shim__watch_del(struct shim *s, int fd)
{
    epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
}

int shim__sockaddr(const char *pod_dir, struct sockaddr_un *sa, int *dirfd)
{
    int n;

    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    *dirfd = -1;
    n = snprintf(sa->sun_path, sizeof sa->sun_path, "%s/shim.sock", pod_dir);
    if (n > 0 && (size_t)n < sizeof sa->sun_path)
        return 0;
    /* Too long for sun_path: name the directory through a descriptor instead. */
    *dirfd = open(pod_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0)
        return -errno;
    snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/shim.sock", *dirfd);
    return 0;
}

/* ---- connections --------------------------------------------------------------------------- */

static void conn_flush(struct shim *s, struct shim_conn *c)
{
    struct epoll_event ev = {0};

    while (c->out_len > 0 && !c->dead) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            c->dead = 1;
            return;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    (void)ev;
    shim__conn_events(s, c);
    if (c->attach && c->attach->out_paused && c->out_len < SHIM_ATTACH_OUT_HIGH / 2)
        shim__attach_drained(s, c->attach);
}

void shim__conn_events(struct shim *s, struct shim_conn *c)
{
    struct epoll_event ev = {.data.ptr = &c->w};

    ev.events = (c->paused ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0);
    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

void shim__conn_write(struct shim *s, struct shim_conn *c, const void *p, size_t n)
{
    if (c->dead || c->out_len + n > SHIM_OUT_MAX) {
        c->dead = 1; /* a reader that does not read loses its connection, not our memory */
        return;
    }
    if (c->out_len + n > c->out_cap) {
        c->out_cap = (c->out_len + n) * 2;
        c->out = xrealloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    conn_flush(s, c);
}

void shim__conn_send(struct shim *s, struct shim_conn *c, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    size_t n;

    json_decref(msg);
    if (!text) /* cannot happen with valid UTF-8; never send half a protocol */
        text = xstrdup("{\"ok\":false,\"error\":\"reply could not be encoded\"}");
    n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n';
    shim__conn_write(s, c, text, n + 1);
    free(text);
}

void shim__event_send(struct shim *s, json_t *ev)
{
    for (struct shim_conn *c = s->conns; c; c = c->next)
        if (c->subscribed)
            shim__conn_send(s, c, json_incref(ev));
    json_decref(ev);
}

static void conn_free(struct shim *s, struct shim_conn *c)
{
    struct shim_conn **pp;

    for (pp = &s->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    for (struct shim_exec *x = s->execs; x; x = x->next)
        if (x->conn == c)
            x->conn = NULL;
    if (c->attach)
        shim__attach_gone(s, c);
    shim__watch_del(s, c->fd);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

/* ---- requests ------------------------------------------------------------------------------ */

static json_t *reply_ok(void)
{
    return json_pack("{s:b}", "ok", 1);
}

static json_t *reply_err(const char *fmt, const char *arg)
{
    return json_pack("{s:b, s:o}", "ok", 0, "error", json_sprintf(fmt, arg));
}

static json_t *op_signal(struct shim *s, const json_t *req)
{
    const char *name = json_string_value(json_object_get(req, "container"));
    const json_t *sig = json_object_get(req, "signal");
    struct shim_ctr *c;

    if (!name)
        return reply_err("%s", "container must be a string");
    if (!json_is_integer(sig) || json_integer_value(sig) < 0 || json_integer_value(sig) >= NSIG)
        return reply_err("%s", "signal must be a signal number");
    c = shim__ctr_find(s, name);
    if (!c)
        return reply_err("no container %s", name);
    if (!c->running)
        return reply_err("container %s is not running", name);
    if (c->bundle) {
        int n = (int)json_integer_value(sig);

        /* SIGKILL ends the whole container (its cgroup), as the process group does below. */
        if (shim__runc_signal(c, n, n == SIGKILL) < 0)
            return reply_err("%s kill failed (see shim.log)", c->rt_bin);
    } else if (kill(-c->pid, (int)json_integer_value(sig)) < 0) {
        return reply_err("kill: %s", strerror(errno));
    }
    return reply_ok();
}

static json_t *op_status(struct shim *s)
{
    json_t *r = reply_ok();

    json_object_set_new(r, "state", shim__state_json(s));
    return r;
}

/* stop: kill everything, record it, answer, then leave; the netns goes with the process. */
static void op_stop(struct shim *s, struct shim_conn *c, json_t *reply)
{
    char path[PATH_MAX];

    s->stopping = 1;
    shim__kill_all(s, 3000);
    shim__pause_stop(s); /* after the containers: its end kills whatever is left in the pod */
    shim__state_write(s);
    snprintf(path, sizeof path, "%s/shim.sock", s->pod_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/shim.pid", s->pod_dir);
    unlink(path);
    if (c) {
        int fl = fcntl(c->fd, F_GETFL);
        fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK); /* the last reply must get out */
        shim__conn_send(s, c, reply);
    } else {
        json_decref(reply);
    }
}

static void conn_dispatch(struct shim *s, struct shim_conn *c, const char *line, size_t n)
{
    json_error_t je;
    json_t *req = json_loadb(line, n, 0, &je), *reply = NULL;
    const char *op = json_string_value(json_object_get(req, "op"));

    if (!req || !json_is_object(req))
        reply = reply_err("request is not a JSON object: %s", req ? "wrong type" : je.text);
    else if (!op)
        reply = reply_err("%s", "op must be a string");
    else if (strcmp(op, "start") == 0)
        reply = shim__ctr_start(s, req);
    else if (strcmp(op, "signal") == 0)
        reply = op_signal(s, req);
    else if (strcmp(op, "status") == 0)
        reply = op_status(s);
    else if (strcmp(op, "subscribe") == 0) {
        /* The state rides on the reply, so a re-adopting client sees every exit exactly once:
         * in this snapshot or as a later event. */
        c->subscribed = 1;
        reply = op_status(s);
    } else if (strcmp(op, "exec") == 0) {
        shim__exec_start(s, c, req); /* replies when the command ends */
    } else if (strcmp(op, "attach") == 0 && !c->attach && !c->subscribed) {
        reply = shim__attach_op(s, c, req); /* binary frames follow an ok reply */
    } else if (strcmp(op, "stop") == 0) {
        reply = reply_ok();
        if (json_object_get(req, "id"))
            json_object_set(reply, "id", json_object_get(req, "id"));
        op_stop(s, c, reply);
        reply = NULL;
    } else
        reply = reply_err("unknown op %s", op);
    if (reply) {
        if (req && json_object_get(req, "id"))
            json_object_set(reply, "id", json_object_get(req, "id"));
        shim__conn_send(s, c, reply);
    }
    json_decref(req);
}

static void conn_on_read(struct shim *s, struct shim_conn *c)
{
    char *nl;
    size_t start = 0;
    ssize_t n;

    if (c->paused) { /* only a hang-up wakes a paused attach: the client is gone */
        c->dead = 1;
        return;
    }
    n = read(c->fd, c->in + c->in_len, SHIM_REQ_MAX - c->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        c->dead = 1;
        return;
    }
    c->in_len += (size_t)n;
    while (!s->stopping && !c->attach && (nl = memchr(c->in + start, '\n', c->in_len - start))) {
        conn_dispatch(s, c, c->in + start, (size_t)(nl - (c->in + start)));
        start = (size_t)(nl - c->in) + 1;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    if (c->attach && !s->stopping) /* frames, from the byte after the attach line */
        shim__attach_input(s, c);
    if (c->in_len == SHIM_REQ_MAX) {
        shim__conn_send(s, c, reply_err("%s", "request line too long"));
        c->dead = 1;
    }
}

static void listen_on_accept(struct shim *s)
{
    int fd;

    while ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        struct shim_conn *c = xcalloc(1, sizeof *c);
        c->fd = fd;
        c->in = xmalloc(SHIM_REQ_MAX);
        c->w = (struct shim_watch){W_CONN, c};
        c->next = s->conns;
        s->conns = c;
        shim__watch_add(s, fd, EPOLLIN, &c->w);
    }
}

/* ---- setup and loop ------------------------------------------------------------------------ */

static int listen_open(struct shim *s, struct err *err)
{
    struct sockaddr_un sa;
    int dirfd, rc = 0;

    if (shim__sockaddr(s->pod_dir, &sa, &dirfd) < 0)
        return err_set(err, -errno, "%s: %s", s->pod_dir, strerror(errno));
    unlink(sa.sun_path); /* a stale socket of a dead shim; a live one was ruled out earlier */
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(s->listen_fd, 64) < 0)
        rc = err_set(err, -errno, "shim.sock: %s", strerror(errno));
    if (dirfd >= 0)
        close(dirfd);
    chmod(sa.sun_path, 0600);
    return rc;
}

static int signals_open(struct shim *s, struct err *err)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sig_fd < 0)
        return err_set(err, -errno, "signalfd: %s", strerror(errno));
    return 0;
}

static void signal_on_read(struct shim *s)
{
    struct signalfd_siginfo si;

    while (read(s->sig_fd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            log_info("shim", "msg=\"stopping on signal\" signal=%u", si.ssi_signo);
            op_stop(s, NULL, reply_ok());
        }
    }
    shim__reap(s);
}

static void loop_dispatch(struct shim *s, struct shim_watch *w, uint32_t events)
{
    switch (w->kind) {
    case W_LISTEN:
        listen_on_accept(s);
        break;
    case W_SIGNAL:
        signal_on_read(s);
        break;
    case W_CONN: {
        struct shim_conn *c = w->obj;
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            conn_on_read(s, c);
        if (!c->dead && (events & EPOLLOUT))
            conn_flush(s, c);
        break;
    }
    case W_STREAM:
        shim__stream_on_read(s, w->obj);
        break;
    case W_EXEC_OUT:
        if (!((struct shim_exec *)w->obj)->done)
            shim__exec_on_read(s, w->obj);
        break;
    case W_PIDFD:
        shim__reap(s);
        break;
    case W_STDIN:
        shim__stdin_on_write(s, w->obj);
        break;
    }
}

static void loop_run(struct shim *s)
{
    struct epoll_event evs[32];

    while (!s->stopping) {
        int timeout = shim__exec_timeouts(s);
        int n = epoll_wait(s->ep, evs, 32, timeout);
        if (n < 0 && errno != EINTR) {
            log_error("shim", "msg=\"epoll_wait failed\" err=\"%s\"", strerror(errno));
            break;
        }
        /* Connections are freed only here, after the batch: events may still name them. */
        for (int i = 0; i < n && !s->stopping; i++)
            loop_dispatch(s, evs[i].data.ptr, evs[i].events);
        for (struct shim_conn *c = s->conns, *next; c; c = next) {
            next = c->next;
            if (c->dead)
                conn_free(s, c);
        }
        shim__exec_gc(s);
        if (s->pause_lost && !s->stopping) /* the pod's processes died with their namespace */
            op_stop(s, NULL, reply_ok());
    }
}

struct shim_args {
    const char *pod_dir, *pod_ip;
    int host_network, force_userns, ready_fd, share_pid;
    long log_max;
    char **argv;
    int argc;
};

static int args_parse(int argc, char **argv, struct shim_args *a, struct err *err)
{
    *a = (struct shim_args){
        .ready_fd = -1, .log_max = SHIM_LOG_MAX_DEFAULT, .argv = argv, .argc = argc};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (i == 1 && strcmp(k, "shim") == 0)
            continue; /* called with the whole `kroll shim ...` argv */
        if (strcmp(k, "--host-network") == 0) {
            a->host_network = 1;
            continue;
        }
        if (strcmp(k, "--userns") == 0) {
            a->force_userns = 1;
            continue;
        }
        if (strcmp(k, "--share-pid") == 0) {
            a->share_pid = 1;
            continue;
        }
        if (!v)
            return err_set(err, -E_BAD_REQUEST, "shim: %s needs a value", k);
        i++;
        if (strcmp(k, "--pod-dir") == 0) {
            a->pod_dir = v;
        } else if (strcmp(k, "--pod-ip") == 0) {
            a->pod_ip = v;
        } else if (strcmp(k, "--log-max-bytes") == 0) {
            a->log_max = strtol(v, &end, 10);
            if (*end || a->log_max < 0)
                return err_set(err, -E_BAD_REQUEST, "shim: bad --log-max-bytes %s", v);
        } else if (strcmp(k, "--ready-fd") == 0) {
            a->ready_fd = (int)strtol(v, &end, 10);
            if (*end || a->ready_fd < 0)
                return err_set(err, -E_BAD_REQUEST, "shim: bad --ready-fd %s", v);
        } else {
            return err_set(err, -E_BAD_REQUEST, "shim: unknown option %s", k);
        }
    }
    if (!a->pod_dir)
        return err_set(err, -E_BAD_REQUEST,
                       "usage: kroll shim --pod-dir DIR [--pod-ip IP] "
                       "[--host-network] [--share-pid] [--log-max-bytes N] [--ready-fd FD]");
    return 0;
}

static void ready_send(int fd, const char *msg)
{
    if (fd < 0)
        return;
    if (write(fd, msg, strlen(msg)) < 0)
        log_warn("shim", "msg=\"cannot report readiness\" err=\"%s\"", strerror(errno));
    close(fd);
}

static int shim_setup(struct shim *s, const struct shim_args *a, struct err *err)
{
    char buf[64], path[4096];
    int rc;

    if (shim_pid_alive(a->pod_dir) > 0)
        return err_set(err, -E_ALREADY_EXISTS, "a shim is already running for %s", a->pod_dir);
    if (mkdir(a->pod_dir, 0755) < 0 && errno != EEXIST)
        return err_set(err, -errno, "%s: %s", a->pod_dir, strerror(errno));
    s->pod_dir = realpath(a->pod_dir, NULL);
    if (!s->pod_dir)
        return err_set(err, -errno, "%s: %s", a->pod_dir, strerror(errno));
    s->pod_ip = a->pod_ip ? xstrdup(a->pod_ip) : NULL;
    s->host_network = a->host_network;
    s->log_max = a->log_max;
    clock_gettime(CLOCK_REALTIME, &s->started);
    if (!a->host_network) {
        rc = netns_enter(a->pod_ip, a->force_userns ? NETNS_FORCE_USERNS : 0, err);
        if (rc < 0)
            return rc;
        s->netns_mode = rc;
    }
    /* Orphans of the pod's processes come back to us instead of escaping to init. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->ep < 0)
        return err_set(err, -errno, "epoll: %s", strerror(errno));
    if ((rc = signals_open(s, err)) < 0 || (rc = listen_open(s, err)) < 0)
        return rc;
    if (a->share_pid && (rc = shim__pause_start(s, a->argv, a->argc, err)) < 0)
        return rc;
    s->lw = (struct shim_watch){W_LISTEN, s};
    s->sw = (struct shim_watch){W_SIGNAL, s};
    shim__watch_add(s, s->listen_fd, EPOLLIN, &s->lw);
    shim__watch_add(s, s->sig_fd, EPOLLIN, &s->sw);
    if ((rc = shim__state_write(s)) < 0)
        return err_set(err, rc, "state.json: %s", strerror(-rc));
    snprintf(buf, sizeof buf, "%d\n", (int)getpid());
    snprintf(path, sizeof path, "%s/shim.pid", s->pod_dir);
    if ((rc = file_write_atomic(path, buf, strlen(buf), 0644)) < 0)
        return err_set(err, rc, "shim.pid: %s", strerror(-rc));
    return 0;
}

static void shim_release(struct shim *s)
{
    for (struct shim_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        conn_free(s, c);
    }
    shim__exec_gc(s);
    for (size_t i = 0; i < s->nctrs; i++) {
        if (s->ctrs[i]->log_fd >= 0)
            close(s->ctrs[i]->log_fd);
        free(s->ctrs[i]->name);
        shim__runc_ctr_free(s->ctrs[i]);
        free(s->ctrs[i]);
    }
    free(s->ctrs);
    free(s->pod_dir);
    free(s->pod_ip);
}

int shim_main(int argc, char **argv)
{
    struct shim s = {.ep = -1, .listen_fd = -1, .sig_fd = -1, .pause_fd = -1};
    struct shim_args a;
    struct err err;
    char msg[1100];
    int rc;

    err_init(&err);
    if ((rc = args_parse(argc, argv, &a, &err)) < 0 || (rc = shim_setup(&s, &a, &err)) < 0) {
        log_error("shim", "msg=\"cannot start\" err=\"%s\"", err.msg);
        snprintf(msg, sizeof msg, "error %s\n", err.msg);
        ready_send(a.ready_fd, msg);
        err_release(&err);
        return 1;
    }
    snprintf(msg, sizeof msg, "ok %d\n", (int)getpid());
    ready_send(a.ready_fd, msg);
    log_info("shim", "msg=\"serving\" pod_dir=%s network=%d", s.pod_dir, s.netns_mode);
    loop_run(&s);
    if (!s.stopping) /* the loop failed: still leave nothing running behind */
        op_stop(&s, NULL, reply_ok());
    log_info("shim", "msg=\"stopped\" pod_dir=%s", s.pod_dir);
    shim_release(&s);
    err_release(&err);
    return 0;
}
