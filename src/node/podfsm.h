/* The kubelet's per-pod lifecycle as one state machine: states x events -> next state + action
 * (s6-supervise's table, named after the Kubernetes pod worker's SyncPod, TerminatingPod and
 * TerminatedPod). Pure: the kubelet observes events and executes the actions; nothing here
 * does I/O but the debug log of each transition. */
#ifndef KROLL_NODE_PODFSM_H
#define KROLL_NODE_PODFSM_H

#include <stdint.h>

/* Where a pod record is. The first five are the pod worker's SyncPod (the pod should run),
 * the next two TerminatingPod, then TerminatedPod; CLEANED is the freed record. */
enum pod_state {
    POD_NO_SANDBOX, /* no shim serves the pod: a new record, or its shim failed or died */
    POD_SPAWNING,   /* a shim is being started on a helper thread */
    POD_ADOPTING,   /* subscribed to a running shim, waiting for its state */
    POD_MOUNTING,   /* the shim serves; volumes not set up yet */
    POD_SYNCING,    /* containers are driven: started, restarted, probed */
    POD_DRAINING,   /* deleted: waiting for the proxy's drain (or the grace period) */
    POD_KILLING,    /* deleted and drained: preStop, SIGTERM, SIGKILL at the deadline */
    POD_TERMINATED, /* nothing runs: the final status and clean-up are scheduled */
    POD_CLEANED,    /* the record is freed (the shim stopped, the object removed) */
    POD_NSTATES
};

/* What the kubelet observed. */
enum pod_event {
    PEV_SYNC,         /* a sync of a pod that should run (not deleted, not finished) */
    PEV_SHIM_FOUND,   /* a live shim answered the subscription (re-adoption) */
    PEV_SHIM_MISSING, /* no live shim for the pod */
    PEV_SPAWN_OK,     /* the shim started and its events are subscribed */
    PEV_SPAWN_FAILED, /* the shim could not be started */
    PEV_ADOPTED,      /* the re-adopted shim's state has been applied */
    PEV_SHIM_LOST,    /* the shim's connection ended: its containers died with it */
    PEV_MOUNTED,      /* the pod's volumes are set up */
    PEV_MOUNT_FAILED, /* a volume could not be set up */
    PEV_DELETE,       /* the object has a deletionTimestamp (seen again: maybe a shorter grace) */
    PEV_DRAINED,      /* the proxy drained the pod, or the grace period ran out waiting */
    PEV_STOPPED,      /* no container runs, starts or runs a hook */
    PEV_FINISHED,     /* the clean-up timer fired */
    PEV_NOTHING_RUNS, /* deleted, and no shim runs for it: nothing to stop */
    PEV_OBJECT_GONE,  /* the object is gone or replaced (force delete, deleted while down) */
    PEV_NEVENTS
};

/* What the kubelet does on a transition. */
enum pod_action {
    PACT_NONE,
    PACT_SANDBOX,     /* look for a live shim to re-adopt (then SHIM_FOUND or SHIM_MISSING) */
    PACT_SPAWN,       /* count what a dead shim ran, start a new shim on a helper thread */
    PACT_SYNC_NOW,    /* enqueue the pod: the next step can be taken */
    PACT_RETRY,       /* enqueue the pod in 5 s (the failure was reported as an event) */
    PACT_MOUNT,       /* set up the volumes (then MOUNTED or MOUNT_FAILED) */
    PACT_DRIVE,       /* start, restart and step the containers (init ones in order) */
    PACT_LOST,        /* running containers exited 137 ContainerStatusUnknown */
    PACT_TERM_START,  /* record the grace deadline, stop liveness/startup probes, drain timer */
    PACT_TERM_UPDATE, /* a shorter grace period moves the deadline earlier; drained? */
    PACT_KILL_ALL,    /* preStop/SIGTERM every container, SIGKILL at the deadline */
    PACT_FINISH_SOON, /* arm the clean-up timer (never free the record in its own callback) */
    PACT_FINISH,      /* final status (Succeeded/Failed), stop the shim, remove the object */
    PACT_FORGET,      /* free the record, remove the object at once (grace 0) */
    PACT_FREE,        /* free the record and stop its processes; the object is not ours */
    PACT_REFUSED,     /* the event is not allowed in this state (a kubelet bug; logged) */
};

const char *podfsm_state_name(enum pod_state s);
const char *podfsm_event_name(enum pod_event e);
const char *podfsm_action_name(enum pod_action a);

/* The table's entry: the next state and the action, or PACT_REFUSED (next = s). */
enum pod_action podfsm_next(enum pod_state s, enum pod_event e, enum pod_state *next);

/* The one place a pod's state changes: applies e to *s, logs old -> new at debug level
 * (component "kubelet"), refuses an event the state does not allow (logged as a warning,
 * abort in builds without NDEBUG) and returns the action to execute. pod names the pod in
 * the log lines (borrowed). */
enum pod_action podfsm_step(enum pod_state *s, enum pod_event e, const char *pod);

/* Deleted: TerminatingPod or TerminatedPod (no new container starts, liveness is off). */
static inline int podfsm_terminating(enum pod_state s)
{
    return s >= POD_DRAINING && s < POD_CLEANED;
}

/* What an exited container does next, by the pod's restartPolicy ("Always", "OnFailure",
 * "Never"; NULL is Always) and its exit code. An init container never restarts after
 * success (Always counts as OnFailure for it). */
enum cont_next {
    CONT_RESTART, /* start it again (after the crash back-off) */
    CONT_DONE,    /* an init container succeeded: the next one may run */
    CONT_STAYS,   /* it stays exited (Never, or OnFailure after success) */
};
enum cont_next podfsm_cont_exit(const char *policy, int init, int exit_code);

/* A second delete with grace_ms while terminating with cur_grace_ms until cur_deadline: as
 * the API (deletionTimestamp = now + G) the smaller period counts from now. 1 with *deadline
 * set when it shortens, else 0. */
int podfsm_grace_shorter(int64_t now, int64_t grace_ms, int64_t cur_grace_ms, int64_t cur_deadline,
                         int64_t *deadline);

/* When SIGKILL follows a SIGTERM sent at sigterm_ms for a grace deadline: never sooner than
 * PODFSM_SIGTERM_MIN_MS after the SIGTERM (the kubelet's 2-second extension). */
#define PODFSM_SIGTERM_MIN_MS 2000
int64_t podfsm_kill_at(int64_t deadline, int64_t sigterm_ms);

#endif
