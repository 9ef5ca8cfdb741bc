/* pods/exec: `kubectl exec` (and cp, which is tar over exec) on a running container, through
 * `runc exec` in that container: the process joins the container's namespaces and cgroup, so it
 * dies with the container. The transport is WebSocket v5.channel.k8s.io (kubectl >= 1.30) or
 * SPDY/3.1 v4.channel.k8s.io (older kubectl, and the fallback of newer ones); stdio moves over
 * non-blocking pipes on the loop (a pty pair with -t), and the exit status travels as a Status on
 * the error channel, as the kubelet writes it. A client that goes away kills the process. */
#include "node/node-int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/query.h"
#include "node/rootfs.h"
#include "node/stream-int.h"

#define EXEC_MAX_ARGS 256         /* command words */
#define EXEC_STREAMS_MS 30000     /* SPDY: all expected streams within this (the kubelet's) */
#define EXEC_STDIN_MAX (1u << 20) /* stdin bytes buffered for the process: else stop reading */
#define EXEC_OUT_HIGH (4u << 20)  /* client backlog above which process output waits */
#define EXEC_DRAIN_MS 2000        /* after exit, longest wait for the pipes' EOF */
#define EXEC_POLL_MS 50
#define EXEC_SIZE_WAIT_MS 1000 /* tty: longest wait for the first resize before starting */

enum { CH_STDIN, CH_STDOUT, CH_STDERR, CH_ERROR, CH_RESIZE, CH_N };

struct xexec {
    struct kubelet *kl;
    struct xs *xs;
    enum xs_proto proto;
    char id[160];
    char *cmd[EXEC_MAX_ARGS + 1]; /* the command words (copies) */
    int ncmd;
    int want[CH_N];
    uint32_t sid[CH_N]; /* SPDY stream of each channel */
    int started, finished;
    int spawned;             /* the process was started (or failed to) */
    int size_wait;           /* tty: waiting (bounded) for the first size before spawning */
    struct winsize size;     /* tty: the client's last size */
    struct loop_timer timer; /* SPDY streams deadline, output back-pressure, drain deadline */
    pid_t pid;
    int pidfd;
    struct loop_io pid_io;
    int exit_status, exited;
    int fd_in, fd_out, fd_err; /* our ends; with a tty, fd_in and fd_out are the pty master */
    struct loop_io io_in, io_out, io_err;
    int out_paused;
    struct buf inbuf, resize;
    int in_close;
    char logpath[PATH_MAX], pidpath[PATH_MAX];
    char procpath[PATH_MAX], config[PATH_MAX]; /* tty: the process spec we write; the bundle's */
};

static void exec_free(struct xexec *e);

/* ---- answers ---- */

static void send_ch(struct xexec *e, int ch, const void *p, size_t n, int fin)
{
    if (!e->xs)
        return;
    if (e->proto == XS_WS) {
        xs_ws_send(e->xs, ch, p, n);
        if (fin && ch != CH_ERROR) {
            uint8_t c[2] = {255, (uint8_t)ch};

            xs_ws_send(e->xs, 255, c + 1, 1);
        }
    } else if (e->sid[ch]) {
        xs_spdy_data(e->xs, e->sid[ch], p, n, fin);
    }
}

/* runc's own error (its JSON log's last "error" entry), or "" when it reported none. */
static void runc_error(const char *logpath, char *out, size_t n)
{
    FILE *f = fopen(logpath, "re");
    char line[4096];

    out[0] = 0;
    while (f && fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *lv = jx_str(j, "level"), *msg = jx_str(j, "msg");

        if (lv && msg && (strcmp(lv, "error") == 0 || strcmp(lv, "fatal") == 0))
            snprintf(out, n, "%s", msg);
        json_decref(j);
    }
    if (f)
        fclose(f);
}

