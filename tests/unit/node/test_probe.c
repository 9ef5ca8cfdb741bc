/* Probes against real sockets on a real loop: an in-process HTTP server on 127.0.0.1 (host
 * network, netns_path NULL), the Kubernetes counting rules, timeouts and error texts, and exec
 * probes through a real shim (host-network shim, so no root is needed). probe.c is included so
 * the tests can shrink the second-based timings to milliseconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/probe.c"
#include "probe_server.h"
#include "shim/shim.h"

#include <limits.h>
#include <signal.h>
#include <sys/wait.h>

#define MAXREC 64

struct rec {
    int n;
    int ok[MAXREC], state[MAXREC];
    char out[MAXREC][600];
    int64_t at[MAXREC];
    int stop_after;      /* loop_stop after this many results */
    int stop_probe_at;   /* probe_stop from inside the callback at this result (0: never) */
    int reset_at;        /* probe_reset from inside the callback at this result */
    int flip_status_at;  /* set the server's status to flip_status after this result */
    int flip_status;
};

static struct loop *g_loop;
static int64_t g_t0;

static void on_result(struct probe *p, int ok, int state, const char *output, void *ctx)
{
    struct rec *r = ctx;

    if (r->n < MAXREC) {
        r->ok[r->n] = ok;
        r->state[r->n] = state;
        snprintf(r->out[r->n], sizeof r->out[r->n], "%s", output);
        r->at[r->n] = loop_now_ms(g_loop) - g_t0;
    }
    r->n++;
    if (r->flip_status_at && r->n == r->flip_status_at)
        g_srv.status = r->flip_status;
    if (r->stop_probe_at && r->n == r->stop_probe_at)
        probe_stop(p);
    if (r->reset_at && r->n == r->reset_at)
        probe_reset(p);
    if (r->n == r->stop_after)
        loop_stop(g_loop);
}

/* Starts a probe and shrinks its timing to milliseconds. */
static struct probe *start_fast(const char *kind, json_t *spec, const struct container_target *t,
                                struct rec *r, int64_t delay, int64_t period, int64_t timeout)
{
    struct probe *p = probe_start(g_loop, kind, spec, t, on_result, r);

    p->initial_delay_ms = delay;
    p->period_ms = period;
    p->timeout_ms = timeout;
    probe_reset(p);
    g_t0 = loop_now_ms(g_loop);
    json_decref(spec);
    return p;
}

static json_t *http_spec(const char *path, int port, int success, int failure)
{
    return json_pack("{s:{s:s, s:i}, s:i, s:i}", "httpGet", "path", path, "port", port,
                     "successThreshold", success, "failureThreshold", failure);
}

static int setup(void **state)
{
    g_loop = loop_new();
    return srv_start(g_loop);
}

static int teardown(void **state)
{
    srv_stop();
    loop_run_for(g_loop, 1); /* deferred frees */
    loop_free(g_loop);
    return 0;
}

static const struct container_target host_target = {.pod_ip = "127.0.0.1", .container = "app"};

static void test_failure_threshold(void **state)
{
    struct rec r = {.stop_after = 5, .flip_status_at = 1, .flip_status = 503};
    struct probe *p = start_fast("readiness", http_spec("/", g_srv.port, 1, 3), &host_target, &r,
                                 0, 40, 500);

    loop_run_for(g_loop, 3000);
    assert_int_equal(r.n, 5);
    /* One success publishes ready; then exactly the third consecutive failure flips it. */
    assert_int_equal(r.ok[0], 1);
    assert_int_equal(r.state[0], 1);
    assert_int_equal(r.ok[1], 0);
    assert_int_equal(r.state[1], 1);
    assert_int_equal(r.state[2], 1);
    assert_int_equal(r.state[3], 0);
    assert_int_equal(r.state[4], 0);
    assert_string_equal(r.out[1], "HTTP probe failed with statuscode: 503");
    probe_stop(p);
}

