/* Lifecycle hooks on a real loop: httpGet against an in-process server (host network), sleep,
 * tcpSocket, the time budget, cancellation, and exec through a real host-network shim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/hooks.h"
#include "probe_server.h"
#include "shim/shim.h"

#include <limits.h>

static struct loop *g_loop;
static char g_pod_dir[PATH_MAX];
static pid_t g_shim;

struct done {
    int n, ok;
    char msg[1024];
    int64_t at;
};

static int64_t g_t0;

static void on_done(struct hook *h, int ok, const char *msg, void *ctx)
{
    struct done *d = ctx;

    d->n++;
    d->ok = ok;
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    d->at = loop_now_ms(g_loop) - g_t0;
    loop_stop(g_loop);
}

static struct hook *run(json_t *handler, const struct container_target *t, int64_t timeout_ms,
                        struct done *d)
{
    struct hook *h;

    g_t0 = loop_now_ms(g_loop);
    h = hook_run(g_loop, handler, t, timeout_ms, on_done, d);
    json_decref(handler);
    return h;
}

static const struct container_target target = {
    .pod_ip = "127.0.0.1", .container = "server", .pod_ref = "p_default(uid-1)"};

static int setup(void **state)
{
    g_loop = loop_new();
    return srv_start(g_loop);
}

static int teardown(void **state)
{
    srv_stop();
    loop_run_for(g_loop, 1);
    loop_free(g_loop);
    return 0;
}

static void test_http_hook(void **state)
{
    struct done d = {0};
    char want[512];

    run(json_pack("{s:{s:s, s:i}}", "httpGet", "path", "/drain", "port", g_srv.port), &target,
        2000, &d);
    loop_run_for(g_loop, 3000);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.ok, 1);
    assert_non_null(strstr(g_srv.last_req, "GET /drain HTTP/1.1"));

    memset(&d, 0, sizeof d);
    run(json_pack("{s:{s:s, s:i}}", "httpGet", "path", "/status/500", "port", g_srv.port),
        &target, 2000, &d);
    loop_run_for(g_loop, 3000);
    /* Upstream ignores the status code of a hook's response: a 500 is not a failure. */
    assert_int_equal(d.n, 1);
    assert_int_equal(d.ok, 1);
    assert_non_null(strstr(g_srv.last_req, "GET /status/500 HTTP/1.1"));

    memset(&d, 0, sizeof d);
    run(json_pack("{s:{s:s, s:i}}", "httpGet", "path", "/x", "port", 1), &target, 2000, &d);
    loop_run_for(g_loop, 3000);
    assert_int_equal(d.ok, 0);
    snprintf(want, sizeof want, "HTTP lifecycle hook (/x) for Container \"server\" in Pod "
             "\"p_default(uid-1)\" failed - error: Get \"http://127.0.0.1:1/x\": dial tcp "
             "127.0.0.1:1: connect: connection refused");
    assert_string_equal(d.msg, want);

    memset(&d, 0, sizeof d);
    run(json_pack("{s:{s:s, s:i}}", "httpGet", "path", "/slow", "port", g_srv.port), &target,
        300, &d);
    loop_run_for(g_loop, 3000);
    assert_int_equal(d.ok, 0);
    assert_in_range(d.at, 280, 1000);
    snprintf(want, sizeof want, "HTTP lifecycle hook (/slow) for Container \"server\" in Pod "
             "\"p_default(uid-1)\" failed - error: ");
    assert_memory_equal(d.msg, want, strlen(want));
}

static void test_sleep_tcp_and_unknown(void **state)
{
    struct done d = {0};
    struct hook *h;

    run(json_pack("{s:{s:i}}", "sleep", "seconds", 1), &target, 5000, &d);
    loop_run_for(g_loop, 3000);
    assert_int_equal(d.ok, 1);
    assert_in_range(d.at, 990, 1500);

    /* The budget ends a longer sleep. */
    memset(&d, 0, sizeof d);
    run(json_pack("{s:{s:i}}", "sleep", "seconds", 10), &target, 200, &d);
    loop_run_for(g_loop, 3000);
    assert_int_equal(d.ok, 0);
    assert_in_range(d.at, 190, 600);
    assert_non_null(strstr(d.msg, "timed out"));

    /* Cancelled: done is never called. */
    memset(&d, 0, sizeof d);
    h = run(json_pack("{s:{s:i}}", "sleep", "seconds", 10), &target, 0, &d);
    hook_cancel(h);
    assert_int_equal(loop_run_for(g_loop, 300), 1);
    assert_int_equal(d.n, 0);

    memset(&d, 0, sizeof d);
    run(json_pack("{s:{s:i}}", "tcpSocket", "port", 1), &target, 1000, &d);
    loop_run_for(g_loop, 1000);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.ok, 1);

    memset(&d, 0, sizeof d);
    run(json_pack("{}"), &target, 1000, &d);
    loop_run_for(g_loop, 1000);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.ok, 0);
    assert_non_null(strstr(d.msg, "Cannot run handler"));
}

static void test_exec_hook(void **state)
{
    struct container_target t = target;
    struct done d = {0};

    if (g_shim <= 0)
        skip();
    t.pod_dir = g_pod_dir;
    run(json_pack("{s:{s:[s, s, s]}}", "exec", "command", "/bin/sh", "-c", "exit 3"), &t, 3000,
        &d);
    loop_run_for(g_loop, 4000);
    assert_int_equal(d.ok, 0);
    assert_string_equal(d.msg, "Exec lifecycle hook ([/bin/sh -c exit 3]) for Container \"server\" "
                               "in Pod \"p_default(uid-1)\" failed - error: command '/bin/sh -c "
                               "exit 3' exited with 3: , message: \"\"");

    memset(&d, 0, sizeof d);
    run(json_pack("{s:{s:[s, s, s]}}", "exec", "command", "/bin/sh", "-c", "echo bye; exit 1"),
        &t, 3000, &d);
    loop_run_for(g_loop, 4000);
    assert_int_equal(d.ok, 0);
    assert_non_null(strstr(d.msg, "exited with 1: bye\n, message: \"bye\\n\""));

    memset(&d, 0, sizeof d);
    run(json_pack("{s:{s:[s, s, s]}}", "exec", "command", "/bin/sh", "-c", "exit 0"), &t, 3000,
        &d);
    loop_run_for(g_loop, 4000);
    assert_int_equal(d.ok, 1);

    memset(&d, 0, sizeof d);
    run(json_pack("{s:{s:[s, s]}}", "exec", "command", "sleep", "10"), &t, 300, &d);
    loop_run_for(g_loop, 4000);
    assert_int_equal(d.ok, 0);
    assert_in_range(d.at, 280, 1500);
}

static int group_setup(void **state)
{
    struct err err;

    snprintf(g_pod_dir, sizeof g_pod_dir, "/tmp/kroll-hooks-test.XXXXXX");
    if (!mkdtemp(g_pod_dir))
        return -1;
    err_init(&err);
    g_shim = shim_spawn(NULL, g_pod_dir, &(struct shim_opts){.host_network = 1}, &err);
    if (g_shim <= 0)
        fprintf(stderr, "note: no shim (%s); exec hook tests skipped\n", err.msg);
    err_release(&err);
    return 0;
}

static int group_teardown(void **state)
{
    struct err err;
    char cmd[PATH_MAX + 16];

    err_init(&err);
    if (g_shim > 0)
        shim_stop(g_pod_dir, 3000, &err);
    err_release(&err);
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_pod_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sleep_tcp_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_hook, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
