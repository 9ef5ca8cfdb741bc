/* Runs the controllers of controllers.def on the server's loop. */
#include "controllers/controllers.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct controllers {
    struct ctl *c[32];
    int n;
    struct ctl *disruption;
};

struct controllers *controllers_start(struct kc *kc)
{
    struct controllers *cs = xcalloc(1, sizeof *cs);

#define XX(name) cs->c[cs->n++] = ctrl_##name##_start(kc);
#include "controllers/controllers.def"
#undef XX
    for (int i = 0; i < cs->n; i++)
        if (cs->c[i] && strcmp(ctl_name(cs->c[i]), "disruption-controller") == 0)
            cs->disruption = cs->c[i];
    return cs;
}

int controllers_evict(struct controllers *cs, const json_t *pod, const json_t *eviction,
                      int dry_run, struct err *err)
{
    if (!cs || !cs->disruption)
        return err_set(err, -E_INTERNAL, "the disruption controller is not running");
    return ctrl_disruption_evict(cs->disruption, pod, eviction, dry_run, err);
}

void controllers_stop(struct controllers *cs)
{
    if (!cs)
        return;
    for (int i = 0; i < cs->n; i++)
        ctl_free(cs->c[i]);
    free(cs);
}
