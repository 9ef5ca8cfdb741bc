/* status.conditions helpers (core/cond.c), shared by the controllers and the kubelet. */
#ifndef KROLL_CORE_COND_H
#define KROLL_CORE_COND_H

#include <jansson.h>

/* The condition of a type in obj's status.conditions (borrowed) or NULL. */
json_t *cond_get(const json_t *obj, const char *type);
/* Sets condition c (taken) in status.conditions following the timestamp rules of
 * k8s-semantics §4.3: unchanged status+reason keeps everything; same status keeps
 * lastTransitionTime; the changed condition moves to the end. Returns 1 if changed. */
int cond_set(json_t *status, json_t *c);
/* Removes the condition of a type from status.conditions, if there is one. */
void cond_del(json_t *status, const char *type);

#endif
