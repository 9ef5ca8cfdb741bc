/* The kubelet's per-pod state machine (node/podfsm.c), table-driven from the pod lifecycle
 * items of k8s-semantics.md (7.1 restart policies, 9.1/9.2 termination: grace period, preStop,
 * deletion while pulling or starting, init containers failing): each case is a sequence of
 * events with the state and action expected after each; then properties of the whole table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "node/podfsm.h"

#define S(x) POD_##x
#define E(x) PEV_##x
#define A(x) PACT_##x

struct step {
    enum pod_event ev;
    enum pod_state st;
    enum pod_action act;
};

struct scenario {
    const char *name;
    enum pod_state from;
    struct step steps[16];
    int n;
};

#define STEP(e, s, a)                                                                              \
    {                                                                                              \
        E(e), S(s), A(a)                                                                           \
    }
#define CASE(nm, f, ...)                                                                           \
    {                                                                                              \
        .name = nm, .from = S(f), .steps = {__VA_ARGS__},                                          \
        .n = sizeof((struct step[]){__VA_ARGS__}) / sizeof(struct step)                            \
    }

static const struct scenario scenarios[] = {
    CASE("a new pod starts: sandbox, volumes, containers", NO_SANDBOX,
         STEP(SYNC, NO_SANDBOX, SANDBOX), STEP(SHIM_MISSING, SPAWNING, SPAWN),
         STEP(SYNC, SPAWNING, NONE), STEP(SPAWN_OK, MOUNTING, SYNC_NOW),
         STEP(SYNC, MOUNTING, MOUNT), STEP(MOUNTED, SYNCING, DRIVE), STEP(SYNC, SYNCING, DRIVE)),
    CASE("a volume fails, then mounts on the retry", MOUNTING, STEP(SYNC, MOUNTING, MOUNT),
         STEP(MOUNT_FAILED, MOUNTING, RETRY), STEP(SYNC, MOUNTING, MOUNT),
         STEP(MOUNTED, SYNCING, DRIVE)),
    CASE("the shim cannot start: retried", NO_SANDBOX, STEP(SYNC, NO_SANDBOX, SANDBOX),
         STEP(SHIM_MISSING, SPAWNING, SPAWN), STEP(SPAWN_FAILED, NO_SANDBOX, RETRY),
         STEP(SYNC, NO_SANDBOX, SANDBOX), STEP(SHIM_MISSING, SPAWNING, SPAWN)),
    /* 7.1: the containers died with their shim (137 ContainerStatusUnknown); a new shim. */
    CASE("the shim dies while the pod runs", SYNCING, STEP(SHIM_LOST, NO_SANDBOX, LOST),
         STEP(SYNC, NO_SANDBOX, SANDBOX), STEP(SHIM_MISSING, SPAWNING, SPAWN),
         STEP(SPAWN_OK, MOUNTING, SYNC_NOW), STEP(SYNC, MOUNTING, MOUNT)),
    CASE("a server restart re-adopts a running shim", NO_SANDBOX, STEP(SYNC, NO_SANDBOX, SANDBOX),
         STEP(SHIM_FOUND, ADOPTING, NONE), STEP(SYNC, ADOPTING, NONE),
         STEP(ADOPTED, MOUNTING, SYNC_NOW), STEP(SYNC, MOUNTING, MOUNT),
         STEP(MOUNTED, SYNCING, DRIVE)),
    CASE("the shim dies during its re-adoption", ADOPTING, STEP(SHIM_LOST, NO_SANDBOX, LOST),
         STEP(SYNC, NO_SANDBOX, SANDBOX)),
    /* 9.1/9.2 with the proxy's drain first: the default graceful delete. */
    CASE("graceful delete: drain, kill, final status, removal", SYNCING,
         STEP(DELETE, DRAINING, TERM_START), STEP(DRAINED, KILLING, KILL_ALL),
         STEP(STOPPED, TERMINATED, FINISH_SOON), STEP(FINISHED, CLEANED, FINISH)),
    /* preStop runs inside the grace period: nothing is STOPPED while its hook runs; the drain
     * timer and the annotation may both report the drain. */
    CASE("preStop: the pod waits for the hook and the SIGTERM", SYNCING,
         STEP(DELETE, DRAINING, TERM_START), STEP(DRAINED, KILLING, KILL_ALL),
         STEP(DRAINED, KILLING, NONE), STEP(DELETE, KILLING, TERM_UPDATE),
         STEP(STOPPED, TERMINATED, FINISH_SOON), STEP(DRAINED, TERMINATED, NONE),
         STEP(FINISHED, CLEANED, FINISH)),
    /* 9.1: a second delete with a smaller grace period moves the deadline (TERM_UPDATE). */
    CASE("grace period shortened while draining", SYNCING, STEP(DELETE, DRAINING, TERM_START),
         STEP(DELETE, DRAINING, TERM_UPDATE), STEP(DRAINED, KILLING, KILL_ALL),
         STEP(DELETE, KILLING, TERM_UPDATE), STEP(STOPPED, TERMINATED, FINISH_SOON),
         STEP(DELETE, TERMINATED, NONE)),
    CASE("containers that exit before the drain ends wait for it", SYNCING,
         STEP(DELETE, DRAINING, TERM_START), STEP(STOPPED, DRAINING, NONE),
         STEP(SHIM_LOST, DRAINING, LOST), STEP(DRAINED, KILLING, KILL_ALL),
         STEP(STOPPED, TERMINATED, FINISH_SOON)),
    /* A container waiting for its image pull runs nothing: it stops at once once drained. */
    CASE("deletion while pulling", SYNCING, STEP(SYNC, SYNCING, DRIVE),
         STEP(DELETE, DRAINING, TERM_START), STEP(DRAINED, KILLING, KILL_ALL),
         STEP(STOPPED, TERMINATED, FINISH_SOON), STEP(FINISHED, CLEANED, FINISH)),
    CASE("deletion while the volumes are set up", MOUNTING, STEP(DELETE, DRAINING, TERM_START),
         STEP(DRAINED, KILLING, KILL_ALL)),
    /* The sandbox's start is waited for; then what runs is stopped gracefully. */
    CASE("deletion while starting: the shim comes up", SPAWNING, STEP(DELETE, SPAWNING, NONE),
         STEP(SPAWN_OK, MOUNTING, SYNC_NOW), STEP(DELETE, DRAINING, TERM_START),
         STEP(DRAINED, KILLING, KILL_ALL), STEP(STOPPED, TERMINATED, FINISH_SOON)),
    CASE("deletion while starting: nothing runs yet", SPAWNING,
         STEP(NOTHING_RUNS, CLEANED, FORGET)),
    CASE("deleted while the server was down: re-adopt, then stop", NO_SANDBOX,
         STEP(DELETE, NO_SANDBOX, SANDBOX), STEP(SHIM_FOUND, ADOPTING, NONE),
         STEP(DELETE, ADOPTING, NONE), STEP(ADOPTED, MOUNTING, SYNC_NOW),
         STEP(DELETE, DRAINING, TERM_START)),
    CASE("force delete of a running pod", SYNCING, STEP(OBJECT_GONE, CLEANED, FREE)),
    CASE("the shim dies while terminating; nothing left to stop", KILLING,
         STEP(SHIM_LOST, KILLING, LOST), STEP(NOTHING_RUNS, CLEANED, FORGET)),
    CASE("the object goes while the pod is cleaned up", TERMINATED,
         STEP(OBJECT_GONE, CLEANED, FREE)),
};

