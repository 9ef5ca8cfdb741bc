/* `kroll stop --data-dir DIR`: stops the server of DIR (which stops what it runs) and waits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/log.h"
#include "cli/common.h"
#include "shim/shim.h"

#include <dirent.h>

static int wait_gone(int pid, int ms)
{
    for (int waited = 0; waited < ms; waited += 50) {
        if (kill(pid, 0) != 0)
            return 1;
        usleep(50000);
    }
    return kill(pid, 0) != 0;
}

/* Pods outlive the server by design; `kroll stop` means everything of the data dir, so once
 * the server is gone each pod's shim is stopped (it kills and reaps its containers). */
static void stop_shims(const char *data_dir)
{
    char *root = cli_path(data_dir, "pods");
    DIR *d = opendir(root);
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d))) {
        char *pod = NULL;
        struct err err;
        pid_t pid;

        if (e->d_name[0] == '.')
            continue;
        pod = xasprintf("%s/%s", root, e->d_name);
        if ((pid = shim_pid_alive(pod)) > 0) {
            err_init(&err);
            if (shim_stop(pod, 10000, &err) < 0 && shim_pid_alive(pod) == pid) {
                fprintf(stderr, "kroll: shim %d of %s: %s; killing it\n", (int)pid, pod, err.msg);
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
            } else if (err.code) {
                fprintf(stderr, "kroll: shim %d of %s: %s; its socket is not served by pid %d, "
                                "so nothing was signalled\n", (int)pid, pod, err.msg, (int)pid);
            }
            wait_gone(pid, 5000);
            err_release(&err);
            n++;
        }
        free(pod);
    }
    if (d)
        closedir(d);
    if (n)
        printf("kroll: stopped %d pod%s for %s\n", n, n == 1 ? "" : "s", data_dir);
    free(root);
}

/* Waits up to ms for the process behind pidfd to exit; 1 when it did. */
static int pidfd_wait_gone(int pidfd, int ms)
{
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};

    for (int waited = 0; waited < ms; waited += 100) {
        if (poll(&pfd, 1, 100) > 0)
            return 1;
    }
    return 0;
}

/* Signals only the verified process (through its pidfd, so never a reused pid): SIGTERM,
 * then SIGKILL after grace_ms. */
static void stop_verified(int pidfd, pid_t pid, const char *what, int grace_ms, const char *dir)
{
    pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
    if (!pidfd_wait_gone(pidfd, grace_ms)) {
        fprintf(stderr, "kroll: %s %d did not stop in %ds; killing it\n", what, (int)pid,
                grace_ms / 1000);
        pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        pidfd_wait_gone(pidfd, 5000);
    }
    close(pidfd);
    printf("kroll: stopped %s (pid %d) for %s\n", what, (int)pid, dir);
}

/* Nothing is signalled on the word of a pid file alone: the lock says whether the process runs,
 * and the pid file's process must hold that lock. Returns 1 stopped, 0 nothing ran, -1 the
 * lock is held by a process the pid file does not name (nothing signalled). */
static int stop_one(const char *dir, const char *what, int grace_ms)
{
    pid_t pid;
    int pfd = cli_proc_open(dir, what, &pid);

    if (pfd >= 0) {
        stop_verified(pfd, pid, what, grace_ms, dir);
        return 1;
    }
    if (pfd == -ESRCH)
        return 0;
    if (pfd != -EAGAIN) {
        fprintf(stderr, "kroll: cannot check %s/run/%s.lock: %s; not signalling anything\n", dir,
                what, strerror(-pfd));
        return -1;
    }
    fprintf(stderr,
            "kroll: the %s lock of %s is held, but run/%s.pid names %s%d, which does not hold "
            "it; not signalling anything (find the holder with: fuser %s/run/%s.lock)\n",
            what, dir, what, pid ? "pid " : "no process: ", (int)pid, dir, what);
    return -1;
}

/* The Service proxy also outlives the server (traffic keeps flowing across a restart); it is
 * stopped after the server, which would otherwise start it again. */
static int cmd_stop_run(int argc, char **argv)
{
    char *dir = cli_data_dir(&argc, argv);
    int rc = stop_one(dir, "server", 60000);

    if (rc == 0)
        printf("kroll: no server running for %s (nothing holds run/server.lock; no process "
               "was signalled)\n", dir);
    if (rc >= 0) {
        stop_shims(dir);
        if (stop_one(dir, "proxy", 10000) < 0)
            rc = -1;
    }
    free(dir);
    return rc < 0 ? 1 : 0;
}

const struct cli_cmd cli_cmd_stop = {
    .name = "stop",
    .usage = "[--data-dir DIR]           stop the server of DIR and everything it runs",
    .run = cmd_stop_run,
};
