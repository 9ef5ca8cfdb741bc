/* The kubelet's per-pod state machine: one table of states x events (podfsm.h). An entry
 * absent from the table is an event the state does not allow; podfsm_step() refuses it.
 * Pure but for the debug log; kubelet.c executes the actions. */
#include "node/podfsm.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct podfsm_tr {
    unsigned char ok, next, act;
};

#define T(s, e, n, a) [POD_##s][PEV_##e] = {1, POD_##n, PACT_##a}
/* Events every live state takes the same way. */
#define GONE(s) T(s, NOTHING_RUNS, CLEANED, FORGET), T(s, OBJECT_GONE, CLEANED, FREE)

static const struct podfsm_tr podfsm_table[POD_NSTATES][PEV_NEVENTS] = {
    /* SyncPod: a sandbox first (re-adopt a running shim, else start one). A deleted pod
     * without a record yet (deleted while the server was down) is re-adopted first, so its
     * containers are stopped gracefully. */
    T(NO_SANDBOX, SYNC, NO_SANDBOX, SANDBOX),
    T(NO_SANDBOX, DELETE, NO_SANDBOX, SANDBOX),
    T(NO_SANDBOX, SHIM_FOUND, ADOPTING, NONE),
    T(NO_SANDBOX, SHIM_MISSING, SPAWNING, SPAWN),
    GONE(NO_SANDBOX),
    /* While the shim starts or is re-adopted the pod waits, deleted or not: the outcome
     * enqueues it, and a deletion then terminates what runs. */
    T(SPAWNING, SYNC, SPAWNING, NONE),
    T(SPAWNING, DELETE, SPAWNING, NONE),
    T(SPAWNING, SPAWN_OK, MOUNTING, SYNC_NOW),
    T(SPAWNING, SPAWN_FAILED, NO_SANDBOX, RETRY),
    GONE(SPAWNING),
    T(ADOPTING, SYNC, ADOPTING, NONE),
    T(ADOPTING, DELETE, ADOPTING, NONE),
    T(ADOPTING, ADOPTED, MOUNTING, SYNC_NOW),
    T(ADOPTING, SHIM_LOST, NO_SANDBOX, LOST),
    GONE(ADOPTING),
    T(MOUNTING, SYNC, MOUNTING, MOUNT),
    T(MOUNTING, MOUNTED, SYNCING, DRIVE),
    T(MOUNTING, MOUNT_FAILED, MOUNTING, RETRY),
    T(MOUNTING, SHIM_LOST, NO_SANDBOX, LOST),
    T(MOUNTING, DELETE, DRAINING, TERM_START),
    GONE(MOUNTING),
    /* A lost shim is started again; the volumes stay (they live in the pod dir). */
    T(SYNCING, SYNC, SYNCING, DRIVE),
    T(SYNCING, SHIM_LOST, NO_SANDBOX, LOST),
    T(SYNCING, DELETE, DRAINING, TERM_START),
    GONE(SYNCING),
    /* TerminatingPod: the proxy drains the pod first; containers that stop meanwhile change
     * nothing (the kill after the drain looks again). */
    T(DRAINING, DELETE, DRAINING, TERM_UPDATE),
    T(DRAINING, DRAINED, KILLING, KILL_ALL),
    T(DRAINING, SHIM_LOST, DRAINING, LOST),
    T(DRAINING, STOPPED, DRAINING, NONE),
    GONE(DRAINING),
    T(KILLING, DELETE, KILLING, TERM_UPDATE),
    T(KILLING, DRAINED, KILLING, NONE),
    T(KILLING, SHIM_LOST, KILLING, LOST),
    T(KILLING, STOPPED, TERMINATED, FINISH_SOON),
    GONE(KILLING),
    /* TerminatedPod: only the clean-up timer (or the object's end) moves it. */
    T(TERMINATED, DELETE, TERMINATED, NONE),
    T(TERMINATED, DRAINED, TERMINATED, NONE),
    T(TERMINATED, STOPPED, TERMINATED, NONE),
    T(TERMINATED, SHIM_LOST, TERMINATED, LOST),
    T(TERMINATED, FINISHED, CLEANED, FINISH),
    GONE(TERMINATED),
};

