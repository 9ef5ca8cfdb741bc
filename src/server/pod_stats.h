/* The proxy's per-pod request figures, polled for custom.metrics.k8s.io (pod_stats.c). */
#ifndef KROLL_SERVER_POD_STATS_H
#define KROLL_SERVER_POD_STATS_H

#include "api/api.h"

struct pod_stats;

/* Starts polling the proxy of data_dir and registers the API's custom metrics hook and the
 * PromQL source (promql_set_source); NULL (and neither) when no thread could be started. */
struct pod_stats *pod_stats_start(struct api *api, const char *data_dir);
void pod_stats_stop(struct pod_stats *ps);

#endif
