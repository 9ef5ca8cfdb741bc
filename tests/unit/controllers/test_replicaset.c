/* The ReplicaSet controller (controllers/replicaset.c) on the fake transport (fake.h), one row
 * per case of ../shared/reference/k8s-semantics.md: pods created and deleted to match
 * spec.replicas (section 3), the deletion ranking (3.10), adoption and release by selector
 * (3.2), status counts with minReadySeconds (checklist 16.11, 16.15, 17.27) and the
 * FailedCreate event and ReplicaFailure condition of a failed write (section 6). */
#include "fake.h"

#define NS "default"
#define RS_UID "11111111-0000-4000-8000-000000000001"
#define OWNED                                                                                      \
    ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web\","  \
    "\"uid\":\"" RS_UID "\",\"controller\":true}]"
/* A pod of NS named name with labels app=<app>, more metadata (",..." or "") and more fields. */
#define POD(name, app, meta, rest)                                                                 \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" NS "\",\"labels\":{\"app\":\"" app     \
    "\"}" meta "}" rest "}"
#define READY_SINCE(ts)                                                                            \
    ",\"spec\":{\"nodeName\":\"node-1\"},\"status\":{\"phase\":\"Running\",\"conditions\":[{"      \
    "\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"" ts "\"}]}"
#define READY READY_SINCE("2026-01-01T00:00:00Z")
#define RUNNING ",\"spec\":{\"nodeName\":\"node-1\"},\"status\":{\"phase\":\"Running\"}"
#define PENDING ",\"spec\":{\"nodeName\":\"node-1\"},\"status\":{\"phase\":\"Pending\"}"
#define UNSCHEDULED ",\"spec\":{},\"status\":{\"phase\":\"Pending\"}"
#define TERMINATING ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\""

struct want_write {
    const char *verb;
    enum res_id res;
    const char *prefix;
    int n;
};

struct want_field {
    const char *path, *json; /* json NULL: the field is absent */
};

struct rs_row {
    const char *name, *item;
    int replicas, min_ready;
    const char *pods[6];
    int ready_now;         /* pods to mark Ready just now (after the seeded ones) */
    const char *fail_verb; /* pod writes of this verb fail fail_n times */
    int fail_n;
    struct want_write writes[5];
    struct {
        const char *reason, *text;
        int n; /* exact, or when negative at least -n */
    } events[3];
    struct want_field status[6];
    int pods_left;
    const char *deleted[4], *kept[4];
};

