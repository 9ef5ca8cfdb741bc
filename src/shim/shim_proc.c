/* The shim's processes: containers (one process group each, stdout/stderr to a CRI-format log
 * with rotation), exec calls (for probes and hooks, with a timeout and capped output), and
 * reaping. Guarantees: exec errors are reported with errno through a close-on-exec pipe; when a
 * container's main process ends, the rest of its process group is killed, as when a container's
 * PID 1 exits; every exit is written to state.json before it is announced. */
#include "shim/shim-int.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

char **shim__strv(const json_t *a, const char *field, int required, char *msg, size_t n)
{
    char **v;
    size_t i, len;

    if (!a && !required)
        return xcalloc(1, sizeof(char *));
    if (!json_is_array(a) || (required && json_array_size(a) == 0)) {
        snprintf(msg, n, "%s must be a %sarray of strings", field, required ? "non-empty " : "");
        return NULL;
    }
    len = json_array_size(a);
    v = xcalloc(len + 1, sizeof(char *));
    for (i = 0; i < len; i++) {
        const char *str = json_string_value(json_array_get(a, i));
        if (!str) {
            snprintf(msg, n, "%s[%zu] must be a string", field, i);
            shim__strv_free(v);
            return NULL;
        }
        v[i] = xstrdup(str);
    }
    return v;
}

void shim__strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

struct shim_ctr *shim__ctr_find(struct shim *s, const char *name)
{
    for (size_t i = 0; i < s->nctrs; i++)
        if (strcmp(s->ctrs[i]->name, name) == 0)
            return s->ctrs[i];
    return NULL;
}

/* ---- logs ---------------------------------------------------------------------------------- */

static void log_path(struct shim *s, struct shim_ctr *c, const char *file, char *out, size_t n)
{
    snprintf(out, n, "%s/logs/%s/%s", s->pod_dir, c->name, file);
}

static int log_open(struct shim *s, struct shim_ctr *c)
{
    char path[PATH_MAX];
    struct stat sb;

    log_path(s, c, "current.log", path, sizeof path);
    c->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (c->log_fd < 0)
        return -errno;
    c->log_size = fstat(c->log_fd, &sb) == 0 ? (long)sb.st_size : 0;
    return 0;
}

/* Size cap: current.log moves to current.log.1 (one older segment is kept) and a new file
 * starts; readers that want everything read current.log.1 then current.log. */
static void log_rotate(struct shim *s, struct shim_ctr *c)
{
    char cur[PATH_MAX], old[PATH_MAX];

    log_path(s, c, "current.log", cur, sizeof cur);
    log_path(s, c, "current.log.1", old, sizeof old);
    close(c->log_fd);
    if (rename(cur, old) < 0)
        log_warn("shim", "msg=\"log rotate failed\" err=\"%s\"", strerror(errno));
    if (log_open(s, c) < 0)
        log_error("shim", "msg=\"cannot reopen log\" path=%s err=\"%s\"", cur, strerror(errno));
}

static void log_record(struct shim *s, struct shim_stream *st, const char *p, size_t n, int full)
{
    struct shim_ctr *c = st->c;
    struct timespec now;
    char hdr[64];
    struct iovec iov[3];
    ssize_t w;

    if (c->log_fd < 0)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    shim__time_fmt(&now, hdr);
    snprintf(hdr + strlen(hdr), sizeof hdr - strlen(hdr), " %s %c ", st->name, full ? 'F' : 'P');
    iov[0] = (struct iovec){hdr, strlen(hdr)};
    iov[1] = (struct iovec){(void *)p, n};
    iov[2] = (struct iovec){"\n", 1};
    w = writev(c->log_fd, iov, 3);
    if (w > 0)
        c->log_size += w;
    if (s->log_max > 0 && c->log_size >= s->log_max)
        log_rotate(s, c);
}

