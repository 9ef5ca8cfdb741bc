/* The kubelet's side of the shim: spawning a detached shim (double fork, new session, readiness
 * reported through a pipe), one request/reply exchanges on <pod-dir>/shim.sock with a deadline,
 * a non-blocking variant for the server loop, and reading state.json without the shim. */
#include "shim/shim-int.h"

#include "core/file.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX (16 * 1024 * 1024)

static int64_t clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* ---- spawning ------------------------------------------------------------------------------ */

static char **spawn_argv(const char *pod_dir, const struct shim_opts *o, int *argc)
{
    char **v = xcalloc(16, sizeof(char *));
    int n = 0;

    v[n++] = xstrdup("kroll");
    v[n++] = xstrdup("shim");
    v[n++] = xstrdup("--pod-dir");
    v[n++] = xstrdup(pod_dir);
    if (o && o->pod_ip) {
        v[n++] = xstrdup("--pod-ip");
        v[n++] = xstrdup(o->pod_ip);
    }
    if (o && o->host_network)
        v[n++] = xstrdup("--host-network");
    if (o && o->force_userns)
        v[n++] = xstrdup("--userns");
    if (o && o->share_pid)
        v[n++] = xstrdup("--share-pid");
    if (o && o->log_max_bytes > 0) {
        v[n++] = xstrdup("--log-max-bytes");
        v[n++] = xasprintf("%ld", o->log_max_bytes);
    }
    v[n++] = xstrdup("--ready-fd");
    v[n++] = xstrdup("3");
    *argc = n;
    return v;
}

/* The shim's process: in its own session, with only the readiness pipe (as fd 3) and its log
 * inherited, so no descriptor of the server (listeners, the database) leaks into a pod. */
static void spawn_grandchild(const char *kroll_bin, const char *pod_dir, int ready, char **argv,
                             int argc)
{
    char path[PATH_MAX];
    sigset_t none;
    int fd;

    if (ready == 3)
        fcntl(3, F_SETFD, 0);
    else if (dup2(ready, 3) < 0)
        _exit(127);
    close_range(4, ~0U, 0);
    setpgid(0, 0); /* a group of its own, apart from the session leader that already left */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != 0) {
        dup2(fd, 0);
        close(fd);
    }
    snprintf(path, sizeof path, "%s/shim.log", pod_dir);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    if (!kroll_bin)
        _exit(shim_main(argc - 1, argv + 1));
    execv(kroll_bin, argv);
    dprintf(3, "error cannot exec %s: %s\n", kroll_bin, strerror(errno));
    _exit(127);
}

static int ready_wait(int fd, int timeout_ms, char *buf, size_t cap)
{
    int64_t deadline = clock_ms() + timeout_ms;
    size_t len = 0;

    while (len < cap - 1 && !memchr(buf, '\n', len)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - clock_ms());
        ssize_t n;
        if (left <= 0 || poll(&p, 1, left) == 0)
            return -ETIMEDOUT;
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = 0;
    }
    buf[len] = 0;
    return 0;
}

pid_t shim_spawn(const char *kroll_bin, const char *pod_dir, const struct shim_opts *o,
                 struct err *err)
{
    int timeout = o && o->spawn_timeout_ms > 0 ? o->spawn_timeout_ms : 5000;
    int rp[2], argc, rc, status;
    char **argv, buf[1200];
    pid_t pid;

