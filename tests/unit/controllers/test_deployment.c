/* The Deployment controller (controllers/deployment.c) with the ReplicaSet controller on the
 * fake transport (fake.h): one row per item of ../shared/reference/k8s-semantics.md's
 * checklists (sections 16 and 17), each a script of steps (template and replicas changes, pods
 * marked Ready, time advanced, terminating pods finished) and checks of the ReplicaSets' sizes,
 * the Deployment's status and conditions, the writes made and the Events recorded. A
 * ReplicaSet is named by revision: "@rev2" is the one whose revision annotation is 2, "@new"
 * the highest; SAVE gives one a name ("$a") that survives renumbering. In expected texts,
 * "{new}" stands for the name of "@new". */
#include "fake.h"

#include "controllers/rollout.h"

#define NS "default"

enum op {
    END,
    IMAGE,   /* the template's image becomes value */
    SET,     /* the Deployment's path becomes value (JSON) */
    READY,   /* n pods of RS name Ready since m seconds */
    AGE,     /* every time stamp moves n seconds into the past */
    FINISH,  /* terminating pods are gone */
    MARK,    /* writes and events are counted from here */
    SAVE,    /* value names RS name from now on */
    CHECK_D, /* the Deployment's path is value (NULL: absent) */
    CHECK,   /* RS name's path is value (NULL: absent) */
    NO_RS,   /* there is no RS name */
    PODS,    /* RS name has n active pods */
    EVENTS,  /* n events with reason path whose message contains value (NULL: any) */
    WRITES,  /* n writes of verb path to name-prefix value (NULL: any) of resource m */
};

struct step {
    enum op op;
    const char *name, *path, *value;
    long long n, m;
};

#define STEP_IMAGE(img)                                                                            \
    {                                                                                              \
        IMAGE, NULL, NULL, img, 0, 0                                                               \
    }
#define STEP_SET(path, v)                                                                          \
    {                                                                                              \
        SET, NULL, path, v, 0, 0                                                                   \
    }
#define STEP_READY(rs, n)                                                                          \
    {                                                                                              \
        READY, rs, NULL, NULL, n, 3600                                                             \
    }
#define STEP_READY_NOW(rs, n)                                                                      \
    {                                                                                              \
        READY, rs, NULL, NULL, n, 0                                                                \
    }
#define STEP_AGE(s)                                                                                \
    {                                                                                              \
        AGE, NULL, NULL, NULL, s, 0                                                                \
    }
#define STEP_FINISH()                                                                              \
    {                                                                                              \
        FINISH, NULL, NULL, NULL, 0, 0                                                             \
    }
#define STEP_MARK()                                                                                \
    {                                                                                              \
        MARK, NULL, NULL, NULL, 0, 0                                                               \
    }
#define STEP_SAVE(rs, alias)                                                                       \
    {                                                                                              \
        SAVE, rs, NULL, alias, 0, 0                                                                \
    }
#define CHK_D(path, v)                                                                             \
    {                                                                                              \
        CHECK_D, NULL, path, v, 0, 0                                                               \
    }
#define CHK_RS(rs, path, v)                                                                        \
    {                                                                                              \
        CHECK, rs, path, v, 0, 0                                                                   \
    }
#define CHK_SPEC(rs, v)                                                                            \
    {                                                                                              \
        CHECK, rs, "spec.replicas", v, 0, 0                                                        \
    }
#define CHK_NO_RS(rs)                                                                              \
    {                                                                                              \
        NO_RS, rs, NULL, NULL, 0, 0                                                                \
    }
#define CHK_PODS(rs, n)                                                                            \
    {                                                                                              \
        PODS, rs, NULL, NULL, n, 0                                                                 \
    }
#define CHK_EVENTS(reason, text, n)                                                                \
    {                                                                                              \
        EVENTS, NULL, reason, text, n, 0                                                           \
    }