/* Splits what is buffered into lines; a line longer than the buffer becomes "P" records. */
static void stream_flush_lines(struct shim *s, struct shim_stream *st, int eof)
{
    size_t start = 0;
    char *nl;

    while ((nl = memchr(st->buf + start, '\n', st->len - start))) {
        log_record(s, st, st->buf + start, (size_t)(nl - (st->buf + start)), 1);
        start = (size_t)(nl - st->buf) + 1;
    }
    if (start == 0 && st->len == sizeof st->buf) {
        log_record(s, st, st->buf, st->len, 0);
        start = st->len;
    }
    if (eof && start < st->len) {
        log_record(s, st, st->buf + start, st->len - start, 1);
        start = st->len;
    }
    memmove(st->buf, st->buf + start, st->len - start);
    st->len -= start;
}

static void stream_close(struct shim *s, struct shim_stream *st)
{
    if (st->fd < 0)
        return;
    stream_flush_lines(s, st, 1);
    shim__watch_del(s, st->fd);
    close(st->fd);
    st->fd = -1;
}

void shim__stream_on_read(struct shim *s, struct shim_stream *st)
{
    for (;;) {
        ssize_t n = read(st->fd, st->buf + st->len, sizeof st->buf - st->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* EOF; EIO for a pty whose last holder is gone */
            stream_close(s, st);
            return;
        }
        shim__attach_output(s, st->c, st->name[3] == 'e' ? 'e' : 'o', st->buf + st->len, (size_t)n);
        st->len += (size_t)n;
        stream_flush_lines(s, st, 0);
        if (st->c->out_paused) /* an attach is behind: the container waits for it */
            return;
    }
}

/* ---- spawning ------------------------------------------------------------------------------ */

struct spawn_err {
    int stage; /* 1 chdir, 2 exec, 3 mounts */
    int err;
    int mount_idx;
};

/* The volume mounts of the container being started (set around spawn() by the start request;
 * the shim is single-threaded). Array of {"source","target","readOnly"}. */
static const json_t *spawn_mounts;

static void mkdir_parents(char *path)
{
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(path, 0755);
            *p = '/';
        }
}

/* In the child, before exec: a private mount namespace where each volume source is bind-mounted
 * onto its target (created when missing). Needs CAP_SYS_ADMIN over the shim's user namespace:
 * root, or the unprivileged userns shim (uid 0 inside). Returns -1 with *idx at the failing
 * mount and errno set. */