    memset(buf, 0, sizeof buf);
    if ((rc = mkdir_p(pod_dir)) < 0)
        return err_set(err, rc, "cannot create %s: %s", pod_dir, strerror(-rc));
    if (pipe2(rp, O_CLOEXEC) < 0)
        return err_set(err, -errno, "pipe: %s", strerror(errno));
    argv = spawn_argv(pod_dir, o, &argc);
    pid = fork();
    if (pid == 0) {
        close(rp[0]);
        setsid(); /* own session and process group: the server's signals and exit don't reach */
        pid = fork();
        if (pid != 0)
            _exit(pid < 0 ? 1 : 0);
        spawn_grandchild(kroll_bin, pod_dir, rp[1], argv, argc);
    }
    close(rp[1]);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
    if (pid < 0) {
        rc = err_set(err, -errno, "fork: %s", strerror(errno));
        goto out;
    }
    waitpid(pid, &status, 0); /* the intermediate child exits at once */
    rc = ready_wait(rp[0], timeout, buf, sizeof buf);
    if (rc < 0) {
        pid_t stuck = shim_pid_alive(pod_dir);
        if (stuck > 0)
            kill(stuck, SIGKILL);
        rc = err_set(err, -ETIMEDOUT, "shim for %s not ready within %d ms", pod_dir, timeout);
    } else if (strncmp(buf, "ok ", 3) == 0) {
        rc = atoi(buf + 3);
    } else {
        buf[strcspn(buf, "\n")] = 0;
        rc = err_set(err, -E_UNAVAILABLE, "shim failed: %s",
                     strncmp(buf, "error ", 6) == 0 ? buf + 6 : "exited without a word");
    }
out:
    close(rp[0]);
    return rc;
}

/* ---- requests ------------------------------------------------------------------------------ */

static int send_all(int fd, const char *p, size_t n, int timeout_ms)
{
    int64_t deadline = clock_ms() + timeout_ms;

    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            int left = (int)(deadline - clock_ms());
            if (left <= 0 || poll(&pf, 1, left) == 0)
                return -ETIMEDOUT;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int sock_connect(const char *pod_dir)
{
    struct sockaddr_un sa;
    int fd, dirfd, rc;

    if ((rc = shim__sockaddr(pod_dir, &sa, &dirfd)) < 0)
        return rc;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
    } else if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        rc = -errno;
        close(fd);
    } else {
        rc = fd;
    }
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

int shim_call_start(struct shim_call *c, const char *pod_dir, const json_t *req, struct err *err)
{
    char *text;
    int rc;

    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (!json_is_object(req))
        return err_set(err, -EINVAL, "shim request must be a JSON object");
    c->fd = sock_connect(pod_dir);
    if (c->fd < 0) {
        rc = c->fd;
        c->fd = -1;
        return err_set(err, rc, "shim for %s is not reachable: %s", pod_dir, strerror(-rc));
    }
    text = json_dumps(req, JSON_COMPACT);
    c->cap = strlen(text) + 2;
    c->buf = text;
    c->buf[c->cap - 2] = '\n';
    rc = send_all(c->fd, c->buf, c->cap - 1, 1000);
    c->len = c->cap = c->scan = 0;
    free(c->buf);
    c->buf = NULL;
    if (rc < 0) {
        shim_call_release(c);
        return err_set(err, rc, "shim for %s: cannot send request: %s", pod_dir, strerror(-rc));
    }
    return 0;
}

static int reply_parse(struct shim_call *c, size_t n, json_t **reply, struct err *err)
{
    json_error_t je;
    const json_t *ok, *eno;

    *reply = json_loadb(c->buf, n, 0, &je);
    if (!json_is_object(*reply)) {
        json_decref(*reply);
        *reply = NULL;
        return err_set(err, -E_INTERNAL, "shim sent a malformed reply: %s", je.text);
    }
    ok = json_object_get(*reply, "ok");
    if (json_is_true(ok) || json_object_get(*reply, "event"))
        return 0;
    eno = json_object_get(*reply, "errno");
    return err_set(err, json_is_integer(eno) ? -(int)json_integer_value(eno) : -E_INTERNAL, "%s",
                   json_string_value(json_object_get(*reply, "error"))
                       ? json_string_value(json_object_get(*reply, "error"))
                       : "shim request failed");
}

