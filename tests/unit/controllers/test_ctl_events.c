/* The controller runtime's event delivery (client/ctl.c) on an in-process API: a watch
 * function never runs inside the write that caused its event; it sees every event, in
 * resourceVersion order, with the object as of that event (old included); a sync that writes
 * wakes the controllers watching what it wrote before it runs again. */
#include "harness.h"

#define NWRITES 40

struct rec {
    int in_write;  /* set by the test around each write */
    int reentrant; /* a watch function ran while in_write was set */
    long long rv[4 * NWRITES];
    char type[4 * NWRITES][10];
    int n;
    int syncs;
};

static struct rec R;

static void on_cm(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                  json_t *old, void *ctx)
{
    if (R.in_write)
        R.reentrant = 1;
    if (R.n < 4 * NWRITES) {
        R.rv[R.n] = atoll(jx_str(obj, "metadata.resourceVersion") ?: "0");
        snprintf(R.type[R.n], sizeof R.type[0], "%s", type);
        R.n++;
    }
    if (!strcmp(type, "MODIFIED"))
        assert_non_null(old);
}

static void no_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    R.syncs++;
}

static void test_async_in_order(void **state)
{
    struct h *h = h_new();
    struct ctl *c = ctl_new(h->kc, "t", no_sync, NULL);
    char text[200];

    memset(&R, 0, sizeof R);
    ctl_watch(c, RES_CONFIGMAP, on_cm);
    ctl_start(c);
    h_start(h, c);
    for (int i = 0; i < NWRITES; i++) {
        R.in_write = 1;
        if (i % 4 == 0) {
            snprintf(text, sizeof text, "{\"metadata\":{\"name\":\"cm%d\"},\"data\":{\"v\":\"0\"}}",
                     i);
            h_create(h, RES_CONFIGMAP, "default", text);
        } else if (i % 4 == 3) {
            snprintf(text, sizeof text, "cm%d", i - 3);
            assert_int_equal(h_delete(h, RES_CONFIGMAP, "default", text, 0, NULL), 0);
        } else {
            char name[16];

            snprintf(name, sizeof name, "cm%d", i - i % 4);
            snprintf(text, sizeof text, "{\"data\":{\"v\":\"%d\"}}", i);
            h_patch(h, RES_CONFIGMAP, "default", name, 0, text);
        }
        R.in_write = 0;
        assert_int_equal(R.n, 0); /* nothing delivered before the loop runs */
    }
    h_run(h, 20);
    assert_false(R.reentrant);
    assert_int_equal(R.n, NWRITES);
    for (int i = 0; i < R.n; i++) {
        static const char *const want[] = {"ADDED", "MODIFIED", "MODIFIED", "DELETED"};

        assert_string_equal(R.type[i], want[i % 4]);
        if (i > 0)
            assert_true(R.rv[i] > R.rv[i - 1]);
    }
    h_free(h);
}

/* Two controllers: "up" writes a ConfigMap when it syncs a Secret; "down" counts syncs of that
 * ConfigMap. up's next round (woken by its own write) must come after down's. */
static int order[8], norder;

static void up_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    struct h *h = ctx;
    json_t *cm = h_get(h, RES_CONFIGMAP, "default", "out");

    if (norder < 8)
        order[norder++] = 1;
    if (!cm)
        h_create(h, RES_CONFIGMAP, "default", "{\"metadata\":{\"name\":\"out\"}}");
}

static void up_on_cm(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                     json_t *old, void *ctx)
{
    ctl_enqueue(c, "default", "s"); /* the writer looks again when its object changes */
}

static void down_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    if (norder < 8)
        order[norder++] = 2;
}

static void test_reader_runs_before_writer_again(void **state)
{
    struct h *h = h_new();
    /* up subscribes first, so the store tells it of its own write before it tells down. */
    struct ctl *up = ctl_new(h->kc, "up", up_sync, h);
    struct ctl *down = ctl_new(h->kc, "down", down_sync, h);

    norder = 0;
    ctl_watch(down, RES_CONFIGMAP, NULL);
    ctl_watch(up, RES_SECRET, NULL);
    ctl_watch(up, RES_CONFIGMAP, up_on_cm);
    ctl_start(down);
    ctl_start(up);
    h_start(h, down);
    h_start(h, up);
    h_create(h, RES_SECRET, "default", "{\"metadata\":{\"name\":\"s\"}}");
    h_run(h, 20);
    assert_true(norder >= 3);
    assert_int_equal(order[0], 1); /* up writes */
    assert_int_equal(order[1], 2); /* down reacts */
    assert_int_equal(order[2], 1); /* then up looks again */
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_async_in_order),
        cmocka_unit_test(test_reader_runs_before_writer_again),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