static int child_mounts(int *idx)
{
    const json_t *m;
    size_t i;

    if (json_array_size(spawn_mounts) == 0)
        return 0;
    *idx = -1;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -1;
    json_array_foreach(spawn_mounts, i, m)
    {
        const char *src = json_string_value(json_object_get(m, "source"));
        const char *dst = json_string_value(json_object_get(m, "target"));
        char path[PATH_MAX];
        struct stat st;

        *idx = (int)i;
        if (!src || !dst || dst[0] != '/') {
            errno = EINVAL;
            return -1;
        }
        snprintf(path, sizeof path, "%s", dst);
        mkdir_parents(path);
        if (stat(src, &st) == 0 && !S_ISDIR(st.st_mode)) {
            int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

            if (fd >= 0)
                close(fd);
        } else {
            mkdir(path, 0755);
        }
        if (mount(src, path, NULL, MS_BIND | MS_REC, NULL) < 0)
            return -1;
        if (json_is_true(json_object_get(m, "readOnly")) &&
            mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
            return -1;
    }
    return 0;
}

static void child_fail(int fd, int stage, int e)
{
    struct spawn_err se = {stage, e, 0};

    if (write(fd, &se, sizeof se) < 0)
        _exit(126);
    _exit(127);
}

/* Looks argv[0] up in the container's PATH, as a container runtime does, and execs it. */
static void child_exec(char **argv, char **env, int errfd)
{
    const char *path = DEFAULT_PATH;
    char buf[PATH_MAX];
    int saved = ENOENT;

    if (strchr(argv[0], '/')) {
        execve(argv[0], argv, env);
        child_fail(errfd, 2, errno);
    }
    for (char **e = env; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    while (*path) {
        const char *end = strchrnul(path, ':');
        int len = (int)(end - path);
        snprintf(buf, sizeof buf, "%.*s%s%s", len, path, len ? "/" : "", argv[0]);
        execve(buf, argv, env);
        if (errno != ENOENT && errno != ENOTDIR)
            saved = errno;
        path = *end ? end + 1 : end;
    }
    child_fail(errfd, 2, saved);
}

/* Runs in the forked child: own process group, default signals, fds wired, then exec. */
static void child_run(char **argv, char **env, const char *cwd, int in, int out, int errout,
                      int tty, int errfd, pid_t shim)
{
    sigset_t all;
    int nullfd;

    if (tty) /* a session (and process group) of its own, the pty its controlling terminal */
        setsid();
    else
        setpgid(0, 0);
    /* If the shim itself is killed, the pod's main processes go with it rather than run on
     * unsupervised; the kubelet then reports the containers as lost (state.json still says
     * running while the shim is gone). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != shim)
        _exit(127);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    nullfd = in >= 0 ? in : open("/dev/null", O_RDONLY);
    if (nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(out, 1) < 0 || dup2(errout, 2) < 0)
        child_fail(errfd, 2, errno);
    if (tty && ioctl(0, TIOCSCTTY, 0) < 0)
        child_fail(errfd, 2, errno);
    {
        int idx = -1;

        if (child_mounts(&idx) < 0) {
            struct spawn_err se = {3, errno, idx};

            if (write(errfd, &se, sizeof se) < 0)
                _exit(126);
            _exit(127);
        }
    }
    if (cwd && chdir(cwd) < 0)
        child_fail(errfd, 1, errno);
    child_exec(argv, env, errfd);
}

pid_t shim__spawn(char **argv, char **env, const char *cwd, int in, int out, int errout, int tty,
                  char *msg, size_t n)
{
    int ep[2];
    struct spawn_err se;
    ssize_t r;
    pid_t pid, self = getpid();

    if (pipe2(ep, O_CLOEXEC) < 0) {
        snprintf(msg, n, "pipe: %s", strerror(errno));
        return -errno;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(msg, n, "fork: %s", strerror(errno));
        close(ep[0]);
        close(ep[1]);
        return -EAGAIN;
    }
    if (pid == 0)
        child_run(argv, env, cwd, in, out, errout, tty, ep[1], self);
    if (!tty)
        setpgid(pid, pid); /* also from the parent, so a signal right after this never misses */
    close(ep[1]);
    do
        r = read(ep[0], &se, sizeof se);
    while (r < 0 && errno == EINTR);
    close(ep[0]);
    if (r != sizeof se)
        return pid; /* EOF: exec succeeded */
    waitpid(pid, NULL, 0);
    if (se.stage == 3 && se.mount_idx < 0)
        snprintf(msg, n,
                 "failed to create the container's mount namespace: %s (volume mounts "
                 "need root or a user-namespace shim)",
                 strerror(se.err));
    else if (se.stage == 3)
        snprintf(msg, n, "failed to mount volume at \"%s\": %s",
                 json_string_value(
                     json_object_get(json_array_get(spawn_mounts, (size_t)se.mount_idx), "target"))
                     ?: "?",
                 strerror(se.err));
    else if (se.stage == 1)
        snprintf(msg, n, "failed to chdir to \"%s\": %s", cwd, strerror(se.err));
    else if (se.err == ENOENT && !strchr(argv[0], '/'))
        snprintf(msg, n, "exec: \"%s\": executable file not found in $PATH", argv[0]);
    else
        snprintf(msg, n, "exec: \"%s\": %s", argv[0], strerror(se.err));
    return -se.err;
}

/* ---- containers ---------------------------------------------------------------------------- */

static json_t *reply_error(const char *reason, const char *fmt, const char *text, int errnum)
{
    json_t *r = json_object();

    json_object_set_new(r, "ok", json_false());
    json_object_set_new(r, "error", json_sprintf(fmt, text));
    if (reason)
        json_object_set_new(r, "reason", json_string(reason));
    if (errnum)
        json_object_set_new(r, "errno", json_integer(errnum));
    return r;
}

static int name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 253 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    return strchr(name, '/') == NULL;
}

static struct shim_ctr *ctr_get(struct shim *s, const char *name)
{
    struct shim_ctr *c = shim__ctr_find(s, name);
    char path[PATH_MAX];

    if (c)
        return c;
    c = xcalloc(1, sizeof *c);
    c->name = xstrdup(name);
    c->log_fd = c->pidfd = c->out.fd = c->err.fd = c->pty.fd = c->in_fd = -1;
    s->ctrs = xrealloc(s->ctrs, (s->nctrs + 1) * sizeof *s->ctrs);
    s->ctrs[s->nctrs++] = c;
    snprintf(path, sizeof path, "%s/logs", s->pod_dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/logs/%s", s->pod_dir, name);
    mkdir(path, 0755);
    return c;
}

/* A new instance of a container: the old log becomes previous.log, the old exit lastState. */
static void ctr_reset(struct shim *s, struct shim_ctr *c)
{
    char cur[PATH_MAX], prev[PATH_MAX], seg[PATH_MAX];

    stream_close(s, &c->out);
    stream_close(s, &c->err);
    stream_close(s, &c->pty);
    shim__stdio_close(s, c);
    if (c->log_fd >= 0) {
        close(c->log_fd);
        c->log_fd = -1;
        log_path(s, c, "current.log", cur, sizeof cur);
        log_path(s, c, "previous.log", prev, sizeof prev);
        log_path(s, c, "current.log.1", seg, sizeof seg);
        rename(cur, prev);
        unlink(seg);
        c->restart_count++;
    }
    if (c->term.valid)
        c->last = c->term;
    memset(&c->term, 0, sizeof c->term);
}

static void stream_init(struct shim *s, struct shim_stream *st, struct shim_ctr *c, int fd,
                        const char *name)
{
    st->fd = fd;
    st->c = c;
    st->name = name;
    st->len = 0;
    st->w = (struct shim_watch){W_STREAM, st};
    shim__watch_add(s, fd, EPOLLIN, &st->w);
}

static void ctr_start_failed(struct shim *s, struct shim_ctr *c, const char *msg)
{
    clock_gettime(CLOCK_REALTIME, &c->term.finished);
    c->term.valid = 1;
    c->term.exit_code = 128;
    snprintf(c->term.reason, sizeof c->term.reason, "StartError");
    snprintf(c->term.message, sizeof c->term.message, "%s", msg);
    shim__state_write(s);
}

static json_t *ctr_launch(struct shim *s, struct shim_ctr *c, char **argv, char **env,
                          const char *cwd)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, in = -1, pty = -1;
    char msg[512];
    pid_t pid;

    if (log_open(s, c) < 0)
        return reply_error("StartError", "cannot open log: %s", strerror(errno), errno);
    if (shim__stdio_open(s, c, &in, msg, sizeof msg) < 0)
        return reply_error("StartError", "%s", msg, EIO);
    if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(errp, O_CLOEXEC | O_NONBLOCK) < 0) {
        int e = errno;
        if (out[0] >= 0) {
            close(out[0]);
            close(out[1]);
        }
        if (in >= 0)
            close(in);
        return reply_error("StartError", "pipe: %s", strerror(e), e);
    }
    clock_gettime(CLOCK_REALTIME, &c->started);
    if (c->bundle) {
        pid = shim__runc_run(s, c, in, out[1], errp[1], msg, sizeof msg);
    } else if (c->tty) { /* in is the pty slave: the process's whole stdio */
        pid = shim__spawn(argv, env, cwd ? cwd : s->pod_dir, in, in, in, 1, msg, sizeof msg);
    } else {
        pid =
            shim__spawn(argv, env, cwd ? cwd : s->pod_dir, in, out[1], errp[1], 0, msg, sizeof msg);
    }
    /* The terminal (ours, or runc's console) is read as the container's stdout. */
    if (c->tty && pid > 0 && c->in_fd >= 0)
        pty = fcntl(c->in_fd, F_DUPFD_CLOEXEC, 3);
    close(out[1]);
    close(errp[1]);
    stream_init(s, &c->out, c, out[0], "stdout");
    stream_init(s, &c->err, c, errp[0], "stderr");
    shim__stdio_started(s, c, in);
    if (pty >= 0)
        stream_init(s, &c->pty, c, pty, "stdout");
    if (pid < 0) {
        c->term.started = c->started;
        ctr_start_failed(s, c, msg);
        return reply_error("StartError", "%s", msg, -pid);
    }
    c->pid = pid;
    c->running = 1;
    c->pidfd = pidfd_open_(pid);
    c->pw = (struct shim_watch){W_PIDFD, c};
    if (c->pidfd >= 0)
        shim__watch_add(s, c->pidfd, EPOLLIN, &c->pw);
    shim__state_write(s);
    log_info("shim", "msg=\"container started\" container=%s pid=%d", c->name, (int)pid);
    return json_pack("{s:b, s:i, s:I}", "ok", 1, "pid", (json_int_t)pid, "started",
                     (json_int_t)c->started.tv_sec);
}