static const struct rs_row rows[] = {
    {.name = "creates to replicas",
     .item = "3 (scale up)",
     .replicas = 3,
     .writes = {{"create", RES_POD, "web-", 3}, {"delete", RES_POD, NULL, 0}},
     .events = {{"SuccessfulCreate", "Created pod: web-", 3}},
     .status = {{"replicas", "3"}, {"readyReplicas", NULL}, {"observedGeneration", "1"}},
     .pods_left = 3},
    {.name = "deletes to replicas",
     .item = "3 (scale down)",
     .replicas = 1,
     .pods = {POD("a", "web", OWNED, READY), POD("b", "web", OWNED, READY),
              POD("c", "web", OWNED, READY)},
     .writes = {{"delete", RES_POD, NULL, 2}, {"create", RES_POD, NULL, 0}},
     .events = {{"SuccessfulDelete", "Deleted pod: ", 2}},
     .status = {{"replicas", "1"}, {"readyReplicas", "1"}, {"availableReplicas", "1"}},
     .pods_left = 1},
    {.name = "ranking: unscheduled, pending, not ready go first",
     .item = "3.10 ranks 1-3",
     .replicas = 1,
     .pods = {POD("ready", "web", OWNED, READY), POD("unsched", "web", OWNED, UNSCHEDULED),
              POD("pending", "web", OWNED, PENDING), POD("notready", "web", OWNED, RUNNING)},
     .writes = {{"delete", RES_POD, NULL, 3}},
     .events = {{"SuccessfulDelete", NULL, 3}},
     .status = {{"replicas", "1"}},
     .pods_left = 1,
     .deleted = {"unsched", "pending", "notready"},
     .kept = {"ready"}},
    {.name = "ranking: lower pod-deletion-cost first",
     .item = "3.10 rank 4",
     .replicas = 1,
     .pods = {POD("cheap", "web",
                  OWNED ",\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":\"-5\"}",
                  READY),
              POD("dear", "web",
                  OWNED ",\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":\"100\"}",
                  READY)},
     .writes = {{"delete", RES_POD, NULL, 1}},
     .status = {{"replicas", "1"}},
     .pods_left = 1,
     .deleted = {"cheap"},
     .kept = {"dear"}},
    {.name = "ranking: more recently ready first",
     .item = "3.10 rank 6",
     .replicas = 1,
     .pods = {POD("old", "web", OWNED, READY_SINCE("2026-01-01T00:00:00Z")),
              POD("recent", "web", OWNED, READY_SINCE("2026-02-01T00:00:00Z"))},
     .writes = {{"delete", RES_POD, NULL, 1}},
     .pods_left = 1,
     .deleted = {"recent"},
     .kept = {"old"}},
    {.name = "adopts a matching orphan",
     .item = "3.2 adoption",
     .replicas = 2,
     .pods = {POD("orphan", "web", "", READY)},
     .writes = {{"patch", RES_POD, "orphan", 1}, {"create", RES_POD, "web-", 1}},
     .events = {{"SuccessfulCreate", NULL, 1}},
     .status = {{"replicas", "2"}, {"readyReplicas", "1"}},
     .pods_left = 2,
     .kept = {"orphan"}},
    {.name = "leaves a non-matching orphan alone",
     .item = "3.2 adoption",
     .replicas = 1,
     .pods = {POD("stranger", "db", "", READY)},
     .writes = {{"patch", RES_POD, NULL, 0}, {"create", RES_POD, "web-", 1}},
     .status = {{"replicas", "1"}},
     .pods_left = 1},
    {.name = "releases an owned pod that no longer matches",
     .item = "3.2 release",
     .replicas = 1,
     .pods = {POD("relabeled", "db", OWNED, READY)},
     .writes = {{"patch", RES_POD, "relabeled", 1}, {"create", RES_POD, "web-", 1}},
     .status = {{"replicas", "1"}},
     .pods_left = 1},
    {.name = "terminating pods are not counted and are replaced",
     .item = "16.15",
     .replicas = 2,
     .pods = {POD("live", "web", OWNED, READY), POD("going", "web", OWNED TERMINATING, READY)},
     .writes = {{"create", RES_POD, "web-", 1}, {"delete", RES_POD, NULL, 0}},
     .status = {{"replicas", "2"}, {"readyReplicas", "1"}},
     .pods_left = 2},
    {.name = "available only after minReadySeconds",
     .item = "16.11, 17.27",
     .replicas = 3,
     .min_ready = 30,
     .pods = {POD("a", "web", OWNED, READY), POD("b", "web", OWNED, RUNNING),
              POD("c", "web", OWNED, RUNNING)},
     .ready_now = 1,
     .writes = {{"create", RES_POD, NULL, 0}},
     .status = {{"replicas", "3"},
                {"fullyLabeledReplicas", "3"},
                {"readyReplicas", "2"},
                {"availableReplicas", "1"},
                {"observedGeneration", "1"}},
     .pods_left = 3},
    {.name = "a failed create is a FailedCreate event and ReplicaFailure",
     .item = "section 6",
     .replicas = 2,
     .fail_verb = "create",
     .fail_n = 1000,
     .writes = {{"create", RES_POD, NULL, 0}},
     /* Each attempt is one event: the controller's own status write is the retry. */
     .events = {{"FailedCreate", "Error creating: injected create failure", -1}},
     .status = {{"replicas", "0"},
                {"conditions.ReplicaFailure.status", "\"True\""},
                {"conditions.ReplicaFailure.reason", "\"FailedCreate\""},
                {"conditions.ReplicaFailure.message", "\"injected create failure\""}}},
    {.name = "a create that fails once is retried",
     .item = "section 6",
     .replicas = 2,
     .fail_verb = "create",
     .fail_n = 1,
     .writes = {{"create", RES_POD, "web-", 2}},
     .events = {{"FailedCreate", NULL, 1}, {"SuccessfulCreate", NULL, 2}},
     .status = {{"replicas", "2"}, {"conditions", NULL}},
     .pods_left = 2},
};

