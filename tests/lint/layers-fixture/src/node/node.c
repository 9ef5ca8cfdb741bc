#include "node/node.h"
#include "node/node-int.h"

#include "core/log.h"

#include <stdio.h>

int node_hooks;

int node_start(const char *dir)
{
    char path[256];

    snprintf(path, sizeof path, "%s/pods/%d", dir, node_hooks);
    log_msg(path);
    return 0;
}

int node__pods(void)
{
    return node_hooks;
}
