/* `kroll proxy ...`: the Service data plane (see proxy/proxy.h). */
#include "cli/cli.h"
#include "proxy/proxy.h"

static int cmd_proxy_run(int argc, char **argv)
{
    return proxy_main(argc, argv);
}

const struct cli_cmd cli_cmd_proxy = {
    .name = "proxy",
    .usage = "--listen IP:PORT --backends A,B | --data-dir DIR   Service proxy",
    .run = cmd_proxy_run,
};