int shim_call_read(struct shim_call *c, json_t **reply, struct err *err)
{
    char *nl;
    size_t line;
    int rc;

    *reply = NULL;
    for (;;) {
        ssize_t n;
        if (c->len > c->scan && (nl = memchr(c->buf + c->scan, '\n', c->len - c->scan))) {
            line = (size_t)(nl - c->buf);
            rc = reply_parse(c, line, reply, err);
            /* Keep what follows: on a subscription, the next event may already be here. */
            memmove(c->buf, c->buf + line + 1, c->len - line - 1);
            c->len -= line + 1;
            c->scan = 0;
            return rc;
        }
        c->scan = c->len;
        if (c->len == c->cap) {
            if (c->cap >= REPLY_MAX)
                return err_set(err, -E_TOO_LARGE, "shim reply larger than %d bytes", REPLY_MAX);
            c->cap = c->cap ? c->cap * 2 : 4096;
            c->buf = xrealloc(c->buf, c->cap);
        }
        n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return -EAGAIN;
        if (n < 0)
            return err_set(err, -errno, "shim connection: %s", strerror(errno));
        if (n == 0)
            return err_set(err, -ECONNRESET, "shim closed the connection without a reply");
        c->len += (size_t)n;
    }
}

void shim_call_release(struct shim_call *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

int shim_request(const char *pod_dir, const json_t *req, json_t **reply, int timeout_ms,
                 struct err *err)
{
    int64_t deadline = clock_ms() + timeout_ms;
    struct shim_call c;
    int rc;

    *reply = NULL;
    if ((rc = shim_call_start(&c, pod_dir, req, err)) < 0)
        return rc;
    while ((rc = shim_call_read(&c, reply, err)) == -EAGAIN) {
        struct pollfd p = {.fd = c.fd, .events = POLLIN};
        int left = (int)(deadline - clock_ms());
        if (left <= 0 || poll(&p, 1, left) == 0) {
            rc = err_set(err, -ETIMEDOUT, "shim for %s did not answer within %d ms", pod_dir,
                         timeout_ms);
            break;
        }
    }
    shim_call_release(&c);
    return rc;
}

/* ---- convenience wrappers ------------------------------------------------------------------ */

static json_t *strv_json(const char *const *v)
{
    json_t *a = json_array();

    for (; v && *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

/* Sends req (taken) and returns the reply (or NULL after an error). */
static json_t *request_take(const char *pod_dir, json_t *req, int timeout_ms, int *rc,
                            struct err *err)
{
    json_t *reply = NULL;

    *rc = shim_request(pod_dir, req, &reply, timeout_ms, err);
    json_decref(req);
    if (*rc < 0) {
        json_decref(reply);
        return NULL;
    }
    return reply;
}

pid_t shim_container_start(const char *pod_dir, const struct shim_container_spec *spec,
                           int timeout_ms, time_t *started, struct err *err)
{
    json_t *req, *reply;
    int rc;

    if (!spec || !spec->name || !spec->argv || !spec->argv[0])
        return err_set(err, -EINVAL, "container spec needs a name and a command");
    req = json_pack("{s:s, s:s, s:o, s:o}", "op", "start", "name", spec->name, "argv",
                    strv_json(spec->argv), "env", strv_json(spec->env));
    if (!req)
        return err_set(err, -EINVAL, "container spec is not valid UTF-8");
    if (spec->cwd)
        json_object_set_new(req, "cwd", json_string(spec->cwd));
    if (spec->stdin_open || spec->tty)
        json_object_update_new(req, json_pack("{s:b, s:b, s:b}", "stdin", spec->stdin_open, "tty",
                                              spec->tty, "stdinOnce", spec->stdin_once));
    if (spec->mounts && json_array_size(spec->mounts))
        json_object_set_new(req, "mounts", json_deep_copy(spec->mounts));
    if (spec->bundle) {
        json_t *rt = json_pack("{s:s, s:s, s:s, s:s}", "bundle", spec->bundle, "runtime",
                               spec->runtime ?: "", "runtimeRoot", spec->runtime_root ?: "",
                               "containerId", spec->container_id ?: "");

        json_object_update(req, rt);
        json_decref(rt);
    }
    reply = request_take(pod_dir, req, timeout_ms, &rc, err);
    if (reply) {
        rc = (int)json_integer_value(json_object_get(reply, "pid"));
        if (started)
            *started = (time_t)json_integer_value(json_object_get(reply, "started"));
    }
    json_decref(reply);
    return rc;
}

int shim_container_signal(const char *pod_dir, const char *name, int sig, int timeout_ms,
                          struct err *err)
{
    json_t *req =
        json_pack("{s:s, s:s, s:i}", "op", "signal", "container", name ? name : "", "signal", sig);
    int rc;

    json_decref(request_take(pod_dir, req, timeout_ms, &rc, err));
    return rc;
}

int shim_exec(const char *pod_dir, const char *const *argv, const char *cwd, int exec_timeout_ms,
              struct shim_exec_result *res, struct err *err)
{
    json_t *req, *reply;
    int rc;

    memset(res, 0, sizeof *res);
    if (!argv || !argv[0])
        return err_set(err, -EINVAL, "exec needs a command");
    req = json_pack("{s:s, s:o, s:i}", "op", "exec", "argv", strv_json(argv), "timeoutMs",
                    exec_timeout_ms > 0 ? exec_timeout_ms : 1000);
    if (cwd)
        json_object_set_new(req, "cwd", json_string(cwd));
    reply =
        request_take(pod_dir, req, (exec_timeout_ms > 0 ? exec_timeout_ms : 1000) + 1000, &rc, err);
    if (!reply)
        return rc;
    res->exit_code = (int)json_integer_value(json_object_get(reply, "exitCode"));
    res->signal = (int)json_integer_value(json_object_get(reply, "signal"));
    res->timed_out = json_is_true(json_object_get(reply, "timedOut"));
    res->output = xstrdup(json_string_value(json_object_get(reply, "output"))
                              ? json_string_value(json_object_get(reply, "output"))
                              : "");
    json_decref(reply);
    return 0;
}

void shim_exec_result_release(struct shim_exec_result *res)
{
    free(res->output);
    res->output = NULL;
}

int shim_status(const char *pod_dir, json_t **state, int timeout_ms, struct err *err)
{
    json_t *reply;
    int rc;

    *state = NULL;
    reply = request_take(pod_dir, json_pack("{s:s}", "op", "status"), timeout_ms, &rc, err);
    if (!reply)
        return rc;
    *state = json_incref(json_object_get(reply, "state"));
    json_decref(reply);
    return *state ? 0 : err_set(err, -E_INTERNAL, "shim status reply without a state");
}

int shim_stop(const char *pod_dir, int timeout_ms, struct err *err)
{
    int rc;

    json_decref(request_take(pod_dir, json_pack("{s:s}", "op", "stop"), timeout_ms, &rc, err));
    return rc;
}

int shim_state_read(const char *pod_dir, json_t **state, struct err *err)
{
    char path[PATH_MAX];
    json_error_t je;

    snprintf(path, sizeof path, "%s/state.json", pod_dir);
    *state = json_load_file(path, 0, &je);
    if (!*state)
        return err_set(err, access(path, F_OK) < 0 ? -ENOENT : -E_INTERNAL, "%s: %s", path,
                       je.text);
    return 0;
}

pid_t shim_pid_alive(const char *pod_dir)
{
    struct ucred uc = {0};
    socklen_t len = sizeof uc;
    char path[PATH_MAX], buf[32];
    int fd;
    pid_t pid;

    snprintf(path, sizeof path, "%s/shim.pid", pod_dir);
    if (file_read_into(path, buf, sizeof buf) <= 0)
        return 0;
    pid = (pid_t)atoi(buf);
    if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
        return 0;
    /* The pid may belong to another process after a reboot, and a live socket alone does not
     * tie it to that pid: the shim counts only if it is the listener of its socket. */
    fd = sock_connect(pod_dir);
    if (fd < 0)
        return 0;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || uc.pid != pid)
        pid = 0;
    close(fd);
    return pid;
}