#define CHK_WRITES(verb, res, prefix, n)                                                           \
    {                                                                                              \
        WRITES, NULL, verb, prefix, n, res                                                         \
    }
#define RU(surge, unav)                                                                            \
    "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":" surge              \
    ",\"maxUnavailable\":" unav "}},"
#define DEFAULTS RU("\"25%\"", "\"25%\"")
#define RECREATE "\"strategy\":{\"type\":\"Recreate\"},"
#define COND(type, field) "status.conditions." type "." field
#define REV "metadata.annotations.deployment.kubernetes.io/revision"

struct d_row {
    const char *name, *item;
    int replicas;
    const char *spec; /* more spec fields, each followed by a comma */
    struct step steps[32];
};

static const struct d_row rows[] = {
    {"first update: new RS at surge, old at minAvailable",
     "16.1, 16.2, 16.3, 17.9, 17.17, 17.26",
     10,
     DEFAULTS,
     {STEP_READY("@rev1", 10),
      STEP_MARK(),
      STEP_IMAGE("v2"),
      /* Surge ceil(2.5) = 3, unavailable floor(2.5) = 2: the new RS is created at 3, the old
       * one scaled to 8, then (one direction per pass) the new one to 13 - 8 = 5. */
      CHK_EVENTS("ScalingReplicaSet", "Scaled up replica set web-", 2),
      CHK_EVENTS("ScalingReplicaSet", "Scaled up replica set {new} to 3", 1),
      CHK_EVENTS("ScalingReplicaSet", "to 8 from 10", 1),
      CHK_EVENTS("ScalingReplicaSet", "Scaled up replica set {new} to 5 from 3", 1),
      CHK_D(REV, "\"2\""),
      CHK_RS("@rev1", REV, "\"1\""),
      CHK_SPEC("@rev2", "5"),
      CHK_SPEC("@rev1", "8"),
      CHK_PODS("@rev2", 5),
      CHK_PODS("@rev1", 8),
      CHK_D("status.replicas", "13"),
      CHK_D("status.updatedReplicas", "5"),
      CHK_D("status.readyReplicas", "8"),
      CHK_D("status.availableReplicas", "8"),
      CHK_D("status.unavailableReplicas", "5"),
      CHK_D("status.observedGeneration", "2"),
      CHK_WRITES("create", RES_REPLICASET, "web-", 1),
      {END}}},
    {"never-ready image settles, then proportional scaling",
     "16.3, 16.5, 17.10, 17.11",
     10,
     RU("3", "2"),
     {STEP_READY("@rev1", 10),
      STEP_IMAGE("broken"),
      CHK_SPEC("@rev1", "8"),
      CHK_SPEC("@rev2", "5"),
      CHK_D("status.availableReplicas", "8"),
      CHK_D(COND("Available", "status"), "\"True\""),
      STEP_SET("spec.replicas", "30"),
      CHK_SPEC("@rev1", "20"),
      CHK_SPEC("@rev2", "13"),
      CHK_RS("@rev1", "metadata.annotations.deployment.kubernetes.io/desired-replicas", "\"30\""),
      CHK_RS("@rev2", "metadata.annotations.deployment.kubernetes.io/max-replicas", "\"33\""),
      {END}}},
    {"surge 1, unavailable 0: step by step to completion",
     "16.3, 16.4, 17.7, 17.22",
     4,
     RU("1", "0"),
     {STEP_READY("@rev1", 4),
      STEP_IMAGE("v2"),
      CHK_SPEC("@rev2", "1"),
      CHK_SPEC("@rev1", "4"),
      CHK_PODS("@rev1", 4),
      STEP_READY("@rev2", 1),
      CHK_SPEC("@rev1", "3"),
      CHK_SPEC("@rev2", "2"),
      CHK_D("status.availableReplicas", "4"),
      STEP_READY("@rev2", 1),
      CHK_SPEC("@rev1", "2"),
      CHK_SPEC("@rev2", "3"),
      STEP_READY("@rev2", 1),
      CHK_SPEC("@rev1", "1"),
      CHK_SPEC("@rev2", "4"),
      STEP_READY("@rev2", 1),
      CHK_SPEC("@rev1", "0"),
      CHK_PODS("@rev1", 0),
      CHK_D("status.replicas", "4"),
      CHK_D("status.updatedReplicas", "4"),
      CHK_D("status.availableReplicas", "4"),
      CHK_D("status.unavailableReplicas", NULL),
      CHK_D(COND("Progressing", "reason"), "\"NewReplicaSetAvailable\""),
      CHK_D(COND("Progressing", "message"),
            "\"ReplicaSet \\\"{new}\\\" has successfully progressed.\""),
      CHK_D("status.observedGeneration", "2"),
      CHK_D(COND("Available", "reason"), "\"MinimumReplicasAvailable\""),
      {END}}},
    {"R=1 defaults: the new pod before the old one goes",
     "17.12",
     1,
     DEFAULTS,
     {STEP_READY("@rev1", 1),
      STEP_IMAGE("v2"),
      CHK_PODS("@rev2", 1),
      CHK_PODS("@rev1", 1),
      STEP_READY("@rev2", 1),
      CHK_PODS("@rev1", 0),
      CHK_SPEC("@rev1", "0"),
      {END}}},
    {"surge 0, unavailable 1: old first, never above R",
     "17.8",
     4,
     RU("0", "1"),
     {STEP_READY("@rev1", 4),
      STEP_MARK(),
      STEP_IMAGE("v2"),
      CHK_SPEC("@rev1", "3"),
      CHK_SPEC("@rev2", "1"),
      CHK_EVENTS("ScalingReplicaSet", "to 1 from 0", 1),
      CHK_EVENTS("ScalingReplicaSet", "to 3 from 4", 1),
      STEP_READY("@rev2", 1),
      CHK_SPEC("@rev1", "2"),
      CHK_SPEC("@rev2", "2"),
      {END}}},
    {"Recreate: old to 0, new only when old pods are gone",
     "17.19",
     2,
     RECREATE,
     {STEP_READY("@rev1", 2),
      STEP_MARK(),
      STEP_IMAGE("v2"),
      CHK_SPEC("@rev1", "0"),
      CHK_PODS("@rev1", 0),
      CHK_NO_RS("@rev2"),
      CHK_WRITES("create", RES_REPLICASET, NULL, 0),
      CHK_WRITES("create", RES_POD, NULL, 0),
      STEP_FINISH(),
      CHK_SPEC("@rev2", "2"),
      CHK_PODS("@rev2", 2),
      {END}}},
    {"paused: scaling yes, rollout no; resume makes one RS",
     "16.6, 17.20, 17.25",
     2,
     DEFAULTS,
     {STEP_READY("@rev1", 2),
      STEP_SET("spec.paused", "true"),
      CHK_D(COND("Progressing", "status"), "\"Unknown\""),
      CHK_D(COND("Progressing", "reason"), "\"DeploymentPaused\""),
      STEP_MARK(),
      STEP_IMAGE("v2"),
      STEP_SET("spec.replicas", "3"),
      CHK_NO_RS("@rev2"),
      CHK_SPEC("@rev1", "3"),
      STEP_AGE(3600),
      CHK_D(COND("Progressing", "reason"), "\"DeploymentPaused\""),
      STEP_IMAGE("v3"),
      STEP_SET("spec.paused", "false"),
      CHK_WRITES("create", RES_REPLICASET, NULL, 1),
      CHK_NO_RS("@rev3"),
      CHK_SPEC("@rev2", "1"),
      CHK_D(COND("Progressing", "status"), "\"True\""),
      {END}}},
    {"rollback reuses the old RS, renumbered",
     "16.9, 17.16, 17.29",
     1,
     DEFAULTS,
     {STEP_READY("@rev1", 1),
      STEP_SAVE("@rev1", "$first"),
      STEP_IMAGE("v2"),
      STEP_READY("@rev2", 1),
      CHK_SPEC("$first", "0"),
      STEP_MARK(),
      STEP_IMAGE("v1"),
      CHK_WRITES("create", RES_REPLICASET, NULL, 0),
      CHK_RS("$first", REV, "\"3\""),
      CHK_RS("$first", "metadata.annotations.deployment.kubernetes.io/revision-history", "\"1\""),
      CHK_D(REV, "\"3\""),
      CHK_SPEC("$first", "1"),
      CHK_NO_RS("@rev1"),
      {END}}},
    {"history cleanup down to revisionHistoryLimit",
     "16.10, 17.18",
     1,
     DEFAULTS "\"revisionHistoryLimit\":1,",
     {STEP_READY("@rev1", 1),
      STEP_IMAGE("v2"),
      STEP_READY("@rev2", 1),
      STEP_IMAGE("v3"),
      STEP_READY("@rev3", 1),
      CHK_NO_RS("@rev1"),
      CHK_SPEC("@rev2", "0"),
      CHK_SPEC("@rev3", "1"),
      CHK_WRITES("delete", RES_REPLICASET, NULL, 1),
      {END}}},
    {"revisionHistoryLimit 0 deletes every old RS",
     "17.18",
     1,
     DEFAULTS "\"revisionHistoryLimit\":0,",
     {STEP_READY("@rev1", 1),
      STEP_IMAGE("v2"),
      STEP_READY("@rev2", 1),
      CHK_NO_RS("@rev1"),
      CHK_SPEC("@rev2", "1"),
      {END}}},
    {"progress deadline exceeded, sizes unchanged",
     "16.7, 17.24",
     1,
     DEFAULTS "\"progressDeadlineSeconds\":30,",
     {STEP_READY("@rev1", 1),
      STEP_IMAGE("broken"),
      CHK_D(COND("Progressing", "status"), "\"True\""),
      STEP_AGE(10),
      CHK_D(COND("Progressing", "status"), "\"True\""),
      STEP_MARK(),
      STEP_AGE(60),
      CHK_D(COND("Progressing", "status"), "\"False\""),
      CHK_D(COND("Progressing", "reason"), "\"ProgressDeadlineExceeded\""),
      CHK_SPEC("@rev1", "1"),
      CHK_SPEC("@rev2", "1"),
      CHK_WRITES("update", RES_REPLICASET, NULL, 0),
      {END}}},
    {"rollover mid-rollout: one more RS, the unfinished one to 0",
     "16.4, 17.15",
     3,
     RU("1", "0"),
     {STEP_READY("@rev1", 3),
      STEP_IMAGE("v2"),
      CHK_SPEC("@rev2", "1"),
      STEP_MARK(),
      STEP_IMAGE("v3"),
      CHK_WRITES("create", RES_REPLICASET, NULL, 1),
      CHK_SPEC("@rev2", "0"),
      CHK_SPEC("@rev3", "1"),
      CHK_SPEC("@rev1", "3"),
      STEP_READY("@rev3", 1),
      STEP_READY("@rev3", 1),
      STEP_READY("@rev3", 1),
      CHK_SPEC("@rev1", "0"),
      CHK_SPEC("@rev3", "3"),
      {END}}},
    {"minReadySeconds: available only after",
     "16.11, 17.27",
     1,
     RU("1", "0") "\"minReadySeconds\":30,",
     {STEP_READY("@rev1", 1),
      STEP_IMAGE("v2"),
      STEP_READY_NOW("@rev2", 1),
      CHK_RS("@rev2", "status.readyReplicas", "1"),
      CHK_RS("@rev2", "status.availableReplicas", NULL),
      CHK_SPEC("@rev1", "1"),
      CHK_D("status.availableReplicas", "1"),
      STEP_AGE(60),
      CHK_RS("@rev2", "status.availableReplicas", "1"),
      CHK_SPEC("@rev1", "0"),
      CHK_RS("@rev2", "spec.minReadySeconds", "30"),
      {END}}},
    {"an unchanged manifest writes nothing",
     "17.14",
     2,
     DEFAULTS,
     {STEP_READY("@rev1", 2),
      STEP_MARK(),
      STEP_IMAGE("v1"),
      STEP_SET("spec.replicas", "2"),
      CHK_WRITES(NULL, RES_REPLICASET, NULL, 0),
      CHK_WRITES(NULL, RES_POD, NULL, 0),
      CHK_EVENTS("ScalingReplicaSet", NULL, 0),
      {END}}},
    {"annotation change: no RS; the new RS alone gets annotations",
     "16.18, 17.6",
     2,
     RU("1", "0"),
     {STEP_READY("@rev1", 2),
      STEP_IMAGE("v2"),
      STEP_MARK(),
      STEP_SET("metadata.annotations", "{\"team\":\"a\"}"),
      CHK_WRITES("create", RES_REPLICASET, NULL, 0),
      CHK_RS("@rev2", "metadata.annotations.team", "\"a\""),
      CHK_RS("@rev1", "metadata.annotations.team", NULL),
      {END}}},
};