static void test_success_threshold_and_unknown(void **state)
{
    struct rec r = {.stop_after = 4};
    struct probe *p = start_fast("readiness", http_spec("/", g_srv.port, 3, 3), &host_target, &r,
                                 0, 30, 500);

    loop_run_for(g_loop, 3000);
    assert_int_equal(r.n, 4);
    /* Not known until three consecutive successes. */
    assert_int_equal(r.state[0], -1);
    assert_int_equal(r.state[1], -1);
    assert_int_equal(r.state[2], 1);
    assert_int_equal(r.state[3], 1);
    probe_stop(p);
}

static void test_failures_interrupted_by_success(void **state)
{
    struct rec r = {.stop_after = 2};
    struct probe *p;

    g_srv.status = 500;
    p = start_fast("readiness", http_spec("/", g_srv.port, 1, 3), &host_target, &r, 0, 30, 500);
    /* Two failures, then a success resets the run, then failures again. */
    loop_run_for(g_loop, 2000);
    g_srv.status = 200;
    r.stop_after = 3;
    loop_run_for(g_loop, 2000);
    g_srv.status = 500;
    r.stop_after = 6;
    loop_run_for(g_loop, 3000);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.state[0], -1);
    assert_int_equal(r.state[1], -1);
    assert_int_equal(r.state[2], 1);
    assert_int_equal(r.state[3], 1);
    assert_int_equal(r.state[4], 1);
    assert_int_equal(r.state[5], 0);
    probe_stop(p);
}

static void test_status_codes(void **state)
{
    static const struct {
        int code, ok;
    } cases[] = {{200, 1}, {204, 1}, {302, 1}, {399, 1}, {400, 0}, {404, 0}, {500, 0}};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[32], want[64];
        struct rec r = {.stop_after = 1};
        struct probe *p;
        snprintf(path, sizeof path, "/status/%d", cases[i].code);
        p = start_fast("readiness", http_spec(path, g_srv.port, 1, 1), &host_target, &r, 0, 1000,
                       500);
        loop_run_for(g_loop, 2000);
        assert_int_equal(r.n, 1);
        assert_int_equal(r.ok[0], cases[i].ok);
        if (!cases[i].ok) {
            snprintf(want, sizeof want, "HTTP probe failed with statuscode: %d", cases[i].code);
            assert_string_equal(r.out[0], want);
        }
        probe_stop(p);
    }
}

