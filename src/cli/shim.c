/* `kroll shim ...`: the per-pod supervisor (see shim/shim.h); started by the node agent. */
#include "cli/cli.h"
#include "shim/shim.h"

static int cmd_shim_run(int argc, char **argv)
{
    return shim_main(argc, argv);
}

const struct cli_cmd cli_cmd_shim = {
    .name = "shim",
    .usage = "--pod-dir DIR ...           per-pod supervisor (started by the server)",
    .run = cmd_shim_run,
};
