#include "core/log.h"

int controllers_start(void)
{
    log_msg("controllers");
    return 0;
}