static void test_request_headers(void **state)
{
    struct rec r = {.stop_after = 1};
    json_t *spec = json_pack("{s:{s:s, s:i, s:[{s:s, s:s}]}}", "httpGet", "path", "/hdr?x=1",
                             "port", g_srv.port, "httpHeaders", "name", "X-Probe", "value", "yes");
    struct probe *p = start_fast("liveness", spec, &host_target, &r, 0, 1000, 500);

    loop_run_for(g_loop, 2000);
    assert_int_equal(r.ok[0], 1);
    assert_non_null(strstr(g_srv.last_req, "GET /hdr?x=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(g_srv.last_req, "User-Agent: kube-probe/1.32\r\n"));
    assert_non_null(strstr(g_srv.last_req, "Accept: */*\r\n"));
    assert_non_null(strstr(g_srv.last_req, "X-Probe: yes\r\n"));
    probe_stop(p);

    /* A User-Agent of the spec replaces the default one. */
    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    spec = json_pack("{s:{s:i, s:[{s:s, s:s}]}}", "httpGet", "port", g_srv.port, "httpHeaders",
                     "name", "User-Agent", "value", "mine");
    p = start_fast("liveness", spec, &host_target, &r, 0, 1000, 500);
    loop_run_for(g_loop, 2000);
    assert_int_equal(r.ok[0], 1);
    assert_non_null(strstr(g_srv.last_req, "GET / HTTP/1.1\r\n"));
    assert_non_null(strstr(g_srv.last_req, "User-Agent: mine\r\n"));
    assert_null(strstr(g_srv.last_req, "kube-probe"));
    probe_stop(p);
}

static void test_timeout(void **state)
{
    struct rec r = {.stop_after = 1};
    char want[256];
    struct probe *p = start_fast("readiness", http_spec("/slow", g_srv.port, 1, 1), &host_target,
                                 &r, 0, 5000, 200);

    loop_run_for(g_loop, 3000);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ok[0], 0);
    assert_int_equal(r.state[0], 0);
    assert_in_range(r.at[0], 190, 1000);
    snprintf(want, sizeof want, "Get \"http://127.0.0.1:%d/slow\": context deadline exceeded "
             "(Client.Timeout exceeded while awaiting headers)", g_srv.port);
    assert_string_equal(r.out[0], want);
    probe_stop(p);
}

static void test_connection_refused_and_tcp(void **state)
{
    int port = closed_port();
    struct rec r = {.stop_after = 1};
    char want[256];
    struct probe *p = start_fast("readiness", http_spec("/healthz", port, 1, 1), &host_target, &r,
                                 0, 1000, 500);

    loop_run_for(g_loop, 2000);
    snprintf(want, sizeof want, "Get \"http://127.0.0.1:%d/healthz\": dial tcp 127.0.0.1:%d: "
             "connect: connection refused", port, port);
    assert_string_equal(r.out[0], want);
    probe_stop(p);

    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    p = start_fast("readiness", json_pack("{s:{s:i}}", "tcpSocket", "port", port), &host_target,
                   &r, 0, 1000, 500);
    loop_run_for(g_loop, 2000);
    snprintf(want, sizeof want, "dial tcp 127.0.0.1:%d: connect: connection refused", port);
    assert_int_equal(r.ok[0], 0);
    assert_string_equal(r.out[0], want);
    probe_stop(p);

    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    p = start_fast("readiness", json_pack("{s:{s:i}}", "tcpSocket", "port", g_srv.port),
                   &host_target, &r, 0, 1000, 500);
    loop_run_for(g_loop, 2000);
    assert_int_equal(r.ok[0], 1);
    assert_int_equal(r.state[0], 1);
    probe_stop(p);
}

static void test_named_port(void **state)
{
    json_t *ports = json_pack("[{s:s, s:i}]", "name", "http", "containerPort", g_srv.port);
    struct container_target t = {.pod_ip = "127.0.0.1", .container = "app", .ports = ports};
    struct rec r = {.stop_after = 1};
    struct probe *p = start_fast("readiness",
                                 json_pack("{s:{s:s, s:s}}", "httpGet", "path", "/", "port", "http"),
                                 &t, &r, 0, 1000, 500);

    loop_run_for(g_loop, 2000);
    assert_int_equal(r.ok[0], 1);
    probe_stop(p);

    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    p = start_fast("readiness", json_pack("{s:{s:s}}", "tcpSocket", "port", "grpc"), &t, &r, 0,
                   1000, 500);
    loop_run_for(g_loop, 2000);
    /* An unknown port name is an error of the probe, not a failure: not counted. */
    assert_int_equal(r.ok[0], -1);
    assert_int_equal(r.state[0], -1);
    assert_string_equal(r.out[0], "port grpc not found");
    probe_stop(p);
    json_decref(ports);
}

static void test_redirects_and_big_body(void **state)
{
    struct rec r = {.stop_after = 1};
    struct probe *p = start_fast("readiness", http_spec("/redirect/status/503", g_srv.port, 1, 1),
                                 &host_target, &r, 0, 1000, 500);

    /* Same host: followed, so the 503 at the end decides. */
    loop_run_for(g_loop, 2000);
    assert_int_equal(r.ok[0], 0);
    assert_string_equal(r.out[0], "HTTP probe failed with statuscode: 503");
    assert_non_null(strstr(g_srv.last_req, "GET /status/503 "));
    probe_stop(p);

    /* Another host: not followed; the 302 itself counts as success. */
    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    p = start_fast("readiness", http_spec("/away", g_srv.port, 1, 1), &host_target, &r, 0, 1000,
                   500);
    loop_run_for(g_loop, 2000);
    assert_int_equal(r.ok[0], 1);
    assert_non_null(strstr(r.out[0], "Probe terminated redirects"));
    probe_stop(p);

    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    p = start_fast("readiness", http_spec("/big", g_srv.port, 1, 1), &host_target, &r, 0, 1000,
                   500);
    loop_run_for(g_loop, 2000);
    assert_int_equal(r.ok[0], 1);
    assert_int_equal(strlen(r.out[0]), sizeof r.out[0] - 1); /* body kept (capped by the test) */
    probe_stop(p);
}

static void test_timing_initial_delay_and_period(void **state)
{
    struct rec r = {.stop_after = 3};
    struct probe *p = start_fast("readiness", http_spec("/", g_srv.port, 1, 3), &host_target, &r,
                                 300, 100, 500);

    loop_run_for(g_loop, 3000);
    assert_int_equal(r.n, 3);
    assert_in_range(r.at[0], 295, 450);
    assert_in_range(r.at[1] - r.at[0], 80, 180);
    assert_in_range(r.at[2] - r.at[1], 80, 180);
    probe_stop(p);
}

static void test_liveness_holds_until_reset(void **state)
{
    struct rec r = {.stop_after = 100};
    struct probe *p;

    g_srv.status = 500;
    p = start_fast("liveness", http_spec("/", g_srv.port, 1, 2), &host_target, &r, 0, 30, 500);
    loop_run_for(g_loop, 400);
    /* Published failure after 2; then the worker waits for the restarted container. */
    assert_int_equal(r.n, 2);
    assert_int_equal(r.state[1], 0);
    g_srv.status = 200;
    probe_reset(p);
    r.stop_after = 3;
    loop_run_for(g_loop, 2000);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.state[2], 1);
    probe_stop(p);
}