/* The Status the kubelet writes on the error channel, then the end of the session. */
static void finish(struct xexec *e)
{
    char msg[2048], rerr[1536], code[16];
    json_t *st;
    char *body;
    int rc =
        WIFEXITED(e->exit_status) ? WEXITSTATUS(e->exit_status) : 128 + WTERMSIG(e->exit_status);

    if (e->finished)
        return;
    e->finished = 1;
    loop_timer_stop(e->kl->loop, &e->timer);
    runc_error(e->logpath, rerr, sizeof rerr);
    if (rc == 0) {
        st = json_pack("{s:{},s:s}", "metadata", "status", "Success");
    } else if (rerr[0]) {
        snprintf(msg, sizeof msg,
                 "Internal error occurred: error executing command in "
                 "container: OCI runtime exec failed: %s: unknown",
                 rerr);
        st = json_pack("{s:{},s:s,s:s,s:s,s:i}", "metadata", "status", "Failure", "message", msg,
                       "reason", "InternalError", "code", 500);
    } else {
        snprintf(code, sizeof code, "%d", rc);
        snprintf(msg, sizeof msg,
                 "command terminated with non-zero exit code: error executing "
                 "command [%s], exit code %d",
                 e->cmd[0], rc);
        st = json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s,s:s}]}}", "metadata", "status", "Failure",
                       "message", msg, "reason", "NonZeroExitCode", "details", "causes", "reason",
                       "ExitCode", "message", code);
    }
    body = jx_dump(st);
    send_ch(e, CH_ERROR, body, strlen(body), 1);
    free(body);
    json_decref(st);
    if (e->xs)
        xs_end(e->xs);
}

/* Finishes once the process has exited and its output is drained (or the drain timed out). */
static void maybe_finish(struct xexec *e)
{
    if (e->exited && e->fd_out < 0 && e->fd_err < 0)
        finish(e);
}

/* ---- process I/O ---- */

static void close_io(struct xexec *e, int *fd, struct loop_io *io)
{
    if (*fd < 0)
        return;
    if (io->fn)
        loop_io_stop(e->kl->loop, io);
    io->fn = NULL;
    close(*fd);
    *fd = -1;
}

static void stdin_done(struct xexec *e)
{
    if (e->want[CH_RESIZE]) {
        /* A tty has no half-close: send the terminal's EOF character instead. */
        if (e->fd_in >= 0)
            (void)!write(e->fd_in, "\004", 1);
        return;
    }
    close_io(e, &e->fd_in, &e->io_in);
}

static void stdin_flush(struct xexec *e)
{
    while (e->fd_in >= 0 && e->inbuf.len) {
        ssize_t n = write(e->fd_in, e->inbuf.data, e->inbuf.len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) { /* the process closed its stdin: drop what it will never read */
            e->inbuf.len = 0;
            close_io(e, &e->fd_in, &e->io_in);
            break;
        }
        buf_consume(&e->inbuf, (size_t)n);
    }
    if (e->xs)
        xs_pause(e->xs, e->inbuf.len >= EXEC_STDIN_MAX);
    if (e->fd_in >= 0 && !e->want[CH_RESIZE])
        loop_io_modify(e->kl->loop, &e->io_in, e->inbuf.len ? EPOLLOUT : 0);
    if (!e->inbuf.len && e->in_close) {
        e->in_close = 0;
        stdin_done(e);
    }
}

static void on_stdin_io(struct loop_io *io, unsigned ev, void *ctx)
{
    stdin_flush(ctx);
}

static void stdin_data(struct xexec *e, const uint8_t *p, size_t n)
{
    if (!e->want[CH_STDIN] || (e->spawned && e->fd_in < 0))
        return;
    if (buf_append(&e->inbuf, p, n) < 0) {
        log_warn("node", "msg=\"exec stdin over its cap, dropped\" bytes=%zu", n);
        return;
    }
    if (e->spawned)
        stdin_flush(e);
    else if (e->xs)
        xs_pause(e->xs, e->inbuf.len >= EXEC_STDIN_MAX);
}