#undef GONE
#undef T

static const char *const state_names[POD_NSTATES] = {
    "NoSandbox", "Spawning", "Adopting",   "Mounting", "Syncing",
    "Draining",  "Killing",  "Terminated", "Cleaned",
};

static const char *const event_names[PEV_NEVENTS] = {
    "Sync",    "ShimFound", "ShimMissing", "SpawnOK",     "SpawnFailed",
    "Adopted", "ShimLost",  "Mounted",     "MountFailed", "Delete",
    "Drained", "Stopped",   "Finished",    "NothingRuns", "ObjectGone",
};

static const char *const action_names[] = {
    "None",      "Sandbox",    "Spawn",   "SyncNow",    "Retry",  "Mount",  "Drive", "Lost",
    "TermStart", "TermUpdate", "KillAll", "FinishSoon", "Finish", "Forget", "Free",  "Refused",
};

const char *podfsm_state_name(enum pod_state s)
{
    return (unsigned)s < POD_NSTATES ? state_names[s] : "?";
}

const char *podfsm_event_name(enum pod_event e)
{
    return (unsigned)e < PEV_NEVENTS ? event_names[e] : "?";
}

const char *podfsm_action_name(enum pod_action a)
{
    return (unsigned)a < sizeof action_names / sizeof action_names[0] ? action_names[a] : "?";
}

enum pod_action podfsm_next(enum pod_state s, enum pod_event e, enum pod_state *next)
{
    const struct podfsm_tr *t;

    *next = s;
    if ((unsigned)s >= POD_NSTATES || (unsigned)e >= PEV_NEVENTS)
        return PACT_REFUSED;
    t = &podfsm_table[s][e];
    if (!t->ok)
        return PACT_REFUSED;
    *next = (enum pod_state)t->next;
    return (enum pod_action)t->act;
}

enum pod_action podfsm_step(enum pod_state *s, enum pod_event e, const char *pod)
{
    enum pod_state old = *s, next;
    enum pod_action a = podfsm_next(old, e, &next);

    if (a == PACT_REFUSED) {
        log_warn("kubelet", "msg=\"pod event not allowed in its state\" pod=%s state=%s event=%s",
                 pod ? pod : "", podfsm_state_name(old), podfsm_event_name(e));
#ifndef NDEBUG
        if (!getenv("KROLL_PODFSM_NOABORT")) /* the unit test checks the refusal itself */
            abort();
#endif
        return a;
    }
    *s = next;
    log_debug("kubelet", "msg=\"pod state\" pod=%s event=%s from=%s to=%s action=%s",
              pod ? pod : "", podfsm_event_name(e), podfsm_state_name(old), podfsm_state_name(next),
              podfsm_action_name(a));
    return a;
}

enum cont_next podfsm_cont_exit(const char *policy, int init, int exit_code)
{
    if (!policy || !*policy)
        policy = "Always";
    if (init && strcmp(policy, "Always") == 0)
        policy = "OnFailure";
    if (init && exit_code == 0)
        return CONT_DONE;
    if (strcmp(policy, "Never") == 0)
        return CONT_STAYS;
    if (strcmp(policy, "OnFailure") == 0)
        return exit_code != 0 ? CONT_RESTART : CONT_STAYS;
    return CONT_RESTART;
}

int podfsm_grace_shorter(int64_t now, int64_t grace_ms, int64_t cur_grace_ms, int64_t cur_deadline,
                         int64_t *deadline)
{
    if (grace_ms >= cur_grace_ms || now + grace_ms >= cur_deadline)
        return 0;
    *deadline = now + grace_ms;
    return 1;
}

int64_t podfsm_kill_at(int64_t deadline, int64_t sigterm_ms)
{
    return deadline < sigterm_ms + PODFSM_SIGTERM_MIN_MS ? sigterm_ms + PODFSM_SIGTERM_MIN_MS
                                                         : deadline;
}
