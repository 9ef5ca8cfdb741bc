/* Data directory resolution and pid files for the commands. */
#include "cli/common.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/tls.h"

char *cli_data_dir(int *argc, char **argv)
{
    const char *d = NULL;
    char abs[PATH_MAX];

    for (int i = 1; i < *argc; i++) {
        const char *v = NULL;
        int take = 0;

        if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < *argc) {
            v = argv[i + 1];
            take = 2;
        } else if (strncmp(argv[i], "--data-dir=", 11) == 0) {
            v = argv[i] + 11;
            take = 1;
        }
        if (take) {
            d = v;
            memmove(&argv[i], &argv[i + take], (size_t)(*argc - i - take + 1) * sizeof *argv);
            *argc -= take;
            break;
        }
    }
    if (!d)
        d = getenv("KROLL_DATA_DIR");
    if (!d) {
        const char *home = getenv("HOME");

        snprintf(abs, sizeof abs, "%s/.kroll", home ? home : "/root");
        return xstrdup(abs);
    }
    if (d[0] == '/')
        return xstrdup(d);
    if (!getcwd(abs, sizeof abs))
        die("getcwd: %s", strerror(errno));
    return xasprintf("%s/%s", abs, d);
}

char *cli_path(const char *data_dir, const char *rel)
{
    return xasprintf("%s/%s", data_dir, rel);
}

int cli_pid_alive(const char *data_dir, const char *name)
{
    char *rel = xasprintf("run/%s.pid", name), *p = cli_path(data_dir, rel);
    char *txt = file_read_all(p, NULL);
    int pid = txt ? atoi(txt) : 0;

    free(rel);
    free(p);
    free(txt);
    if (pid > 0 && kill(pid, 0) == 0)
        return pid;
    return 0;
}