struct run {
    struct fake *f;
    const struct d_row *row;
    int step;
    char alias[4][2][128]; /* "$name" -> RS name */
};

/* The RS a step names (borrowed) or NULL. */
static json_t *rs_named(struct run *r, const char *name)
{
    json_t *best = NULL, *rs;
    long long want = -1, top = -1;
    const char *k;

    if (name[0] == '$') {
        for (int i = 0; i < 4; i++)
            if (!strcmp(r->alias[i][0], name))
                return fake_lookup(r->f, RES_REPLICASET, NS, r->alias[i][1]);
        fail_msg("%s step %d: no alias %s", r->row->name, r->step, name);
    }
    if (strncmp(name, "@rev", 4) == 0)
        want = atoll(name + 4);
    json_object_foreach(r->f->objs[RES_REPLICASET], k, rs)
    {
        const char *a = jx_annotation(rs, ROLLOUT_A_REV);
        long long rev = a ? atoll(a) : 0;

        if (want >= 0 ? rev == want : rev > top) {
            best = rs;
            top = rev;
        }
    }
    return best;
}

static json_t *rs_must(struct run *r, const char *name)
{
    json_t *rs = rs_named(r, name);

    if (!rs)
        fail_msg("%s step %d: no ReplicaSet %s", r->row->name, r->step, name);
    return rs;
}