static void stdin_close(struct xexec *e)
{
    e->in_close = 1;
    if (e->spawned)
        stdin_flush(e);
}

static void spawn_now(struct xexec *e);

/* A resize message: {"Width":W,"Height":H} (one JSON object per message or line). */
static void resize_apply(struct xexec *e, const char *p, size_t n)
{
    json_t *j = json_loadb(p, n, JSON_DISABLE_EOF_CHECK, NULL);
    struct winsize ws = {0};

    if (!j)
        return;
    ws.ws_col = (unsigned short)json_integer_value(json_object_get(j, "Width"));
    ws.ws_row = (unsigned short)json_integer_value(json_object_get(j, "Height"));
    json_decref(j);
    if (!e->want[CH_RESIZE] || !ws.ws_col || !ws.ws_row)
        return;
    e->size = ws;
    if (e->fd_out >= 0)
        ioctl(e->fd_out, TIOCSWINSZ, &ws); /* runc gets SIGWINCH and passes it on */
    else if (e->size_wait && !e->spawned)
        spawn_now(e);
}

static void out_pause(struct xexec *e, int on)
{
    e->out_paused = on;
    if (e->fd_out >= 0 && e->io_out.fn)
        loop_io_modify(e->kl->loop, &e->io_out, on ? 0 : EPOLLIN);
    if (e->fd_err >= 0 && e->io_err.fn)
        loop_io_modify(e->kl->loop, &e->io_err, on ? 0 : EPOLLIN);
    if (on)
        loop_timer_start(e->kl->loop, &e->timer, EXEC_POLL_MS);
}

static void pipe_read(struct xexec *e, int ch)
{
    static char tmp[XS_CHUNK];
    int *fd = ch == CH_STDOUT ? &e->fd_out : &e->fd_err;
    struct loop_io *io = ch == CH_STDOUT ? &e->io_out : &e->io_err;

    for (int i = 0; i < 16 && *fd >= 0; i++) {
        ssize_t n = read(*fd, tmp, sizeof tmp);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* EOF (EIO for a pty whose last holder is gone) */
            close_io(e, fd, io);
            maybe_finish(e);
            return;
        }
        if (e->want[ch])
            send_ch(e, ch, tmp, (size_t)n, 0);
        if (e->xs && xs_backlog(e->xs) > EXEC_OUT_HIGH) {
            out_pause(e, 1);
            return;
        }
    }
}

static void on_out(struct loop_io *io, unsigned ev, void *ctx)
{
    pipe_read(ctx, CH_STDOUT);
}

static void on_err(struct loop_io *io, unsigned ev, void *ctx)
{
    pipe_read(ctx, CH_STDERR);
}

static void on_timer(struct loop_timer *t, void *ctx)
{
    struct xexec *e = ctx;

    if (!e->started) {
        log_warn("node", "msg=\"exec: the client did not open its streams in time\"");
        if (e->xs)
            xs_end(e->xs);
        return;
    }
    if (!e->spawned) { /* no size came: start with the default one */
        spawn_now(e);
        return;
    }
    if (e->exited) { /* something the process left behind holds its output open */
        close_io(e, &e->fd_out, &e->io_out);
        close_io(e, &e->fd_err, &e->io_err);
        finish(e);
        return;
    }
    if (e->out_paused) {
        if (e->xs && xs_backlog(e->xs) > EXEC_OUT_HIGH / 2)
            loop_timer_start(e->kl->loop, &e->timer, EXEC_POLL_MS);
        else
            out_pause(e, 0);
    }
}

static void on_proc_exit(struct loop_io *io, unsigned ev, void *ctx)
{
    struct xexec *e = ctx;
    int st;

    if (waitpid(e->pid, &st, WNOHANG) != e->pid)
        return;
    e->exited = 1;
    e->exit_status = st;
    e->pid = 0;
    loop_io_stop(e->kl->loop, &e->pid_io);
    close(e->pidfd);
    e->pidfd = -1;
    if (!e->xs) {
        exec_free(e);
        return;
    }
    if (e->fd_out >= 0 || e->fd_err >= 0)
        loop_timer_start(e->kl->loop, &e->timer, EXEC_DRAIN_MS);
    maybe_finish(e);
}

