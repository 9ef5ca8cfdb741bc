/* Containers run by an OCI runtime (runc) from a bundle the kubelet wrote. The shim stays the
 * parent: `runc run --detach` exits once the container is created, so the container's init is
 * re-parented to the shim (a child subreaper) and reaped by it like any other container, with
 * its real exit status. Each runtime call is bounded (SHIM_RUNC_TIMEOUT_MS). When a container
 * ends, its OOM kill count is read before anything else, then `runc kill --all` (nothing of the
 * container survives its init) and `runc delete --force` (cgroup and state go). */
#include "shim/shim-int.h"

#include "core/file.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > SHIM_RUNC_ID_MAX)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.' || *p == '+'))
            return 0;
    return strcmp(id, ".") && strcmp(id, "..");
}

void shim__runc_ctr_free(struct shim_ctr *c)
{
    free(c->rt_bin), free(c->rt_root), free(c->rt_id), free(c->bundle), free(c->memcg);
    c->rt_bin = c->rt_root = c->rt_id = c->bundle = c->memcg = NULL;
}

const char *shim__runc_config(struct shim_ctr *c, const json_t *req)
{
    const char *bundle = json_string_value(json_object_get(req, "bundle"));
    const char *bin = json_string_value(json_object_get(req, "runtime"));
    const char *root = json_string_value(json_object_get(req, "runtimeRoot"));
    const char *id = json_string_value(json_object_get(req, "containerId"));

    if (!bundle || bundle[0] != '/' || !bin || bin[0] != '/' || !root || root[0] != '/')
        return "bundle, runtime and runtimeRoot must be absolute paths";
    if (!id || !id_valid(id))
        return "containerId must be 1-128 characters of [A-Za-z0-9_+.-]";
    shim__runc_ctr_free(c);
    c->bundle = xstrdup(bundle);
    c->rt_bin = xstrdup(bin);
    c->rt_root = xstrdup(root);
    c->rt_id = xstrdup(id);
    return NULL;
}

/* Waits for pid (a direct child) at most timeout_ms; kills it at the deadline. Returns its wait
 * status, or -1 when it had to be killed. */
static int wait_bounded(pid_t pid, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (mono_ms() >= deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(2000);
    }
}

/* Runs `<rt> --root <root> args...` with its output in the shim's log; returns 0 when it exits
 * 0 within the bound. */
