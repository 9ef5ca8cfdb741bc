/* Pure decisions of the ReplicaSet controller and the scheduler, apart from their I/O so that
 * unit tests can drive them with plain objects (the Deployment's are in rollout.h). */
#ifndef KROLL_CONTROLLERS_DECIDE_H
#define KROLL_CONTROLLERS_DECIDE_H

#include <jansson.h>
#include <stddef.h>

/* Sorts a ReplicaSet's active pods (borrowed) so that the first are the ones to delete when
 * scaling down: upstream's ActivePodsWithRanks order (k8s-semantics.md section 3.10, ranks 1-4
 * and 6-8; rank 5, sibling pods per node, is moot on one node; times compare exactly). */
void rs_victims_sort(json_t **pods, size_t n);

/* Picks the first node of nodes (a map name -> Node, as ctl_map gives; NULL for none) that pod
 * fits, counting the requests of the pods of pods (a map, NULL for none; every pod bound to
 * the node and not finished counts, terminating ones included) against the node's allocatable
 * (section 11). Returns its name (borrowed from nodes) or NULL with the FailedScheduling
 * message in msg. */
const char *sched_pick_node(const json_t *nodes, const json_t *pod, const json_t *pods, char *msg,
                            size_t msg_size);

#endif