json_t *shim__ctr_start(struct shim *s, const json_t *req)
{
    const char *name = json_string_value(json_object_get(req, "name"));
    const json_t *cwdj = json_object_get(req, "cwd");
    char msg[256];
    char **argv = NULL, **env = NULL;
    struct shim_ctr *c;
    json_t *reply;

    if (!name || !name_valid(name))
        return reply_error(NULL, "%s", "name must be a non-empty string without '/'", 0);
    if (cwdj && !json_is_null(cwdj) && !json_is_string(cwdj))
        return reply_error(NULL, "%s", "cwd must be a string", 0);
    if (!(argv = shim__strv(json_object_get(req, "argv"), "argv", 1, msg, sizeof msg)) ||
        !(env = shim__strv(json_object_get(req, "env"), "env", 0, msg, sizeof msg))) {
        reply = reply_error(NULL, "%s", msg, 0);
        goto out;
    }
    c = shim__ctr_find(s, name);
    if (c && c->running) {
        reply = reply_error(NULL, "container %s is already running", name, 0);
        goto out;
    }
    c = ctr_get(s, name);
    if (json_object_get(req, "bundle")) {
        const char *bad = shim__runc_config(c, req);

        if (bad) {
            reply = reply_error(NULL, "%s", bad, 0);
            goto out;
        }
    } else {
        shim__runc_ctr_free(c);
    }
    ctr_reset(s, c);
    shim__stdio_config(c, req);
    /* A runtime container's mounts are in its config.json; the runtime itself gets none. */
    spawn_mounts = c->bundle ? NULL : json_object_get(req, "mounts");
    reply = ctr_launch(s, c, argv, env, json_string_value(cwdj));
    spawn_mounts = NULL;
out:
    shim__strv_free(argv);
    shim__strv_free(env);
    return reply;
}