static void test_stop_and_reset_from_callback(void **state)
{
    struct rec r = {.stop_after = 100, .stop_probe_at = 2};

    start_fast("readiness", http_spec("/", g_srv.port, 1, 3), &host_target, &r, 0, 20, 500);
    loop_run_for(g_loop, 300);
    assert_int_equal(r.n, 2); /* stopped inside its own callback: no more attempts, no crash */

    memset(&r, 0, sizeof r);
    r.stop_after = 100;
    r.reset_at = 1;
    struct probe *p = start_fast("readiness", http_spec("/", g_srv.port, 1, 3), &host_target, &r,
                                 0, 30, 500);
    p->initial_delay_ms = 250; /* applies to the reset only */
    loop_run_for(g_loop, 200);
    assert_int_equal(r.n, 1); /* the reset re-armed the initial delay */
    loop_run_for(g_loop, 200);
    assert_true(r.n >= 2);
    assert_int_equal(r.state[1], 1);
    probe_stop(p);
}

static void test_grpc_and_bad_spec(void **state)
{
    struct rec r = {.stop_after = 1};
    struct probe *p = start_fast("readiness", json_pack("{s:{s:i}}", "grpc", "port", 9000),
                                 &host_target, &r, 0, 1000, 500);

    loop_run_for(g_loop, 1000);
    assert_int_equal(r.ok[0], 0);
    assert_string_equal(r.out[0], "gRPC probes are not supported by kroll");
    probe_stop(p);

    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    p = start_fast("readiness",
                   json_pack("{s:{s:s, s:i}}", "httpGet", "host", "example.com", "port", 80),
                   &host_target, &r, 0, 1000, 500);
    loop_run_for(g_loop, 1000);
    assert_int_equal(r.ok[0], 0);
    assert_non_null(strstr(r.out[0], "lookup example.com"));
    probe_stop(p);

    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    p = start_fast("readiness", json_pack("{s:{s:s, s:i}}", "httpGet", "scheme", "HTTPS", "port",
                                          g_srv.port), &host_target, &r, 0, 1000, 500);
    loop_run_for(g_loop, 1000);
    assert_int_equal(r.ok[0], 0);
    assert_non_null(strstr(r.out[0], "HTTPS probes are not supported"));
    probe_stop(p);
}