static void run_row(const struct rs_row *row)
{
    struct fake *f = fake_new();
    json_t *rs;

    fake_add(f, RES_REPLICASET,
             "{\"metadata\":{\"name\":\"web\",\"namespace\":\"" NS "\",\"uid\":\"" RS_UID "\"},"
             "\"spec\":{\"replicas\":%d,\"minReadySeconds\":%d,\"selector\":{\"matchLabels\":"
             "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}",
             row->replicas, row->min_ready);
    for (int i = 0; i < 6 && row->pods[i]; i++)
        fake_add(f, RES_POD, "%s", row->pods[i]);
    if (row->ready_now)
        assert_int_equal(fake_pods_ready(f, NS, "web", row->ready_now, 0), row->ready_now);
    if (row->fail_verb)
        fake_fail(f, row->fail_verb, RES_POD, -E_FORBIDDEN, row->fail_n);
    fake_mark(f);
    fake_start(f, ctrl_replicaset_start(f->kc));
    fake_settle(f);

    for (int i = 0; i < 5 && row->writes[i].verb; i++) {
        const struct want_write *w = &row->writes[i];
        int n = fake_count_writes(f, w->verb, w->res, w->prefix);

        if (n != w->n)
            fail_msg("%s: %d %s writes of %s, want %d", row->name, n, w->verb,
                     w->prefix ? w->prefix : "*", w->n);
    }
    for (int i = 0; i < 3 && row->events[i].reason; i++) {
        int n = fake_count_events(f, row->events[i].reason, row->events[i].text);

        if (row->events[i].n >= 0 ? n != row->events[i].n : n < -row->events[i].n)
            fail_msg("%s: %d %s events, want %d (negative: at least)", row->name, n,
                     row->events[i].reason, row->events[i].n);
    }
    rs = fake_lookup(f, RES_REPLICASET, NS, "web");
    for (int i = 0; i < 6 && row->status[i].path; i++) {
        char path[128];

        snprintf(path, sizeof path, "status.%s", row->status[i].path);
        fake_check_field(rs, row->name, path, row->status[i].json);
    }
    if (fake_count_pods(f, NS, "web") != row->pods_left)
        fail_msg("%s: %d active pods, want %d", row->name, fake_count_pods(f, NS, "web"),
                 row->pods_left);
    for (int i = 0; i < 4 && row->deleted[i]; i++)
        if (fake_count_writes(f, "delete", RES_POD, row->deleted[i]) != 1)
            fail_msg("%s: pod %s should have been deleted", row->name, row->deleted[i]);
    for (int i = 0; i < 4 && row->kept[i]; i++) {
        json_t *p = fake_lookup(f, RES_POD, NS, row->kept[i]);

        if (!p || jx_get(p, "metadata.deletionTimestamp") || strcmp(fake_owner_name(p), "web") != 0)
            fail_msg("%s: pod %s should be kept and owned by web", row->name, row->kept[i]);
    }
    fake_free(f);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
}

/* A scale-down whose pod deletes fail is FailedDelete, and the pods stay. */
static void test_failed_delete(void **state)
{
    struct fake *f = fake_new();

    (void)state;
    fake_add(f, RES_REPLICASET,
             "{\"metadata\":{\"name\":\"web\",\"namespace\":\"" NS "\",\"uid\":\"" RS_UID "\"},"
             "\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
             "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{}}}}");
    fake_add(f, RES_POD, POD("a", "web", OWNED, READY));
    fake_fail(f, "delete", RES_POD, -E_FORBIDDEN, 1000);
    fake_mark(f);
    fake_start(f, ctrl_replicaset_start(f->kc));
    fake_settle(f);
    assert_true(fake_count_events(f, "FailedDelete", "Error deleting: injected") >= 1);
    assert_int_equal(fake_count_writes(f, "delete", RES_POD, NULL), 0);
    assert_string_equal(fake_event_type(f, "FailedDelete"), "Warning");
    assert_int_equal(fake_count_pods(f, NS, "web"), 1);
    fake_check_field(fake_lookup(f, RES_REPLICASET, NS, "web"), "FailedDelete",
                     "status.conditions.ReplicaFailure.reason", "\"FailedDelete\"");
    fake_free(f);
}

/* Raising spec.replicas later creates exactly the difference and bumps observedGeneration. */
static void test_scale_later(void **state)
{
    struct fake *f = fake_new();

    (void)state;
    fake_add(f, RES_REPLICASET,
             "{\"metadata\":{\"name\":\"web\",\"namespace\":\"" NS "\",\"uid\":\"" RS_UID "\"},"
             "\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
             "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{}}}}");
    fake_start(f, ctrl_replicaset_start(f->kc));
    fake_settle(f);
    assert_int_equal(fake_count_pods(f, NS, "web"), 1);
    fake_mark(f);
    fake_set(f, RES_REPLICASET, NS, "web", "spec.replicas", "4");
    fake_settle(f);
    assert_int_equal(fake_count_writes(f, "create", RES_POD, "web-"), 3);
    assert_int_equal(fake_count_pods(f, NS, "web"), 4);
    assert_int_equal(
        jx_int(fake_lookup(f, RES_REPLICASET, NS, "web"), "status.observedGeneration", 0), 2);
    fake_free(f);
}

