/* `kroll stop --data-dir DIR`: stops the server of DIR (which stops what it runs) and waits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"

static int wait_gone(int pid, int ms)
{
    for (int waited = 0; waited < ms; waited += 50) {
        if (kill(pid, 0) != 0)
            return 1;
        usleep(50000);
    }
    return kill(pid, 0) != 0;
}

static int cmd_stop_run(int argc, char **argv)
{
    char *dir = cli_data_dir(&argc, argv);
    int pid = cli_pid_alive(dir, "server");

    if (!pid) {
        printf("kroll: no server running for %s\n", dir);
        return 0;
    }
    kill(pid, SIGTERM);
    if (!wait_gone(pid, 60000)) {
        fprintf(stderr, "kroll: server %d did not stop in 60s; killing it\n", pid);
        kill(pid, SIGKILL);
        wait_gone(pid, 5000);
    }
    printf("kroll: stopped server (pid %d) for %s\n", pid, dir);
    return 0;
}

const struct cli_cmd cli_cmd_stop = {
    .name = "stop",
    .usage = "[--data-dir DIR]           stop the server of DIR and everything it runs",
    .run = cmd_stop_run,
};