static void do_image(struct run *r, const char *image)
{
    char v[128];

    snprintf(v, sizeof v, "[{\"name\":\"c\",\"image\":\"%s\"}]", image);
    fake_set(r->f, RES_DEPLOYMENT, NS, "web", "spec.template.spec.containers", v);
}

/* value with "{new}" replaced by the new RS's name, in buf; NULL stays NULL. */
static const char *expand(struct run *r, const char *value, char *buf, size_t n)
{
    const char *at = value ? strstr(value, "{new}") : NULL;

    if (!at)
        return value;
    snprintf(buf, n, "%.*s%s%s", (int)(at - value), value,
             jx_str(rs_must(r, "@new"), "metadata.name"), at + 5);
    return buf;
}

static void do_step(struct run *r, const struct step *s)
{
    char what[256], buf[512];
    json_t *d = fake_lookup(r->f, RES_DEPLOYMENT, NS, "web");
    const char *value = expand(r, s->value, buf, sizeof buf);
    int n;

    snprintf(what, sizeof what, "%s (%s) step %d", r->row->name, r->row->item, r->step);
    switch (s->op) {
    case IMAGE:
        do_image(r, s->value);
        break;
    case SET:
        fake_set(r->f, RES_DEPLOYMENT, NS, "web", s->path, s->value);
        break;
    case READY:
        n = fake_pods_ready(r->f, NS, jx_str(rs_must(r, s->name), "metadata.name"), (int)s->n,
                            (int)s->m);
        if (n != s->n)
            fail_msg("%s: only %d pods of %s to mark Ready", what, n, s->name);
        break;
    case AGE:
        fake_age(r->f, RES_DEPLOYMENT, s->n);
        fake_age(r->f, RES_REPLICASET, s->n);
        fake_age(r->f, RES_POD, s->n);
        break;
    case FINISH:
        fake_pods_finish(r->f);
        break;
    case MARK:
        fake_mark(r->f);
        break;
    case SAVE:
        for (int i = 0; i < 4; i++)
            if (!r->alias[i][0][0]) {
                snprintf(r->alias[i][0], sizeof r->alias[i][0], "%s", s->value);
                snprintf(r->alias[i][1], sizeof r->alias[i][1], "%s",
                         jx_str(rs_must(r, s->name), "metadata.name"));
                break;
            }
        break;
    case CHECK_D:
        fake_check_field(d, what, s->path, value);
        break;
    case CHECK:
        fake_check_field(rs_must(r, s->name), what, s->path, value);
        break;
    case NO_RS:
        if (rs_named(r, s->name))
            fail_msg("%s: ReplicaSet %s exists", what, s->name);
        break;
    case PODS:
        n = fake_count_pods(r->f, NS, jx_str(rs_must(r, s->name), "metadata.name"));
        if (n != s->n)
            fail_msg("%s: %s has %d active pods, want %lld", what, s->name, n, s->n);
        break;
    case EVENTS:
        n = fake_count_events(r->f, s->path, value);
        if (n != s->n)
            fail_msg("%s: %d %s events (%s), want %lld", what, n, s->path, value ? value : "*",
                     s->n);
        break;
    case WRITES:
        n = fake_count_writes(r->f, s->path, (enum res_id)s->m, s->value);
        if (n != s->n)
            fail_msg("%s: %d %s writes of %s, want %lld", what, n, s->path ? s->path : "any",
                     kc_resource((enum res_id)s->m)->plural, s->n);
        break;
    case END:
        break;
    }
    fake_settle(r->f);
}

