/* The holder of a pod's shared PID namespace (shareProcessNamespace: true), as the pause
 * container of a kubelet's sandbox: a child of the shim, cloned into a new PID namespace whose
 * PID 1 it is. It only reaps the orphans the pod's processes leave (they are re-parented to
 * it) and ignores every signal it can; containers join its namespace through
 * /proc/<pause>/ns/pid in config.json. It lives as long as the shim: started before the shim
 * serves, killed after the containers at stop, and killed by the kernel if the shim dies
 * (parent-death signal). If it dies first, the namespace and every process in it are gone:
 * the shim stops, and the kubelet makes a new sandbox, as it does for a lost pause container. */
#include "shim/shim-int.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define PAUSE_STOP_WAIT_MS 3000 /* the kernel empties the namespace before the pause is reaped */

/* What `ps` shows for PID 1 of the pod: the shim's command line (which names the data
 * directory) is overwritten in place with "/pause". argv may start after the command's own
 * first words (`kroll shim ...` reaches shim_main as `shim ...`): /proc/self/cmdline says how
 * many bytes come before it, and they are checked before anything is written. */
static void pause_title(char **argv, int argc)
{
    static char cmd[8192];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC), nstr = 0;
    ssize_t n = fd >= 0 ? read(fd, cmd, sizeof cmd) : -1;
    size_t prefix = 0;
    char *start, *end;

    if (fd >= 0)
        close(fd);
    if (!argv || argc < 1 || !argv[0] || n <= 0 || n == (ssize_t)sizeof cmd)
        return;
    for (ssize_t i = 0; i < n; i++)
        nstr += cmd[i] == 0;
    for (int k = 0; k < nstr - argc; k++)
        prefix += strlen(cmd + prefix) + 1;
    for (int i = 1; i < argc; i++)
        if (argv[i] != argv[i - 1] + strlen(argv[i - 1]) + 1)
            return; /* not the strings exec laid out (an in-process shim of the tests) */
    start = argv[0] - prefix;
    end = argv[argc - 1] + strlen(argv[argc - 1]);
    if (nstr < argc || end - start + 1 != n || memcmp(start, cmd, (size_t)n) != 0)
        return;
    memset(start, 0, (size_t)(end - start));
    memcpy(start, "/pause", sizeof "/pause" - 1);
}

/* Our parent's pid as the host sees it: getppid() says 0 in the new namespace, but /proc is
 * still the host's (the mount namespace is the shim's). */
static pid_t parent_of_self(void)
{
    char buf[1024], *p;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;

    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    p = strstr(buf, "\nPPid:");
    return p ? (pid_t)atoi(p + 6) : -1;
}

/* PID 1 of the pod's namespace. Signals stay blocked: a process of the pod cannot end the
 * namespace with `kill 1` (SIGKILL from the pod's own namespace does not reach its init); the
 * shim ends it with SIGKILL from outside. Only the calls a freshly cloned process may make. */
static void pause_run(pid_t shim, char **argv, int argc)
{
    sigset_t all;
    siginfo_t si;
    int fd;

    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (parent_of_self() != shim)
        _exit(1); /* the shim died before the parent-death signal was armed */
    prctl(PR_SET_NAME, "pause");
    pause_title(argv, argc);
    if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
        dup2(fd, 0), dup2(fd, 1);
        close(fd);
    }
    for (int i = 3; i < 1024; i++) /* nothing of the shim (its socket, epoll) stays open */
        close(i);
    if (chdir("/") < 0)
        _exit(1);
    for (;;) {
        if (sigwaitinfo(&all, &si) == SIGCHLD)
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
    }
}

int shim__pause_start(struct shim *s, char **argv, int argc, struct err *err)
{
    /* clone() without a new stack acts as fork(); the flag puts the child alone in a new PID
     * namespace, as its PID 1. The shim is single-threaded here (before its loop runs). */
    pid_t shim = getpid();
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);

    if (pid < 0)
        return err_set(err, -errno,
                       "cannot create the pod's shared process namespace: "
                       "clone(CLONE_NEWPID): %s",
                       strerror(errno));
    if (pid == 0)
        pause_run(shim, argv, argc);
    s->pause_pid = pid;
    s->pause_fd = (int)syscall(SYS_pidfd_open, pid, 0);
    s->pause_w = (struct shim_watch){W_PIDFD, s};
    if (s->pause_fd >= 0)
        shim__watch_add(s, s->pause_fd, EPOLLIN, &s->pause_w);
    log_info("shim", "msg=\"shared process namespace\" pause=%d", (int)pid);
    return 0;
}

int shim__pause_reaped(struct shim *s, pid_t pid, int status)
{
    if (!s->pause_pid || pid != s->pause_pid)
        return 0;
    if (!s->stopping) {
        log_error("shim",
                  "msg=\"the pod's process namespace holder died: every process of the "
                  "pod died with it; stopping\" pause=%d status=%d",
                  (int)pid, status);
        s->pause_lost = 1;
    }
    s->pause_pid = 0;
    if (s->pause_fd >= 0) {
        shim__watch_del(s, s->pause_fd);
        close(s->pause_fd);
        s->pause_fd = -1;
    }
    return 1;
}

void shim__pause_stop(struct shim *s)
{
    struct timespec t0, t;
    pid_t pid = s->pause_pid;
    int status;

    if (!pid)
        return;
    kill(pid, SIGKILL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid || (r < 0 && errno != EINTR)) {
            shim__pause_reaped(s, pid, r == pid ? status : -1);
            return;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >
            PAUSE_STOP_WAIT_MS) {
            log_warn("shim", "msg=\"the pause process is not gone yet\" pause=%d", (int)pid);
            return;
        }
        usleep(2000);
    }
}