static void ctr_on_exit(struct shim *s, struct shim_ctr *c, int status)
{
    json_t *ev;

    /* The container ends with its main process: nothing of it may linger. */
    if (!c->bundle)
        kill(-c->pid, SIGKILL);
    c->running = 0;
    c->term.valid = 1;
    c->term.started = c->started;
    clock_gettime(CLOCK_REALTIME, &c->term.finished);
    if (WIFSIGNALED(status)) {
        c->term.signal = WTERMSIG(status);
        c->term.exit_code = 128 + c->term.signal;
    } else {
        c->term.exit_code = WEXITSTATUS(status);
    }
    snprintf(c->term.reason, sizeof c->term.reason, "%s",
             c->term.exit_code == 0 ? "Completed" : "Error");
    if (c->bundle)
        shim__runc_ended(s, c, &c->term);
    if (c->pidfd >= 0) {
        shim__watch_del(s, c->pidfd);
        close(c->pidfd);
        c->pidfd = -1;
    }
    log_info("shim", "msg=\"container exited\" container=%s pid=%d exit=%d signal=%d", c->name,
             (int)c->pid, c->term.exit_code, c->term.signal);
    c->pid = 0;
    shim__state_write(s);
    /* Attached clients get what is already in the pipes, then the end. */
    shim__attach_streams(s, c, 0);
    if (c->out.fd >= 0)
        shim__stream_on_read(s, &c->out);
    if (c->err.fd >= 0)
        shim__stream_on_read(s, &c->err);
    if (c->pty.fd >= 0)
        shim__stream_on_read(s, &c->pty);
    shim__stdio_close(s, c);
    shim__attach_ended(s, c);
    ev = json_pack("{s:s, s:s, s:i, s:i, s:i, s:s}", "event", "exit", "container", c->name,
                   "exitCode", (json_int_t)c->term.exit_code, "signal", (json_int_t)c->term.signal,
                   "restartCount", (json_int_t)c->restart_count, "reason", c->term.reason);
    shim__event_send(s, ev);
}