static void run_row(const struct d_row *row)
{
    struct run r = {.f = fake_new(), .row = row};

    fake_add(r.f, RES_DEPLOYMENT,
             "{\"metadata\":{\"name\":\"web\",\"namespace\":\"" NS "\"},\"spec\":{%s"
             "\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":"
             "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":"
             "\"c\",\"image\":\"v1\"}]}}}}",
             row->spec, row->replicas);
    fake_start(r.f, ctrl_deployment_start(r.f->kc));
    fake_start(r.f, ctrl_replicaset_start(r.f->kc));
    fake_settle(r.f);
    for (r.step = 0; row->steps[r.step].op != END; r.step++)
        do_step(&r, &row->steps[r.step]);
    fake_free(r.f);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
}

/* A failed ReplicaSet create is ReplicaSetCreateError: an event and Progressing=False. */
static void test_rs_create_error(void **state)
{
    struct run r = {.f = fake_new(), .row = &rows[0]};

    (void)state;
    fake_fail(r.f, "create", RES_REPLICASET, -E_FORBIDDEN, 1000);
    fake_add(r.f, RES_DEPLOYMENT,
             "{\"metadata\":{\"name\":\"web\",\"namespace\":\"" NS "\"},\"spec\":{%s"
             "\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":"
             "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{}}}}",
             DEFAULTS);
    fake_start(r.f, ctrl_deployment_start(r.f->kc));
    fake_settle(r.f);
    assert_true(fake_count_events(r.f, "ReplicaSetCreateError",
                                  "Failed to create new replica set "
                                  "\"web-") >= 1);
    fake_check_field(fake_lookup(r.f, RES_DEPLOYMENT, NS, "web"), "create error",
                     COND("Progressing", "reason"), "\"ReplicaSetCreateError\"");
    assert_null(rs_named(&r, "@new"));
    fake_free(r.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_rs_create_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
