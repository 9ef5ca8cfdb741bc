/* Pure scheduling predicates on plain objects, as upstream's TaintToleration and NodeAffinity
 * filter plugins and the taint-eviction controller decide them (k8s.io/api helpers
 * ToleratesTaint and nodeaffinity.RequiredNodeAffinity). No I/O: unit tests drive them. */
#ifndef KROLL_CONTROLLERS_TAINTS_H
#define KROLL_CONTROLLERS_TAINTS_H

#include <jansson.h>

/* 1 when toleration tol tolerates taint: its effect (empty: any) and key (empty: any) match,
 * and operator Exists, or Equal/empty with the same value. */
int toleration_tolerates(const json_t *tol, const json_t *taint);

/* The first taint of node whose effect is NoSchedule or NoExecute (only NoExecute when
 * noexec_only) that no toleration of pod tolerates; NULL when all are tolerated. Borrowed. */
const json_t *taint_untolerated(const json_t *node, const json_t *pod, int noexec_only);

/* 1 when node's labels match pod's spec.nodeSelector and its node's metadata matches
 * spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution (terms ORed,
 * expressions and fields of one term ANDed; In, NotIn, Exists, DoesNotExist, Gt, Lt;
 * matchFields on metadata.name). Preferred terms only score, which cannot change the choice
 * of the single node, so they are not read. */
int node_affinity_matches(const json_t *node, const json_t *pod);

/* How long pod may stay on node given its NoExecute taints: -1 forever (no NoExecute taint,
 * or every one tolerated without tolerationSeconds), 0 now (one not tolerated, or a
 * tolerationSeconds <= 0), else the smallest tolerationSeconds of the tolerations used. */
long long noexec_toleration_seconds(const json_t *node, const json_t *pod);

#endif
