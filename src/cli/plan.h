/* `kroll rollouts plan`: the Deployment and Rollout controllers' own decisions (rollout.h,
 * argo.h, the scheduler's sched_pick_node) run on a simulated clock against a snapshot of the
 * cluster. plan_sim.c is the simulation (no I/O: unit-tested with plain objects); plan.c reads
 * the cluster through the API, builds the model and prints the timeline. */
#ifndef KROLL_CLI_PLAN_H
#define KROLL_CLI_PLAN_H

#include <jansson.h>
#include <stddef.h>

/* How long things take, in seconds (plan.c measures them from the current pods). */
struct plan_model {
    double start_s;     /* pod created -> container running */
    double ready_s;     /* running -> Ready (the first probe success) */
    double min_ready_s; /* minReadySeconds: Ready -> available */
    double term_s;      /* deletion -> gone (preStop and exit; the scheduler still counts it) */
    double lag_s;       /* a controller's reaction to a change it watches */
};

/* One line of the timeline: after step at time t. */
struct plan_row {
    double t;
    char step[96];
    long long new_desired, new_ready, old_desired, old_ready, available, min_available, weight;
};

struct plan {
    /* Inputs, all borrowed. */
    const json_t *obj;        /* the Deployment or Rollout with the new spec */
    int rollout;              /* obj is an argoproj.io Rollout */
    const json_t *rss;        /* its ReplicaSets (array) */
    const json_t *pods;       /* its pods (array) */
    json_t *nodes;            /* Nodes as a map name -> Node, or NULL: no scheduling check */
    json_t *sched_pods;       /* every pod as a map key -> Pod (sim pods are added and removed) */
    const json_t *pdbs;       /* PodDisruptionBudgets of the namespace (array), or NULL */
    const json_t *analysis_s; /* canary step index (string) -> seconds an analysis takes */
    struct plan_model m;
    /* Outputs (plan_release frees them). */
    struct plan_row *rows;
    size_t nrows;
    double duration;   /* seconds to completion, < 0 when it never completes */
    double waits;      /* of which seconds are pauses and analysis */
    double switch_t; /* blue-green: when the active Service moves (-1: not blue-green) */
    int promote_waits; /* pauses with no end (the duration assumes promote at once) */
    json_t *problems;  /* array of {"reason", "message", "t"} */
};

#define PLAN_MAX_ROWS 2000       /* timeline lines kept */
#define PLAN_MAX_PODS 4096       /* pods simulated (each replica and surge pod) */
#define PLAN_MAX_SECONDS 86400.0 /* simulated time after which the plan gives up */

/* Runs the simulation; 0, or -1 with a problem recorded when the input cannot be planned. */
int plan_run(struct plan *p);
void plan_release(struct plan *p);

#endif
