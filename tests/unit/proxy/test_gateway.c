/* Unit tests for Gateway API routing (src/proxy/gateway.c): smooth weighted round robin is exact
 * per worker, matches follow the API's precedence (Exact before PathPrefix, longer prefix,
 * method, more headers, older route), PathPrefix matches whole path elements, hostnames and the
 * Host's port, 404 without a match, 500 for a backend that does not exist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/proxy-int.h"

static struct px_table *tabs[4]; /* services "a", "b", "c"; "x" does not exist */

static struct px_table *lookup(const char *ns, const char *name, int port, void *ctx)
{
    (void)ns, (void)port, (void)ctx;
    if (name[0] >= 'a' && name[0] <= 'c' && !name[1])
        return px_table_ref(tabs[name[0] - 'a']);
    return NULL;
}

static struct px_routes *build(const char *json)
{
    json_error_t e;
    json_t *entries = json_loads(json, 0, &e);

    assert_non_null(entries);
    return px_routes_build(entries, 2, lookup, NULL);
}

/* Which service ('a'..'c') the request goes to, or the status as a number. */
static int route(struct px_routes *r, const char *method, const char *url, const char *h1,
                 const char *v1, int wid)
{
    struct px_head hd;
    struct px_table *t;
    int st = 0;

    px_head_init(&hd, 8192, 16);
    px_head_url(&hd, url, strlen(url));
    if (h1) {
        px_head_field(&hd, h1, strlen(h1));
        px_head_value(&hd, v1, strlen(v1));
    }
    px_head_finish(&hd, 1);
    t = px_routes_pick(r, &hd, method, wid, &st);
    px_head_release(&hd);
    for (int i = 0; i < 3; i++)
        if (t == tabs[i])
            return 'a' + i;
    return st;
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        tabs[i] = px_table_new(NULL, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        px_table_unref(tabs[i]);
    return 0;
}

static void test_weights_exact(void **state)
{
    struct px_routes *r =
        build("[{\"namespace\":\"d\",\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\","
              "\"value\":\"/\"}}],\"backendRefs\":[{\"name\":\"a\",\"port\":80,\"weight\":20},"
              "{\"name\":\"b\",\"port\":80,\"weight\":80},{\"name\":\"c\",\"port\":80,\"weight\":0}"
              "]}]}]");
    int n[2][3] = {{0}};

    (void)state;
    for (int i = 0; i < 1000; i++)
        for (int w = 0; w < 2; w++)
            n[w][route(r, "GET", "/x", NULL, NULL, w) - 'a']++;
    for (int w = 0; w < 2; w++) {
        assert_int_equal(n[w][0], 200);
        assert_int_equal(n[w][1], 800);
        assert_int_equal(n[w][2], 0); /* weight 0: never */
    }
    /* Smooth: never more than one "a" in any five consecutive picks. */
    for (int i = 0, run = 0; i < 100; i++) {
        int s = route(r, "GET", "/", NULL, NULL, 0);

        run = s == 'a' ? run + 1 : 0;
        assert_true(run <= 1);
    }
    px_routes_free(r);
}

static void test_precedence(void **state)
{
    /* Route 0 (older): prefix /v1 -> a; prefix /v1 + header -> b; prefix /v1 + POST -> c.
     * Route 1: exact /v1/x -> b; prefix /v1/long -> c; prefix /v1 -> b (loses to route 0). */
    struct px_routes *r = build(
        "[{\"namespace\":\"d\",\"rules\":["
        "{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/v1\"}}],"
        "\"backendRefs\":[{\"name\":\"a\",\"port\":80}]},"
        "{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/v1\"},"
        "\"headers\":[{\"name\":\"X-Canary\",\"value\":\"yes\"}]}],"
        "\"backendRefs\":[{\"name\":\"b\",\"port\":80}]},"
        "{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/v1\"},\"method\":\"POST\"}],"
        "\"backendRefs\":[{\"name\":\"c\",\"port\":80}]}]},"
        "{\"namespace\":\"d\",\"rules\":["
        "{\"matches\":[{\"path\":{\"type\":\"Exact\",\"value\":\"/v1/x\"}}],"
        "\"backendRefs\":[{\"name\":\"b\",\"port\":80}]},"
        "{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/v1/long/\"}}],"
        "\"backendRefs\":[{\"name\":\"c\",\"port\":80}]},"
        "{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/v1\"}}],"
        "\"backendRefs\":[{\"name\":\"b\",\"port\":80}]},"
        "{\"matches\":[{\"path\":{\"type\":\"Exact\",\"value\":\"/gone\"}}],"
        "\"backendRefs\":[{\"name\":\"x\",\"port\":80}]}]}]");

    (void)state;
    assert_int_equal(route(r, "GET", "/v1", NULL, NULL, 0), 'a');
    assert_int_equal(route(r, "GET", "/v1/models?q=1", NULL, NULL, 0), 'a');
    assert_int_equal(route(r, "GET", "/v1/x", NULL, NULL, 0), 'b');    /* Exact first */
    assert_int_equal(route(r, "GET", "/v1/x?y", NULL, NULL, 0), 'b');  /* query ignored */
    assert_int_equal(route(r, "GET", "/v1/x/y", NULL, NULL, 0), 'a');  /* not exact */
    assert_int_equal(route(r, "GET", "/v1/long", NULL, NULL, 0), 'c'); /* longer prefix */
    assert_int_equal(route(r, "GET", "/v1/long/z", NULL, NULL, 0), 'c');
    assert_int_equal(route(r, "GET", "/v1/longer", NULL, NULL, 0), 'a'); /* whole elements */
    assert_int_equal(route(r, "POST", "/v1", NULL, NULL, 0), 'c');       /* method */
    assert_int_equal(route(r, "GET", "/v1", "x-canary", "yes", 0), 'b'); /* header, any case */
    assert_int_equal(route(r, "GET", "/v1", "x-canary", "no", 0), 'a');
    assert_int_equal(route(r, "GET", "/v1x", NULL, NULL, 0), 404);
    assert_int_equal(route(r, "GET", "/", NULL, NULL, 0), 404);
    assert_int_equal(route(r, "GET", "http://h/v1/x", NULL, NULL, 0), 'b'); /* absolute form */
    assert_int_equal(route(r, "GET", "/gone", NULL, NULL, 0), 500);         /* no such Service */
    px_routes_free(r);
}

static void test_hostnames(void **state)
{
    struct px_routes *r =
        build("[{\"namespace\":\"d\",\"hostnames\":[\"api.example\",\"*.wild.example\"],"
              "\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/\"}}],"
              "\"backendRefs\":[{\"name\":\"a\",\"port\":80}]}]}]");

    (void)state;
    assert_int_equal(route(r, "GET", "/", "Host", "api.example", 0), 'a');
    assert_int_equal(route(r, "GET", "/", "Host", "API.example:8080", 0), 'a');
    assert_int_equal(route(r, "GET", "/", "Host", "x.wild.example", 0), 'a');
    assert_int_equal(route(r, "GET", "/", "Host", "wild.example", 0), 404);
    assert_int_equal(route(r, "GET", "/", "Host", "other.example", 0), 404);
    assert_int_equal(route(r, "GET", "/", NULL, NULL, 0), 404);
    px_routes_free(r);
}

static void test_signature(void **state)
{
    const char *j = "[{\"namespace\":\"d\",\"rules\":[{\"matches\":[{\"path\":{\"type\":"
                    "\"PathPrefix\",\"value\":\"/\"}}],\"backendRefs\":[{\"name\":\"a\","
                    "\"port\":80,\"weight\":1}]}]}]";
    struct px_routes *r1 = build(j), *r2 = build(j);
    struct px_table *old = tabs[0];
    struct px_routes *r3;

    (void)state;
    assert_string_equal(px_routes_sig(r1), px_routes_sig(r2));
    tabs[0] = px_table_new(NULL, 0); /* the backend's table was republished */
    r3 = build(j);
    assert_string_not_equal(px_routes_sig(r1), px_routes_sig(r3));
    px_routes_free(r1);
    px_routes_free(r2);
    px_routes_free(r3);
    px_table_unref(old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_exact),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_hostnames),
        cmocka_unit_test(test_signature),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
