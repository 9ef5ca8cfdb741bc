/* `kroll stop --data-dir DIR`: stops the server of DIR (which stops what it runs) and waits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
            if (shim_stop(pod, 10000, &err) < 0) {
                fprintf(stderr, "kroll: shim %d of %s: %s; killing it\n", (int)pid, pod, err.msg);
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
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

/* The Service proxy also outlives the server (traffic keeps flowing across a restart); it is
 * stopped after the server, which would otherwise start it again. */
static void stop_proxy(const char *data_dir)
{
    int pid = cli_pid_alive(data_dir, "proxy");

    if (!pid)
        return;
    kill(pid, SIGTERM);
    if (!wait_gone(pid, 10000)) {
        fprintf(stderr, "kroll: proxy %d did not stop in 10s; killing it\n", pid);
        kill(pid, SIGKILL);
        wait_gone(pid, 5000);
    }
    printf("kroll: stopped proxy (pid %d) for %s\n", pid, data_dir);
}

static int cmd_stop_run(int argc, char **argv)
{
    char *dir = cli_data_dir(&argc, argv);
    int pid = cli_pid_alive(dir, "server");

    if (!pid) {
        printf("kroll: no server running for %s\n", dir);
        stop_shims(dir);
        stop_proxy(dir);
        free(dir);
        return 0;
    }
    kill(pid, SIGTERM);
    if (!wait_gone(pid, 60000)) {
        fprintf(stderr, "kroll: server %d did not stop in 60s; killing it\n", pid);
        kill(pid, SIGKILL);
        wait_gone(pid, 5000);
    }
    printf("kroll: stopped server (pid %d) for %s\n", pid, dir);
    stop_shims(dir);
    stop_proxy(dir);
    free(dir);
    return 0;
}

const struct cli_cmd cli_cmd_stop = {
    .name = "stop",
    .usage = "[--data-dir DIR]           stop the server of DIR and everything it runs",
    .run = cmd_stop_run,
};