static int runc_call(struct shim_ctr *c, const char *const *args)
{
    const char *argv[16];
    int n = 0, status, nullfd;
    pid_t pid;

    argv[n++] = c->rt_bin;
    argv[n++] = "--root";
    argv[n++] = c->rt_root;
    while (*args && n < 15)
        argv[n++] = *args++;
    argv[n] = NULL;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        sigset_t none;

        setpgid(0, 0);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        nullfd = open("/dev/null", O_RDONLY);
        if (nullfd >= 0)
            dup2(nullfd, 0);
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    setpgid(pid, pid);
    status = wait_bounded(pid, SHIM_RUNC_TIMEOUT_MS);
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* "oom_kill N" of cgroup v1 memory.oom_control (or v2 memory.events); -1 when unreadable. */
static long oom_count(const char *memcg)
{
    char path[PATH_MAX], line[128];
    long n = -1;
    FILE *f;

    if (!memcg)
        return -1;
    snprintf(path, sizeof path, "%s/memory.oom_control", memcg);
    if (!(f = fopen(path, "re"))) {
        snprintf(path, sizeof path, "%s/memory.events", memcg);
        if (!(f = fopen(path, "re")))
            return -1;
    }
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "oom_kill %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* The memory cgroup directory of pid, from /proc/<pid>/cgroup (v1 "memory" line, else v2). */
static char *memcg_of(pid_t pid)
{
    char path[64], line[PATH_MAX], *out = NULL;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    if (!(f = fopen(path, "re")))
        return NULL;
    while (fgets(line, sizeof line, f)) {
        char *ctrl = strchr(line, ':'), *cg = ctrl ? strchr(ctrl + 1, ':') : NULL;

        if (!cg)
            continue;
        line[strcspn(line, "\n")] = 0;
        *cg++ = 0;
        if (strcmp(ctrl + 1, "memory") == 0) {
            free(out);
            out = xasprintf("/sys/fs/cgroup/memory%s", cg);
            break;
        }
        if (strcmp(line, "0") == 0 && !out)
            out = xasprintf("/sys/fs/cgroup%s", cg);
    }
    fclose(f);
    return out;
}

static pid_t pid_file_read(const char *path)
{
    char buf[32];

    if (file_read_into(path, buf, sizeof buf) <= 0)
        return -1;
    return (pid_t)strtol(buf, NULL, 10);
}

/* The last error runc logged (its --log in JSON), for the start error's text. */
static void runc_log_error(const char *path, char *out, size_t n)
{
    char buf[SHIM_RUNC_LOG_MAX + 1], *line, *save = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t len = 0;
    off_t size;

    if (fd < 0)
        return;
    size = lseek(fd, 0, SEEK_END);
    if (size > SHIM_RUNC_LOG_MAX)
        lseek(fd, size - SHIM_RUNC_LOG_MAX, SEEK_SET);
    else
        lseek(fd, 0, SEEK_SET);
    len = read(fd, buf, SHIM_RUNC_LOG_MAX);
    close(fd);
    buf[len > 0 ? len : 0] = 0;
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *lvl = json_string_value(json_object_get(j, "level"));
        const char *m = json_string_value(json_object_get(j, "msg"));

        if (lvl && m && (strcmp(lvl, "error") == 0 || strcmp(lvl, "fatal") == 0))
            snprintf(out, n, "%s", m);
        json_decref(j);
    }
}

pid_t shim__runc_run(struct shim *s, struct shim_ctr *c, int in, int out, int errout, char *msg,
                     size_t n)
{
    char pidf[PATH_MAX], logf[PATH_MAX], cons[PATH_MAX], why[1024] = "";
    char *argv[] = {c->rt_bin, "--root", c->rt_root, "--log",      logf, "--log-format",
                    "json",    "run",    "--detach", "--pid-file", pidf, "--bundle",
                    c->bundle, c->rt_id, NULL,       NULL,         NULL};
    const char *del[] = {"delete", "--force", c->rt_id, NULL};
    pid_t runc, pid;
    int status, lfd = -1;

    if (c->tty) { /* runc sends the terminal's master over this socket (process.terminal) */
        if ((lfd = shim__console_listen(s, c, cons, sizeof cons)) < 0) {
            snprintf(msg, n, "console socket: %s", strerror(-lfd));
            return lfd;
        }
        argv[13] = "--console-socket", argv[14] = cons, argv[15] = c->rt_id;
    }
    snprintf(pidf, sizeof pidf, "%s/pid", c->bundle);
    snprintf(logf, sizeof logf, "%s/runc.log", c->bundle);
    unlink(pidf);
    unlink(logf);
    snprintf(pidf, sizeof pidf, "%s/%s", c->rt_root, c->rt_id);
    if (access(pidf, F_OK) == 0)
        runc_call(c, del); /* a leftover of an instance whose end we did not see */
    snprintf(pidf, sizeof pidf, "%s/pid", c->bundle);
    runc = shim__spawn(argv, environ, c->bundle, in, out, errout, 0, msg, n);
    if (runc < 0) {
        if (lfd >= 0)
            close(lfd), shim__console_unlink(cons);
        return runc;
    }
    status = wait_bounded(runc, SHIM_RUNC_TIMEOUT_MS);
    pid = pid_file_read(pidf);
    if (lfd >= 0) { /* the message waits in the socket even though runc is gone */
        int m = shim__console_recv(lfd);

        close(lfd);
        shim__console_unlink(cons);
        if (m >= 0)
            c->in_fd = m;
        else if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && pid > 0)
            log_warn("shim", "msg=\"runc sent no console\" container=%s", c->name);
    }
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || pid <= 0) {
        /* runc wrote why on the container's stderr: the log has it; the message points there. */
        runc_log_error(logf, why, sizeof why);
        snprintf(msg, n, "OCI runtime create failed: %s",
                 why[0]       ? why
                 : status < 0 ? "runc run timed out"
                              : "runc run failed (see the container's log)");
        runc_call(c, del);
        return -EIO;
    }
    free(c->memcg);
    c->memcg = memcg_of(pid);
    c->oom_base = oom_count(c->memcg);
    return pid;
}