static void test_scenarios(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const struct scenario *sc = &scenarios[i];
        enum pod_state s = sc->from;

        for (int j = 0; j < sc->n; j++) {
            enum pod_action a = podfsm_step(&s, sc->steps[j].ev, sc->name);

            if (s != sc->steps[j].st || a != sc->steps[j].act)
                fail_msg("%s, step %d (%s): got %s/%s, want %s/%s", sc->name, j + 1,
                         podfsm_event_name(sc->steps[j].ev), podfsm_state_name(s),
                         podfsm_action_name(a), podfsm_state_name(sc->steps[j].st),
                         podfsm_action_name(sc->steps[j].act));
        }
    }
}

/* 7.1 and 7.2: what an exited container does, by restartPolicy, for regular and init
 * containers (an init container never restarts after success; a failed one follows the
 * policy, so with Never the pod fails). */
static void test_restart_policy(void **state)
{
    static const struct {
        const char *policy;
        int init, code;
        enum cont_next want;
    } cases[] = {
        {"Always", 0, 0, CONT_RESTART},  {"Always", 0, 1, CONT_RESTART},
        {NULL, 0, 0, CONT_RESTART},      {"", 0, 137, CONT_RESTART},
        {"OnFailure", 0, 0, CONT_STAYS}, {"OnFailure", 0, 2, CONT_RESTART},
        {"Never", 0, 0, CONT_STAYS},     {"Never", 0, 1, CONT_STAYS},
        {"Always", 1, 0, CONT_DONE},     {"Always", 1, 1, CONT_RESTART},
        {"OnFailure", 1, 0, CONT_DONE},  {"OnFailure", 1, 3, CONT_RESTART},
        {"Never", 1, 0, CONT_DONE},      {"Never", 1, 1, CONT_STAYS},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (podfsm_cont_exit(cases[i].policy, cases[i].init, cases[i].code) != cases[i].want)
            fail_msg("case %zu: policy=%s init=%d code=%d", i,
                     cases[i].policy ? cases[i].policy : "(null)", cases[i].init, cases[i].code);
}

/* 9.1: a smaller grace period counts from now and only ever shortens; 9.2: SIGKILL never
 * comes sooner than 2 s after SIGTERM, also when preStop used up the grace period. */
static void test_grace(void **state)
{
    int64_t d = -1;

    (void)state;
    assert_int_equal(podfsm_grace_shorter(1000, 5000, 30000, 31000, &d), 1);
    assert_int_equal(d, 6000);
    d = -1;
    assert_int_equal(podfsm_grace_shorter(1000, 30000, 30000, 31000, &d), 0); /* equal */
    assert_int_equal(podfsm_grace_shorter(1000, 60000, 30000, 31000, &d), 0); /* longer */
    /* Smaller than the first, but asked so late that now + G is past the deadline. */
    assert_int_equal(podfsm_grace_shorter(29000, 5000, 30000, 31000, &d), 0);
    assert_int_equal(d, -1);
    assert_int_equal(podfsm_grace_shorter(1000, 0, 30000, 31000, &d), 1); /* --grace-period=0 */
    assert_int_equal(d, 1000);

    assert_int_equal(podfsm_kill_at(30000, 10000), 30000);
    assert_int_equal(podfsm_kill_at(10000, 9000), 9000 + PODFSM_SIGTERM_MIN_MS);
    /* preStop ran to the deadline: SIGTERM at the deadline, SIGKILL 2 s later. */
    assert_int_equal(podfsm_kill_at(5000, 5000), 7000);
    assert_int_equal(podfsm_kill_at(5000, 6000), 8000); /* preStop overran */
}

/* Events a state does not allow are refused and change nothing. */
static void test_refused(void **state)
{
    static const struct {
        enum pod_state s;
        enum pod_event e;
    } cases[] = {
        {S(NO_SANDBOX), E(SHIM_LOST)}, /* no subscription yet */
        {S(NO_SANDBOX), E(SPAWN_OK)},  {S(SYNCING), E(FINISHED)},    {S(SYNCING), E(STOPPED)},
        {S(DRAINING), E(SYNC)},        {S(KILLING), E(SPAWN_OK)},    {S(TERMINATED), E(SYNC)},
        {S(CLEANED), E(SYNC)},         {S(CLEANED), E(OBJECT_GONE)}, {S(SPAWNING), E(ADOPTED)},
        {S(MOUNTING), E(DRAINED)},     {S(NSTATES), E(SYNC)},        {S(SYNCING), E(NEVENTS)},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum pod_state s = cases[i].s;

        assert_int_equal(podfsm_step(&s, cases[i].e, "refused"), PACT_REFUSED);
        assert_int_equal(s, cases[i].s);
    }
}

/* Properties of the whole table: every live state can end (the object gone, or nothing runs);
 * a deleted pod never goes back to running; only the clean-up actions end in CLEANED; and
 * every state, event and action has a name. */
static void test_table(void **state)
{
    (void)state;
    for (int s = 0; s < POD_NSTATES; s++) {
        assert_string_not_equal(podfsm_state_name((enum pod_state)s), "?");
        for (int e = 0; e < PEV_NEVENTS; e++) {
            enum pod_state n;
            enum pod_action a = podfsm_next((enum pod_state)s, (enum pod_event)e, &n);

            if (s != POD_CLEANED && (e == PEV_OBJECT_GONE || e == PEV_NOTHING_RUNS))
                assert_int_equal(n, POD_CLEANED);
            if (s == POD_CLEANED)
                assert_int_equal(a, PACT_REFUSED);
            if (a == PACT_REFUSED)
                continue;
            if (podfsm_terminating((enum pod_state)s))
                assert_true(podfsm_terminating(n) || n == POD_CLEANED);
            assert_int_equal(n == POD_CLEANED,
                             a == PACT_FINISH || a == PACT_FORGET || a == PACT_FREE);
            assert_string_not_equal(podfsm_action_name(a), "?");
        }
    }
    for (int e = 0; e < PEV_NEVENTS; e++)
        assert_string_not_equal(podfsm_event_name((enum pod_event)e), "?");
    assert_false(podfsm_terminating(POD_SYNCING));
    assert_true(podfsm_terminating(POD_DRAINING));
    assert_true(podfsm_terminating(POD_TERMINATED));
    assert_false(podfsm_terminating(POD_CLEANED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios), cmocka_unit_test(test_restart_policy),
        cmocka_unit_test(test_grace),     cmocka_unit_test(test_refused),
        cmocka_unit_test(test_table),
    };

    setenv("KROLL_PODFSM_NOABORT", "1", 1); /* builds without NDEBUG abort on a refusal */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