/* ---- exec ---------------------------------------------------------------------------------- */

static void exec_close(struct shim *s, struct shim_exec *x)
{
    x->done = 1;
    if (x->out_fd >= 0) {
        shim__watch_del(s, x->out_fd);
        close(x->out_fd);
        x->out_fd = -1;
    }
    if (x->pidfd >= 0) {
        shim__watch_del(s, x->pidfd);
        close(x->pidfd);
        x->pidfd = -1;
    }
}

void shim__exec_gc(struct shim *s)
{
    struct shim_exec **pp = &s->execs, *x;

    while ((x = *pp)) {
        if (!x->done) {
            pp = &x->next;
            continue;
        }
        *pp = x->next;
        json_decref(x->id);
        if (x->pid_file)
            unlink(x->pid_file);
        free(x->pid_file);
        free(x->output);
        free(x);
    }
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when the bytes there are not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        len = 2;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        len = 3;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    /* Exclude overlong forms, surrogates and code points past U+10FFFF. */
    if (p[0] == 0xE0)
        lo = 0xA0;
    else if (p[0] == 0xED)
        hi = 0x9F;
    else if (p[0] == 0xF0)
        lo = 0x90;
    else if (p[0] == 0xF4)
        hi = 0x8F;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

/* Command output is arbitrary bytes, but a JSON string must be UTF-8: each invalid byte becomes
 * U+FFFD. Returns a new JSON string. */
json_t *shim__json_bytes(const char *s, size_t n)
{
    char *buf = xmalloc(n * 3 + 1);
    size_t o = 0;
    json_t *j;

    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq((const unsigned char *)s + i, n - i);
        if (len == 0) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(buf + o, s + i, len);
        o += len;
        i += len;
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

static void exec_finish(struct shim *s, struct shim_exec *x)
{
    json_t *r;

    shim__exec_on_read(s, x); /* whatever is already in the pipe belongs to the output */
    if (x->conn) {
        r = json_object();
        json_object_set_new(r, "ok", json_true());
        if (x->id)
            json_object_set(r, "id", x->id);
        json_object_set_new(r, "exitCode",
                            json_integer(WIFEXITED(x->status) ? WEXITSTATUS(x->status) : -1));
        json_object_set_new(r, "signal",
                            json_integer(WIFSIGNALED(x->status) ? WTERMSIG(x->status) : 0));
        json_object_set_new(r, "timedOut", json_boolean(x->timed_out));
        json_object_set_new(r, "truncated", json_boolean(x->truncated));
        json_object_set_new(r, "output", shim__json_bytes(x->output, x->out_len));
        shim__conn_send(s, x->conn, r);
    }
    exec_close(s, x);
}

void shim__exec_on_read(struct shim *s, struct shim_exec *x)
{
    char buf[4096];

    while (x->out_fd >= 0) {
        ssize_t n = read(x->out_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            shim__watch_del(s, x->out_fd);
            close(x->out_fd);
            x->out_fd = -1;
            return;
        }
        size_t room = SHIM_EXEC_OUTPUT_MAX - x->out_len;
        if ((size_t)n > room)
            x->truncated = 1;
        memcpy(x->output + x->out_len, buf, (size_t)n < room ? (size_t)n : room);
        x->out_len += (size_t)n < room ? (size_t)n : room;
    }
}

static int exec_args(const json_t *req, char ***argv, char ***env, int *timeout, char *msg,
                     size_t n)
{
    const json_t *t = json_object_get(req, "timeoutMs");
    const json_t *cwd = json_object_get(req, "cwd");

    if (t && (!json_is_integer(t) || json_integer_value(t) <= 0 ||
              json_integer_value(t) > 24 * 3600 * 1000)) {
        snprintf(msg, n, "timeoutMs must be a positive integer (milliseconds, at most a day)");
        return -1;
    }
    if (cwd && !json_is_null(cwd) && !json_is_string(cwd)) {
        snprintf(msg, n, "cwd must be a string");
        return -1;
    }
    *timeout = t ? (int)json_integer_value(t) : 1000;
    if (!(*argv = shim__strv(json_object_get(req, "argv"), "argv", 1, msg, n)))
        return -1;
    if (!(*env = shim__strv(json_object_get(req, "env"), "env", 0, msg, n))) {
        shim__strv_free(*argv);
        return -1;
    }
    return 0;
}

void shim__exec_start(struct shim *s, struct shim_conn *c, const json_t *req)
{
    char **argv = NULL, **env = NULL, msg[512];
    const char *cwd = json_string_value(json_object_get(req, "cwd"));
    const char *cname = json_string_value(json_object_get(req, "container"));
    struct shim_ctr *rc_ctr = NULL;
    char *pid_file = NULL;
    int timeout, p[2];
    struct shim_exec *x;
    pid_t pid;
    json_t *r;

    if (exec_args(req, &argv, &env, &timeout, msg, sizeof msg) < 0)
        goto fail;
    if (cname && (rc_ctr = shim__ctr_find(s, cname)) && !rc_ctr->bundle)
        rc_ctr = NULL;
    if (rc_ctr && !rc_ctr->running) {
        snprintf(msg, sizeof msg, "container %s is not running", cname);
        goto fail;
    }
    if (!env[0]) { /* no env given: the shim's own (PATH and friends) */
        shim__strv_free(env);
        env = NULL;
    }
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
        snprintf(msg, sizeof msg, "pipe: %s", strerror(errno));
        goto fail;
    }
    if (rc_ctr) { /* inside the container: its env, cwd, user and capabilities */
        char **rargv = shim__runc_exec_argv(rc_ctr, argv, &pid_file);

        pid = shim__spawn(rargv, environ, rc_ctr->bundle, -1, p[1], p[1], 0, msg, sizeof msg);
        shim__strv_free(rargv);
    } else {
        pid = shim__spawn(argv, env ? env : environ, cwd ? cwd : s->pod_dir, -1, p[1], p[1], 0, msg,
                          sizeof msg);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        goto fail;
    }
    x = xcalloc(1, sizeof *x);
    x->pid_file = pid_file;
    pid_file = NULL;
    x->pid = pid;
    x->out_fd = p[0];
    x->output = xmalloc(SHIM_EXEC_OUTPUT_MAX);
    x->conn = c;
    x->id = json_incref(json_object_get(req, "id"));
    x->deadline_ms = now_ms() + timeout;
    x->w = (struct shim_watch){W_EXEC_OUT, x};
    x->pw = (struct shim_watch){W_PIDFD, NULL};
    shim__watch_add(s, x->out_fd, EPOLLIN, &x->w);
    x->pidfd = pidfd_open_(pid);
    if (x->pidfd >= 0)
        shim__watch_add(s, x->pidfd, EPOLLIN, &x->pw);
    x->next = s->execs;
    s->execs = x;
    goto out;
fail:
    r = reply_error("ExecError", "%s", msg, 0);
    if (json_object_get(req, "id"))
        json_object_set(r, "id", json_object_get(req, "id"));
    shim__conn_send(s, c, r);
out:
    free(pid_file);
    shim__strv_free(argv);
    if (env != environ)
        shim__strv_free(env);
}

int shim__exec_timeouts(struct shim *s)
{
    int64_t now = now_ms(), next = -1;

    for (struct shim_exec *x = s->execs; x; x = x->next) {
        if (x->exited || x->done)
            continue;
        if (x->deadline_ms <= now && x->timed_out < 2) {
            /* `runc exec`: kill its process in the container, and runc (which then cleans up
             * its state mounts) ends by itself; runc itself only if it does not within
             * SHIM_RUNC_EXEC_GRACE_MS or has no process yet. */
            if (!x->timed_out && x->pid_file && shim__runc_exec_kill(x->pid_file) == 0) {
                x->timed_out = 1;
                x->deadline_ms = now + SHIM_RUNC_EXEC_GRACE_MS;
            } else {
                x->timed_out = 2;
                kill(-x->pid, SIGKILL);
            }
        }
        if (x->timed_out < 2 && (next < 0 || x->deadline_ms - now < next))
            next = x->deadline_ms - now;
    }
    return next < 0 ? -1 : (int)next + 1;
}

/* ---- reaping ------------------------------------------------------------------------------- */

void shim__reap(struct shim *s)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (shim__pause_reaped(s, pid, status))
            continue;
        for (size_t i = 0; i < s->nctrs; i++)
            if (s->ctrs[i]->running && s->ctrs[i]->pid == pid) {
                ctr_on_exit(s, s->ctrs[i], status);
                goto next;
            }
        for (struct shim_exec *x = s->execs; x; x = x->next)
            if (!x->done && x->pid == pid) {
                x->exited = 1;
                x->status = status;
                kill(-pid, SIGKILL); /* the hook's or probe's children go with it */
                exec_finish(s, x);
                goto next;
            }
        /* An orphan re-parented to us (we are a subreaper): reaped, nothing to record. */
    next:;
    }
}

void shim__kill_all(struct shim *s, int wait_ms)
{
    int64_t deadline = now_ms() + wait_ms;
    int left;

    /* Runtime containers: every process of the container's cgroup, once. */
    for (size_t i = 0; i < s->nctrs; i++)
        if (s->ctrs[i]->running && s->ctrs[i]->bundle)
            shim__runc_signal(s->ctrs[i], SIGKILL, 1);
    do {
        left = 0;
        for (size_t i = 0; i < s->nctrs; i++)
            if (s->ctrs[i]->running) {
                if (!s->ctrs[i]->bundle)
                    kill(-s->ctrs[i]->pid, SIGKILL);
                left++;
            }
        for (struct shim_exec *x = s->execs; x; x = x->next) {
            if (x->done)
                continue;
            kill(-x->pid, SIGKILL);
            left++;
        }
        shim__reap(s);
        if (left)
            usleep(5000);
    } while (left && now_ms() < deadline);
    for (size_t i = 0; i < s->nctrs; i++) {
        stream_close(s, &s->ctrs[i]->out);
        stream_close(s, &s->ctrs[i]->err);
        stream_close(s, &s->ctrs[i]->pty);
    }
}
