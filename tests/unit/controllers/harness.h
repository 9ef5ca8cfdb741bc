/* Test harness shared by the controller unit tests: an in-process API server on a temporary
 * data directory, controllers started on its loop, and helpers that run the loop until the
 * controllers have settled. Header-only (static) so each test_*.c stays one executable. */
#ifndef KROLL_TEST_CTRL_HARNESS_H
#define KROLL_TEST_CTRL_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api.h"
#include "server/inproc.h"
#include "controllers/controllers.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/loop.h"
#include "store/store.h"

struct h {
    char dir[64];
    struct loop *loop;
    struct store *store;
    struct api *api;
    struct kc *kc; /* the in-process client the controllers use */
    struct ctl *ctl[4];
    int nctl;
    struct loop_timer stop;
};

static void h_on_stop(struct loop_timer *t, void *ctx)
{
    loop_stop(ctx);
}

/* Runs the loop for ms milliseconds: queued syncs and delayed requeues get to run. */
static void h_run(struct h *h, int ms)
{
    loop_timer_init(&h->stop, h_on_stop, h->loop);
    loop_timer_start(h->loop, &h->stop, ms);
    loop_run(h->loop);
}

static struct h *h_new(void)
{
    struct h *h = xcalloc(1, sizeof *h);
    struct api_opts ao = {0};
    struct err err;
    char *db;
    static const char *const nss[] = {"default", "kube-system"};

    snprintf(h->dir, sizeof h->dir, "/tmp/kroll-ctrl-test.XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    err_init(&err);
    h->loop = loop_new();
    db = xasprintf("%s/state.db", h->dir);
    assert_int_equal(store_open(db, &h->store, &err), 0);
    free(db);
    ao.data_dir = h->dir;
    ao.listen_host = "127.0.0.1";
    ao.listen_port = 0;
    ao.node_name = "test-node";
    h->api = api_new(h->loop, h->store, &ao, &err);
    assert_non_null(h->api);
    h->kc = kc_inproc_new(h->api);
    for (size_t i = 0; i < 2; i++) {
        json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                               "metadata", "name", nss[i]),
               *out = NULL;
        struct api_wopts o = {.grace = -1};

        assert_int_equal(api_create(h->api, scheme_resource(RES_NAMESPACE), NULL, ns, &o, &out, &err),
                         0);
        json_decref(ns);
        json_decref(out);
    }
    err_release(&err);
    return h;
}

static void h_start(struct h *h, struct ctl *c)
{
    h->ctl[h->nctl++] = c;
}

static void h_free(struct h *h)
{
    char *cmd;

    for (int i = 0; i < h->nctl; i++)
        ctl_free(h->ctl[i]);
    h_run(h, 1); /* let deferred frees run */
    kc_free(h->kc);
    api_free(h->api);
    store_close(h->store);
    loop_free(h->loop);
    cmd = xasprintf("rm -rf '%s'", h->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", h->dir);
    free(cmd);
    free(h);
}

/* Creates an object from JSON text (ns NULL for cluster-scoped); returns the stored object
 * (borrowed from the store). Fails the test on error. */
static json_t *h_create(struct h *h, enum res_id res, const char *ns, const char *text)
{
    json_error_t je;
    json_t *obj = json_loads(text, 0, &je), *out = NULL;
    struct api_wopts o = {.grace = -1};
    struct err err;
    int rc;

    if (!obj)
        fail_msg("bad JSON in test: %s: %s", je.text, text);
    err_init(&err);
    rc = api_create(h->api, scheme_resource(res), ns, obj, &o, &out, &err);
    if (rc < 0)
        fail_msg("create failed: %s", err.msg);
    json_decref(obj);
    err_release(&err);
    obj = api_get(h->api, scheme_resource(res), ns, jx_str(out, "metadata.name"));
    json_decref(out);
    return obj;
}

/* Merge-patches an object (status 1: the status subresource). */
static void h_patch(struct h *h, enum res_id res, const char *ns, const char *name, int status,
                    const char *text)
{
    json_t *p = json_loads(text, 0, NULL), *out = NULL;
    struct api_wopts o = {.grace = -1, .status = status};
    struct err err;

    assert_non_null(p);
    err_init(&err);
    if (api_patch(h->api, scheme_resource(res), ns, name, "application/merge-patch+json", p, &o, &out,
                  &err) < 0)
        fail_msg("patch failed: %s", err.msg);
    json_decref(p);
    json_decref(out);
    err_release(&err);
}

static int h_delete(struct h *h, enum res_id res, const char *ns, const char *name, long long grace,
                    const char *propagation)
{
    struct api_wopts o = {.grace = grace, .propagation = propagation};
    json_t *out = NULL;
    struct err err;
    int rc;

    err_init(&err);
    rc = api_delete(h->api, scheme_resource(res), ns, name, &o, &out, &err);
    json_decref(out);
    err_release(&err);
    return rc;
}

static json_t *h_get(struct h *h, enum res_id res, const char *ns, const char *name)
{
    return api_get(h->api, scheme_resource(res), ns, name);
}

#endif
