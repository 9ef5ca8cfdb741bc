#include "core/log.h"

int proxy_main(void)
{
    log_msg("proxy");
    return 0;
}
