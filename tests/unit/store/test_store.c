/* The object store: durability across close/reopen (objects and the resourceVersion counter),
 * monotonic resourceVersions, listener order, and the watch ring: replay after a
 * resourceVersion, per-resource filtering, and -E_GONE once the ring has rolled over or after a
 * reopen. The ring size comes from KROLL_WATCH_CACHE so the roll-over is cheap to reach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/jx.h"
#include "store/store.h"

static char dir[] = "/tmp/kroll-store-test.XXXXXX";
static char dbpath[256];

static int setup(void **state)
{
    strcpy(dir, "/tmp/kroll-store-test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(dbpath, sizeof dbpath, "%s/store.db", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct store *open_store(void)
{
    struct store *s = NULL;
    struct err err;

    err_init(&err);
    assert_int_equal(store_open(dbpath, &s, &err), 0);
    err_release(&err);
    return s;
}

static json_t *cm(const char *ns, const char *name, const char *val)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                     "metadata", "name", name, "namespace", ns, "data", "v", val);
}

static int64_t put(struct store *s, const char *ns, const char *name, const char *val)
{
    struct err err;
    json_t *out = NULL;

    err_init(&err);
    assert_int_equal(store_put(s, "configmaps", cm(ns, name, val), &out, &err), 0);
    err_release(&err);
    return atoll(jx_str(out, "metadata.resourceVersion"));
}

static void test_durable_across_reopen(void **state)
{
    struct store *s = open_store();
    struct err err;
    int64_t rv;

    put(s, "default", "a", "1");
    put(s, "default", "b", "1");
    rv = put(s, "default", "a", "2");
    err_init(&err);
    assert_int_equal(store_remove(s, "configmaps", "default", "b", NULL, &err), 0);
    assert_int_equal(store_rv(s), rv + 1);
    store_close(s);

    s = open_store();
    assert_int_equal(store_rv(s), rv + 1);
    assert_string_equal(jx_str(store_get(s, "configmaps", "default", "a"), "data.v"), "2");
    assert_string_equal(jx_str(store_get(s, "configmaps", "default", "a"),
                               "metadata.resourceVersion"), "3");
    assert_null(store_get(s, "configmaps", "default", "b"));
    assert_int_equal(json_object_size(store_map(s, "configmaps")), 1);
    /* The counter continues, never reuses a resourceVersion. */
    assert_int_equal(put(s, "default", "c", "1"), rv + 2);
    store_close(s);
    err_release(&err);
}

static void test_rv_monotonic(void **state)
{
    struct store *s = open_store();
    int64_t last = 0;

    for (int i = 0; i < 200; i++) {
        char name[16];
        int64_t rv;

        snprintf(name, sizeof name, "o%d", i % 7);
        rv = put(s, i % 2 ? "ns1" : "ns2", name, "x");
        assert_true(rv > last);
        assert_int_equal(rv, store_rv(s));
        last = rv;
    }
    store_close(s);
}

struct seen {
    int n;
    int64_t rvs[64];
    enum store_ev types[64];
    char names[64][16];
};

static void record(enum store_ev type, const char *res, json_t *obj, json_t *old, int64_t rv,
                   void *ctx)
{
    struct seen *s = ctx;

    if (s->n < 64) {
        s->rvs[s->n] = rv;
        s->types[s->n] = type;
        snprintf(s->names[s->n], sizeof s->names[0], "%s", jx_str(obj, "metadata.name"));
    }
    s->n++;
}

static void test_listener_sees_events_in_order(void **state)
{
    struct store *s = open_store();
    struct seen seen = {0};
    struct err err;
    json_t *last = NULL;

    store_subscribe(s, record, &seen);
    put(s, "default", "a", "1");
    put(s, "default", "a", "2");
    err_init(&err);
    assert_int_equal(store_remove(s, "configmaps", "default", "a", &last, &err), 0);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.types[0], STORE_ADDED);
    assert_int_equal(seen.types[1], STORE_MODIFIED);
    assert_int_equal(seen.types[2], STORE_DELETED);
    assert_true(seen.rvs[0] < seen.rvs[1] && seen.rvs[1] < seen.rvs[2]);
    /* The DELETED object carries the deletion's resourceVersion. */
    assert_int_equal(atoll(jx_str(last, "metadata.resourceVersion")), seen.rvs[2]);
    json_decref(last);
    assert_int_equal(store_remove(s, "configmaps", "default", "a", NULL, &err), -E_NOT_FOUND);
    store_unsubscribe(s, record, &seen);
    put(s, "default", "z", "1");
    assert_int_equal(seen.n, 3);
    err_release(&err);
    store_close(s);
}

static void test_replay_and_gone(void **state)
{
    struct store *s;
    struct seen seen = {0};
    int64_t mid, last = 0;
    json_t *node = json_pack("{s:{s:s}}", "metadata", "name", "n1");
    struct err err;

    setenv("KROLL_WATCH_CACHE", "10", 1);
    s = open_store();
    err_init(&err);
    for (int i = 0; i < 6; i++)
        last = put(s, "default", "a", i % 2 ? "x" : "y");
    assert_int_equal(store_put(s, "nodes", node, NULL, &err), 0);
    mid = last - 2;
    assert_int_equal(store_replay(s, "configmaps", mid, record, &seen), 0);
    assert_int_equal(seen.n, 2); /* the node event is filtered out */
    assert_int_equal(seen.rvs[0], mid + 1);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_replay(s, NULL, mid, record, &seen), 0);
    assert_int_equal(seen.n, 3);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_replay(s, "configmaps", 0, record, &seen), 0);
    assert_int_equal(seen.n, 6); /* nothing lost yet: everything since rv 0 replays */

    /* Roll the ring over: old resourceVersions are gone, recent ones still replay. */
    for (int i = 0; i < 20; i++)
        last = put(s, "default", "b", i % 2 ? "x" : "y");
    assert_int_equal(store_replay(s, "configmaps", mid, record, &seen), -E_GONE);
    assert_true(store_oldest_rv(s) > mid);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_replay(s, "configmaps", last - 9, record, &seen), 0);
    assert_int_equal(seen.n, 9);
    assert_int_equal(store_replay(s, "configmaps", store_oldest_rv(s), record, &seen), 0);
    store_close(s);

    /* After a reopen the history is empty: anything older than now is gone, now is fine. */
    s = open_store();
    assert_int_equal(store_replay(s, "configmaps", last - 1, record, &seen), -E_GONE);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_replay(s, "configmaps", last, record, &seen), 0);
    assert_int_equal(seen.n, 0);
    put(s, "default", "c", "1");
    assert_int_equal(store_replay(s, "configmaps", last, record, &seen), 0);
    assert_int_equal(seen.n, 1);
    unsetenv("KROLL_WATCH_CACHE");
    err_release(&err);
    store_close(s);
}

static void test_bad_input(void **state)
{
    struct store *s = open_store();
    struct err err;
    json_t *noname = json_pack("{s:{}}", "metadata");

    err_init(&err);
    assert_true(store_put(s, "configmaps", noname, NULL, &err) < 0);
    assert_null(store_get(s, "nosuch", "default", "x"));
    assert_null(store_map(s, "nosuch"));
    err_release(&err);
    store_close(s);
    /* An unusable path is an error, not a crash. */
    err_init(&err);
    struct store *bad = NULL;
    assert_true(store_open("/nonexistent-dir/x/store.db", &bad, &err) < 0);
    assert_null(bad);
    err_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_durable_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rv_monotonic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener_sees_events_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_and_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