void shim__runc_ended(struct shim *s, struct shim_ctr *c, struct shim_term *t)
{
    const char *kill_all[] = {"kill", "--all", c->rt_id, "KILL", NULL};
    const char *del[] = {"delete", "--force", c->rt_id, NULL};
    long oom = oom_count(c->memcg);

    (void)s;
    if (oom > c->oom_base && c->oom_base >= 0)
        snprintf(t->reason, sizeof t->reason, "OOMKilled");
    runc_call(c, kill_all);
    if (runc_call(c, del) < 0)
        log_warn("shim", "msg=\"runtime delete failed\" container=%s id=%s", c->name, c->rt_id);
    shim_runc_state_sweep(c->rt_root, c->rt_id);
}

int shim__runc_signal(struct shim_ctr *c, int sig, int all)
{
    char num[16];
    const char *args[] = {"kill", all ? "--all" : c->rt_id, all ? c->rt_id : num, all ? num : NULL,
                          NULL};

    snprintf(num, sizeof num, "%d", sig);
    return runc_call(c, args);
}

char **shim__runc_exec_argv(struct shim_ctr *c, char **argv, char **pid_file)
{
    static unsigned seq;
    size_t n = 0, i = 0;
    char **v;

    while (argv[n])
        n++;
    *pid_file = xasprintf("%s/exec-%u.pid", c->bundle, ++seq);
    v = xcalloc(n + 9, sizeof *v);
    v[i++] = xstrdup(c->rt_bin);
    v[i++] = xstrdup("--root");
    v[i++] = xstrdup(c->rt_root);
    v[i++] = xstrdup("exec");
    v[i++] = xstrdup("--pid-file");
    v[i++] = xstrdup(*pid_file);
    v[i++] = xstrdup(c->rt_id);
    for (size_t k = 0; k < n; k++)
        v[i++] = xstrdup(argv[k]);
    return v;
}

/* Kills the process a timed-out `runc exec` started inside the container: killing runc alone
 * would leave it running there. */
int shim__runc_exec_kill(const char *pid_file)
{
    pid_t pid = pid_file ? pid_file_read(pid_file) : -1;

    return pid > 0 && kill(pid, SIGKILL) == 0 ? 0 : -1;
}

void shim_runc_state_sweep(const char *root, const char *id)
{
    char dir[PATH_MAX], line[PATH_MAX + 256], *mnts[SHIM_RUNC_SWEEP_MAX];
    size_t n = 0, len;
    FILE *f = fopen("/proc/self/mounts", "re");

    len = (size_t)snprintf(dir, sizeof dir, "%s/%s/", root, id);
    while (f && n < SHIM_RUNC_SWEEP_MAX && fgets(line, sizeof line, f)) {
        char *mp = strchr(line, ' ');

        if (mp && strncmp(++mp, dir, len) == 0) {
            mp[strcspn(mp, " ")] = 0;
            mnts[n++] = xstrdup(mp);
        }
    }
    if (f)
        fclose(f);
    for (size_t i = 0; i < n; i++) {
        umount2(mnts[i], MNT_DETACH);
        unlink(mnts[i]);
        free(mnts[i]);
    }
    rmdir(dir); /* runc delete could not remove it while the mount was there */
}