/* ---- the process ---- */

static int nonblock(int fd)
{
    return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The child: a session of its own (and the pty as its controlling terminal, so that a resize
 * of our side reaches runc as SIGWINCH), stdio from the pipes, then runc. */
static void child(char *const argv[], int in, int out, int err, int tty)
{
    sigset_t none;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setsid();
    if (tty)
        ioctl(in, TIOCSCTTY, 0);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    execv(argv[0], argv);
    _exit(127);
}

/* tty: the container's process (the bundle's config.json) with our command, a terminal and the
 * client's size as consoleSize, so that runc sizes the pty before the command starts (its own
 * resize from our pty comes only after the start: a shell's first `stty size` could see 0x0).
 * Written 0600 (the environment may hold Secret values). Returns 0 or a negative code. */
static int process_spec(struct xexec *e)
{
    json_t *cfg = json_load_file(e->config, 0, NULL), *proc, *args;
    int rc = -EIO;

    if (!cfg || !(proc = json_object_get(cfg, "process")) || !json_is_object(proc))
        goto out;
    args = json_array();
    for (int i = 0; i < e->ncmd; i++)
        json_array_append_new(args, json_string(e->cmd[i]));
    json_object_set_new(proc, "args", args);
    json_object_set_new(proc, "terminal", json_true());
    json_object_set_new(proc, "consoleSize",
                        json_pack("{s:i,s:i}", "height", e->size.ws_row, "width", e->size.ws_col));
    rc = json_dump_file(proc, e->procpath, JSON_COMPACT) == 0 ? 0 : -EIO;
    if (!rc)
        chmod(e->procpath, 0600);
out:
    json_decref(cfg);
    return rc;
}

/* Starts `runc exec` with our ends of its stdio on the loop. Returns 0 or -errno. */
static int spawn(struct xexec *e)
{
    char *argv[EXEC_MAX_ARGS + 16];
    int n = 0, p_in[2] = {-1, -1}, p_out[2] = {-1, -1}, p_err[2] = {-1, -1}, nul, tty;
    pid_t pid;

    tty = e->want[CH_RESIZE];
    argv[n++] = e->kl->runtime;
    argv[n++] = "--root", argv[n++] = e->kl->rt_root;
    argv[n++] = "--log", argv[n++] = e->logpath;
    argv[n++] = "--log-format", argv[n++] = "json";
    argv[n++] = "exec";
    argv[n++] = "--pid-file", argv[n++] = e->pidpath;
    if (tty && e->size.ws_col && process_spec(e) == 0) {
        argv[n++] = "--process", argv[n++] = e->procpath;
        argv[n++] = e->id;
    } else {
        if (tty)
            argv[n++] = "-t";
        argv[n++] = e->id;
        for (int i = 0; i < e->ncmd; i++)
            argv[n++] = e->cmd[i];
    }
    argv[n] = NULL;
    if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        return -errno;
    if (tty) {
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s;

        if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
            (s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
            int rc = -errno;

            if (m >= 0)
                close(m);
            close(nul);
            return rc;
        }
        if (e->size.ws_col)
            ioctl(m, TIOCSWINSZ, &e->size);
        p_out[0] = m, p_out[1] = s;
        p_in[1] = fcntl(m, F_DUPFD_CLOEXEC, 3), p_in[0] = s;
    } else if ((e->want[CH_STDIN] && pipe2(p_in, O_CLOEXEC) < 0) ||
               (e->want[CH_STDOUT] && pipe2(p_out, O_CLOEXEC) < 0) ||
               (e->want[CH_STDERR] && pipe2(p_err, O_CLOEXEC) < 0)) {
        int rc = -errno;

        for (int i = 0; i < 2; i++) {
            if (p_in[i] >= 0)
                close(p_in[i]);
            if (p_out[i] >= 0)
                close(p_out[i]);
        }
        close(nul);
        return rc;
    }
    pid = fork();
    if (pid == 0)
        child(argv, p_in[0] >= 0 ? p_in[0] : nul, p_out[1] >= 0 ? p_out[1] : nul,
              tty             ? p_out[1]
              : p_err[1] >= 0 ? p_err[1]
                              : nul,
              tty);
    close(nul);
    if (p_in[0] >= 0 && !tty)
        close(p_in[0]);
    if (p_out[1] >= 0)
        close(p_out[1]);
    if (p_err[1] >= 0)
        close(p_err[1]);
    e->fd_in = p_in[1], e->fd_out = p_out[0], e->fd_err = p_err[0];
    if (pid < 0) {
        int rc = -errno;

        close_io(e, &e->fd_in, &e->io_in);
        close_io(e, &e->fd_out, &e->io_out);
        close_io(e, &e->fd_err, &e->io_err);
        return rc;
    }
    e->pid = pid;
    e->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    loop_io_start(e->kl->loop, &e->pid_io, e->pidfd, EPOLLIN, on_proc_exit, e);
    if (e->fd_in >= 0) {
        nonblock(e->fd_in);
        loop_io_start(e->kl->loop, &e->io_in, e->fd_in, 0, on_stdin_io, e);
    }
    if (e->fd_out >= 0) {
        nonblock(e->fd_out);
        loop_io_start(e->kl->loop, &e->io_out, e->fd_out, EPOLLIN, on_out, e);
    }
    if (e->fd_err >= 0) {
        nonblock(e->fd_err);
        loop_io_start(e->kl->loop, &e->io_err, e->fd_err, EPOLLIN, on_err, e);
    }
    return 0;
}

static void spawn_now(struct xexec *e)
{
    int rc;

    if (e->spawned)
        return;
    e->spawned = 1;
    loop_timer_stop(e->kl->loop, &e->timer);
    if ((rc = spawn(e)) < 0) {
        e->exited = 1;
        e->exit_status = 255 << 8;
        log_error("node", "msg=\"exec: cannot start the runtime\" err=\"%s\"", strerror(-rc));
        finish(e);
        return;
    }
    stdin_flush(e);
}

/* Every expected stream is there: spawn, with a tty once its first size is known (the
 * terminal's size is set before the shell starts) or after EXEC_SIZE_WAIT_MS. */
static void start(struct xexec *e)
{
    if (e->started)
        return;
    e->started = 1;
    loop_timer_stop(e->kl->loop, &e->timer);
    if (e->proto == XS_WS) /* the servers' "ready" message: empty, on the first output channel */
        send_ch(e,
                e->want[CH_STDOUT]   ? CH_STDOUT
                : e->want[CH_STDERR] ? CH_STDERR
                                     : CH_ERROR,
                "", 0, 0);
    if (e->want[CH_RESIZE] && !e->size.ws_col) {
        e->size_wait = 1;
        loop_timer_start(e->kl->loop, &e->timer, EXEC_SIZE_WAIT_MS);
        return;
    }
    spawn_now(e);
}

static void exec_free(struct xexec *e)
{
    loop_timer_stop(e->kl->loop, &e->timer);
    close_io(e, &e->fd_in, &e->io_in);
    close_io(e, &e->fd_out, &e->io_out);
    close_io(e, &e->fd_err, &e->io_err);
    unlink(e->logpath);
    unlink(e->pidpath);
    unlink(e->procpath);
    for (int i = 0; i < e->ncmd; i++)
        free(e->cmd[i]);
    buf_release(&e->inbuf);
    buf_release(&e->resize);
    free(e);
}

/* The container process of a session whose client left (runc's pid file), then runc. */
static void kill_process(struct xexec *e)
{
    FILE *f = fopen(e->pidpath, "re");
    int cpid = 0;

    if (f && fscanf(f, "%d", &cpid) == 1 && cpid > 1)
        kill(cpid, SIGKILL);
    if (f)
        fclose(f);
    kill(e->pid, SIGKILL);
}

/* ---- the session ---- */

static void on_ws_msg(void *ctx, const uint8_t *p, size_t n)
{
    struct xexec *e = ctx;

    if (!n)
        return;
    switch (p[0]) {
    case CH_STDIN:
        stdin_data(e, p + 1, n - 1);
        break;
    case CH_RESIZE:
        resize_apply(e, (const char *)p + 1, n - 1);
        break;
    case 255: /* v5: close a channel; only stdin is the client's */
        if (n >= 2 && p[1] == CH_STDIN)
            stdin_close(e);
        break;
    default:
        break;
    }
}

static void on_syn(void *ctx, uint32_t id, const struct spdy_hdr *h, int nh)
{
    static const char *const names[CH_N] = {"stdin", "stdout", "stderr", "error", "resize"};
    struct xexec *e = ctx;
    int all = 1;

    for (int i = 0; i < nh; i++) {
        if (strcmp(h[i].name, "streamtype") != 0)
            continue;
        for (int ch = 0; ch < CH_N; ch++)
            if (strcmp(h[i].value, names[ch]) == 0 && !e->sid[ch])
                e->sid[ch] = id;
    }
    for (int ch = 0; ch < CH_N; ch++)
        if (e->want[ch] && !e->sid[ch])
            all = 0;
    if (all)
        start(e);
}

static void on_data(void *ctx, uint32_t id, const uint8_t *p, size_t n)
{
    struct xexec *e = ctx;

    if (id == e->sid[CH_STDIN] && e->want[CH_STDIN]) {
        stdin_data(e, p, n);
    } else if (id == e->sid[CH_RESIZE] && e->want[CH_RESIZE]) {
        /* A stream of JSON objects: apply each complete line or object. */
        if (buf_append(&e->resize, p, n) < 0)
            e->resize.len = 0;
        for (;;) {
            char *end = memchr(e->resize.data, '}', e->resize.len);

            if (!end)
                break;
            resize_apply(e, e->resize.data, (size_t)(end + 1 - e->resize.data));
            buf_consume(&e->resize, (size_t)(end + 1 - e->resize.data));
        }
    }
}

static void on_fin(void *ctx, uint32_t id, int reset)
{
    struct xexec *e = ctx;

    if (id && id == e->sid[CH_STDIN])
        stdin_close(e);
}

static void on_gone(void *ctx)
{
    struct xexec *e = ctx;

    e->xs = NULL;
    if (e->pid > 0 && !e->exited) {
        log_info("node", "msg=\"exec client gone, killing the process\" container=%s", e->id);
        kill_process(e); /* on_proc_exit frees */
        return;
    }
    exec_free(e);
}

static const struct xs_app exec_app = {on_ws_msg, on_syn, on_data, on_fin, on_gone};

/* The container named by the request (the first one when none), running on this node, or
 * NULL after answering as the kubelet does. */
static struct kcont *find_container(struct kubelet *kl, struct http_req *req, const json_t *pod)
{
    const char *name = http_req_query(req, "container"), *pname = jx_str(pod, "metadata.name");
    const char *uid = jx_str(pod, "metadata.uid");
    struct kpod *p = uid ? kubelet__find_uid(kl, uid) : NULL;
    const json_t *ctrs = jx_get(pod, "spec.containers");

    if (!name || !*name)
        name = jx_str(json_array_get(ctrs, 0), "name");
    if (!name) {
        http_respond_errf(req, -E_BAD_REQUEST, NULL, "pod %s has no containers",
                          pname ? pname : "");
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(ctrs); i++)
        if (jx_str(json_array_get(ctrs, i), "name") &&
            strcmp(jx_str(json_array_get(ctrs, i), "name"), name) == 0)
            goto known;
    http_respond_errf(req, -E_BAD_REQUEST, NULL, "container %s is not valid for pod %s", name,
                      pname ? pname : "");
    return NULL;
known:
    for (int i = 0; p && i < p->nc; i++)
        if (!p->c[i].init && strcmp(p->c[i].name, name) == 0 && p->c[i].st == KC_RUNNING &&
            !podfsm_terminating(p->state))
            return &p->c[i];
    http_respond_errf(req, -E_NOT_FOUND, NULL, "container not found (\"%s\")", name);
    return NULL;
}

void exec__serve(struct kubelet *kl, struct http_req *req, const json_t *pod, const char *sub)
{
    const char *cmd[EXEC_MAX_ARGS];
    struct xexec *e;
    struct kcont *c;
    char dir[PATH_MAX - 32];
    static unsigned seq;
    int n;

    if (strcmp(sub, "attach") == 0) {
        if ((c = find_container(kl, req, pod)))
            attach__serve(kl, req, pod, c);
        return;
    }
    if (!kl->runtime || !kl->rt_root) {
        http_respond_errf(req, -E_BAD_REQUEST, NULL,
                          "exec needs an OCI runtime: this node runs pods as host "
                          "processes (--runtime=process)");
        return;
    }
    if ((n = http_req_query_all(req, "command", cmd, EXEC_MAX_ARGS)) < 0) {
        http_respond_errf(req, -E_BAD_REQUEST, NULL, "more than %d command words", EXEC_MAX_ARGS);
        return;
    }
    if (n == 0 || !*cmd[0]) {
        http_respond_errf(req, -E_BAD_REQUEST, NULL, "you must specify at least 1 command");
        return;
    }
    if (!(c = find_container(kl, req, pod)))
        return;
    e = xcalloc(1, sizeof *e);
    e->kl = kl;
    e->fd_in = e->fd_out = e->fd_err = e->pidfd = -1;
    for (int i = 0; i < n; i++)
        e->cmd[i] = xstrdup(cmd[i]);
    e->ncmd = n;
    rootfs_container_id(c->p->uid, c->name, e->id, sizeof e->id);
    e->want[CH_STDIN] = http_query_bool(req, "stdin");
    e->want[CH_STDOUT] = http_query_bool(req, "stdout");
    e->want[CH_RESIZE] = http_query_bool(req, "tty");
    e->want[CH_STDERR] = http_query_bool(req, "stderr") && !e->want[CH_RESIZE];
    e->want[CH_ERROR] = 1;
    buf_init(&e->inbuf, EXEC_STDIN_MAX + XS_MAX_MSG);
    buf_init(&e->resize, 4096);
    snprintf(dir, sizeof dir, "%.*s/exec", (int)sizeof dir - 8, c->p->dir);
    mkdir(dir, 0700);
    seq++;
    snprintf(e->logpath, sizeof e->logpath, "%s/%u.log", dir, seq);
    snprintf(e->pidpath, sizeof e->pidpath, "%s/%u.pid", dir, seq);
    snprintf(e->procpath, sizeof e->procpath, "%s/%u.process.json", dir, seq);
    snprintf(e->config, sizeof e->config, "%.*s/ctr/%s/config.json", PATH_MAX - 300, c->p->dir,
             c->name);
    loop_timer_init(&e->timer, on_timer, e);
    if (!(e->xs = xs_accept(req, kl->loop, sub, &exec_app, e))) {
        exec_free(e);
        return;
    }
    e->proto = e->xs->proto;
    if (e->proto == XS_WS)
        start(e);
    else
        loop_timer_start(kl->loop, &e->timer, EXEC_STREAMS_MS);
}

void exec__hook(struct http_req *req, const json_t *pod, const char *sub, void *ctx)
{
    struct kubelet *kl = ctx;

    if (strcmp(sub, "portforward") == 0)
        portfwd__serve(kl, req, pod);
    else
        exec__serve(kl, req, pod, sub);
}
