/* The rollback window (controllers/argo_history.c argo__within_window) against Argo's
 * isRollbackWithinWindow and its unit test TestRollbackWindow: the new ReplicaSet must be older
 * than the stable one, and fewer than `revisions` ReplicaSets (experiments' aside) may have been
 * created strictly between them; creation times compare in whole seconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/argo-int.h"

static json_t *rs(int minute, int experiment)
{
    char ts[32];
    json_t *r;

    snprintf(ts, sizeof ts, "2026-01-01T10:%02d:00Z", minute);
    r = json_pack("{s:{s:s,s:{}}}", "metadata", "creationTimestamp", ts, "annotations");
    if (experiment)
        json_object_set_new(json_object_get(json_object_get(r, "metadata"), "annotations"),
                            "experiments.argoproj.io/experiment-name", json_string("e"));
    return r;
}

/* ReplicaSets created at minutes 1..5 (the third an experiment's when exp), new and stable
 * picked by index, window w: argo__within_window. */
static int window(int n, int s, long long w, int exp)
{
    struct rsync x = {0};
    int r;

    x.ro = json_pack("{s:{s:{s:I}}}", "spec", "rollbackWindow", "revisions", (json_int_t)w);
    x.rss = json_array();
    for (int i = 0; i < 5; i++)
        json_array_append_new(x.rss, rs(i + 1, exp && i == 2));
    x.nrs = json_array_get(x.rss, (size_t)n);
    x.srs = json_array_get(x.rss, (size_t)s);
    r = argo__within_window(&x);
    json_decref(x.rss);
    json_decref(x.ro);
    return r;
}

static void test_window(void **state)
{
    (void)state;
    /* The previous one: nothing in between, so revisions 1 covers it (the docs say 2). */
    assert_true(window(3, 4, 1, 0));
    /* Two back: one ReplicaSet in between. */
    assert_false(window(2, 4, 1, 0));
    assert_true(window(2, 4, 2, 0));
    /* Four back with revisions 3: three in between. */
    assert_false(window(0, 4, 3, 0));
    assert_true(window(0, 4, 4, 0));
    /* An experiment's ReplicaSet is not counted. */
    assert_true(window(1, 4, 2, 1));
    assert_false(window(1, 4, 2, 0));
    /* Not a rollback (the new one is newer), no window, or the new one is stable. */
    assert_false(window(4, 3, 5, 0));
    assert_false(window(3, 4, 0, 0));
    assert_false(window(4, 4, 5, 0));
}

static void test_same_second(void **state)
{
    struct rsync x = {0};

    (void)state;
    /* Created in the same second: not "before" (metav1.Time.Before on whole seconds). */
    x.ro = json_pack("{s:{s:{s:i}}}", "spec", "rollbackWindow", "revisions", 5);
    x.rss =
        json_pack("[{s:{s:s}},{s:{s:s}}]", "metadata", "creationTimestamp", "2026-01-01T10:00:00Z",
                  "metadata", "creationTimestamp", "2026-01-01T10:00:00Z");
    x.nrs = json_array_get(x.rss, 0);
    x.srs = json_array_get(x.rss, 1);
    assert_false(argo__within_window(&x));
    json_decref(x.rss);
    json_decref(x.ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_same_second),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