/* ---- exec through a real shim ----------------------------------------------------------------- */

static char g_pod_dir[PATH_MAX];
static pid_t g_shim;

static void test_exec(void **state)
{
    struct container_target t = {.pod_dir = g_pod_dir, .pod_ip = "127.0.0.1", .container = "app"};
    json_t *env = json_pack("[s, s]", "PATH=/usr/bin:/bin", "GREETING=hello");
    struct rec r = {.stop_after = 1};
    struct probe *p;

    if (g_shim <= 0)
        skip();
    t.env = env;
    p = start_fast("liveness",
                   json_pack("{s:{s:[s, s, s]}}", "exec", "command", "sh", "-c",
                             "echo $GREETING; exit 3"),
                   &t, &r, 0, 1000, 2000);
    loop_run_for(g_loop, 4000);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ok[0], 0);
    assert_string_equal(r.out[0], "hello\n");
    probe_stop(p);

    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    p = start_fast("readiness", json_pack("{s:{s:[s, s]}}", "exec", "command", "true", "x"), &t,
                   &r, 0, 1000, 2000);
    loop_run_for(g_loop, 4000);
    assert_int_equal(r.ok[0], 1);
    assert_int_equal(r.state[0], 1);
    probe_stop(p);

    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    p = start_fast("readiness", json_pack("{s:{s:[s, s]}}", "exec", "command", "sleep", "5"), &t,
                   &r, 0, 1000, 300);
    loop_run_for(g_loop, 4000);
    assert_int_equal(r.ok[0], 0);
    assert_string_equal(r.out[0], "command \"sleep 5\" timed out");
    assert_in_range(r.at[0], 250, 1500);
    probe_stop(p);
    json_decref(env);
}

/* Attempts that cannot run (no shim to exec through) are thrown away, as the kubelet's worker
 * does: even with failureThreshold 1 a liveness probe never publishes a failure. */
static void test_errors_not_counted(void **state)
{
    struct container_target t = {.pod_dir = "/nonexistent/kroll-pod", .pod_ip = "127.0.0.1",
                                 .container = "app"};
    struct rec r = {.stop_after = 3};
    struct probe *p = start_fast("liveness",
                                 json_pack("{s:{s:[s]}, s:i}", "exec", "command", "true",
                                           "failureThreshold", 1),
                                 &t, &r, 0, 100, 500);

    loop_run_for(g_loop, 3000);
    assert_int_equal(r.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r.ok[i], -1);
        assert_int_equal(r.state[i], -1);
        assert_non_null(strstr(r.out[i], "not reachable"));
    }
    probe_stop(p);

    /* A command the shim cannot start is a failure (a runtime's exec error is one too). */
    if (g_shim <= 0)
        return;
    t.pod_dir = g_pod_dir;
    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    p = start_fast("liveness", json_pack("{s:{s:[s]}, s:i}", "exec", "command",
                                         "/nonexistent/cmd", "failureThreshold", 1),
                   &t, &r, 0, 1000, 2000);
    loop_run_for(g_loop, 3000);
    assert_int_equal(r.ok[0], 0);
    assert_int_equal(r.state[0], 0);
    probe_stop(p);
}

static int group_setup(void **state)
{
    struct err err;

    snprintf(g_pod_dir, sizeof g_pod_dir, "/tmp/kroll-probe-test.XXXXXX");
    if (!mkdtemp(g_pod_dir))
        return -1;
    err_init(&err);
    g_shim = shim_spawn(NULL, g_pod_dir, &(struct shim_opts){.host_network = 1}, &err);
    if (g_shim <= 0)
        fprintf(stderr, "note: no shim (%s); exec probe tests skipped\n", err.msg);
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
        cmocka_unit_test_setup_teardown(test_failure_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_success_threshold_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_interrupted_by_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused_and_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirects_and_big_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timing_initial_delay_and_period, setup, teardown),
        cmocka_unit_test_setup_teardown(test_liveness_holds_until_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_and_reset_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grpc_and_bad_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_not_counted, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
