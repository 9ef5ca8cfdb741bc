/* `kroll kubectl ARGS...`: runs the real kubectl against this data dir's server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"

static int cmd_kubectl_run(int argc, char **argv)
{
    char *dir = cli_data_dir(&argc, argv), *kc = cli_path(dir, "kubeconfig");
    char **av = calloc((size_t)argc + 1, sizeof *av);

    if (access(kc, R_OK) != 0) {
        fprintf(stderr, "kroll kubectl: %s not found; is `kroll server --data-dir %s` running?\n",
                kc, dir);
        return 1;
    }
    setenv("KUBECONFIG", kc, 1);
    av[0] = "kubectl";
    for (int i = 1; i < argc; i++)
        av[i] = argv[i];
    execvp("kubectl", av);
    perror("kroll kubectl: exec kubectl");
    return 127;
}

const struct cli_cmd cli_cmd_kubectl = {
    .name = "kubectl",
    .usage = "[--data-dir DIR] ARGS...   run kubectl against the server of DIR",
    .run = cmd_kubectl_run,
};
