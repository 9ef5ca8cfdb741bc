/* Starts and stops every controller listed in controllers.def. */
#ifndef KROLL_CONTROLLERS_H
#define KROLL_CONTROLLERS_H

#include "client/client.h"

#define XX(name) struct ctl *ctrl_##name##_start(struct kc *kc);
#include "controllers/controllers.def"
#undef XX

struct controllers;
struct controllers *controllers_start(struct kc *kc);
void controllers_stop(struct controllers *c);

/* pods/eviction (the API's evict hook, which the server sets): checks the pod's
 * PodDisruptionBudgets as the eviction API does and deletes the pod when they allow it. */
int ctrl_disruption_evict(struct ctl *c, const json_t *pod, const json_t *eviction, int dry_run,
                          struct err *err);
int controllers_evict(struct controllers *cs, const json_t *pod, const json_t *eviction,
                      int dry_run, struct err *err);

#endif
