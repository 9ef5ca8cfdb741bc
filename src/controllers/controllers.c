/* Runs the controllers of controllers.def on the server's loop. */
#include "controllers/controllers.h"

#include <stdlib.h>

#include "core/log.h"

struct controllers {
    struct ctl *c[32];
    int n;
};

struct controllers *controllers_start(struct api *api)
{
    struct controllers *cs = xcalloc(1, sizeof *cs);

#define XX(name) cs->c[cs->n++] = ctrl_##name##_start(api);
#include "controllers/controllers.def"
#undef XX
    return cs;
}

void controllers_stop(struct controllers *cs)
{
    if (!cs)
        return;
    for (int i = 0; i < cs->n; i++)
        ctl_free(cs->c[i]);
    free(cs);
}