/* The fake keeps the API's rules the controllers rely on: a stale resourceVersion is a
 * conflict, a status write changes only status, a main write keeps status, a spec change bumps
 * generation, an unscheduled pod's delete removes it at once. */
static void test_fake_rules(void **state)
{
    struct fake *f = fake_new();
    const struct resource *rsr = kc_resource(RES_REPLICASET);
    struct kc_wopts st = {.grace = -1, .status = 1}, plain = {.grace = -1};
    json_t *rs, *cp, *out = NULL;
    struct err err;

    (void)state;
    err_init(&err);
    rs = fake_add(f, RES_REPLICASET,
                  "{\"metadata\":{\"name\":\"web\",\"namespace\":\"" NS "\"},\"spec\":"
                  "{\"replicas\":1},\"status\":{\"replicas\":7}}");
    cp = json_deep_copy(rs);
    jx_set(cp, "spec.replicas", json_integer(2));
    jx_set(cp, "status.replicas", json_integer(9));
    assert_int_equal(kc_update(f->kc, rsr, NS, "web", cp, &plain, &out, &err), 0);
    assert_int_equal(jx_int(out, "status.replicas", 0), 7); /* main write keeps status */
    assert_int_equal(jx_int(out, "metadata.generation", 0), 2);
    json_decref(out);
    /* cp still carries the first resourceVersion: stale now. */
    assert_int_equal(kc_update(f->kc, rsr, NS, "web", cp, &st, NULL, &err), -E_CONFLICT);
    err_release(&err);
    jx_del(cp, "metadata.resourceVersion");
    jx_set(cp, "spec.replicas", json_integer(5));
    assert_int_equal(kc_update(f->kc, rsr, NS, "web", cp, &st, &out, &err), 0);
    assert_int_equal(jx_int(out, "status.replicas", 0), 9);
    assert_int_equal(jx_int(out, "spec.replicas", 0), 2); /* status write keeps spec */
    assert_int_equal(jx_int(out, "metadata.generation", 0), 2);
    json_decref(out);
    json_decref(cp);

    fake_add(f, RES_POD, POD("unbound", "web", "", UNSCHEDULED));
    assert_int_equal(kc_delete(f->kc, kc_resource(RES_POD), NS, "unbound", &plain, NULL, &err), 0);
    assert_null(fake_lookup(f, RES_POD, NS, "unbound"));
    fake_add(f, RES_POD, POD("bound", "web", "", READY));
    assert_int_equal(kc_delete(f->kc, kc_resource(RES_POD), NS, "bound", &plain, NULL, &err), 0);
    assert_non_null(jx_get(fake_lookup(f, RES_POD, NS, "bound"), "metadata.deletionTimestamp"));
    assert_int_equal(fake_count_writes(f, "delete", RES_POD, NULL), 2);
    err_release(&err);
    fake_free(f);
}

/* A status write that conflicts is retried (the controller requeues the key) and lands. */
static void test_status_conflict(void **state)
{
    struct fake *f = fake_new();

    (void)state;
    fake_add(f, RES_REPLICASET,
             "{\"metadata\":{\"name\":\"web\",\"namespace\":\"" NS "\",\"uid\":\"" RS_UID "\"},"
             "\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
             "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{}}}}");
    fake_add(f, RES_POD, POD("a", "web", OWNED, READY));
    fake_fail(f, "status", RES_REPLICASET, -E_CONFLICT, 1);
    fake_start(f, ctrl_replicaset_start(f->kc));
    fake_settle(f);
    assert_null(jx_get(fake_lookup(f, RES_REPLICASET, NS, "web"), "status"));
    fake_wait(f, 300);
    assert_int_equal(jx_int(fake_lookup(f, RES_REPLICASET, NS, "web"), "status.readyReplicas", 0),
                     1);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),           cmocka_unit_test(test_failed_delete),
        cmocka_unit_test(test_scale_later),     cmocka_unit_test(test_fake_rules),
        cmocka_unit_test(test_status_conflict),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
