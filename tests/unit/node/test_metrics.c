/* Resource metrics' pure parts: canonical CPU and memory quantities (as resource.Quantity prints
 * them), Go durations, the two-reading series and its rate (restarts and clock trouble reset
 * it), the JSON of a series, and the cgroup v1 and v2 readers on fake cgroup directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/metrics.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_cpu(uint64_t nc, const char *want)
{
    char b[32];

    metrics_cpu_quantity(nc, b, sizeof b);
    assert_string_equal(b, want);
}

static void check_mem(uint64_t bytes, const char *want)
{
    char b[32];

    metrics_mem_quantity(bytes, b, sizeof b);
    assert_string_equal(b, want);
}

static void check_dur(int64_t ms, const char *want)
{
    char b[48];

    metrics_duration(ms, b, sizeof b);
    assert_string_equal(b, want);
}

static void test_quantities(void **state)
{
    (void)state;
    check_cpu(0, "0");
    check_cpu(123456789, "123456789n");
    check_cpu(250000000, "250m");
    check_cpu(1000000, "1m");
    check_cpu(123456000, "123456u");
    check_cpu(2000000000, "2");
    check_cpu(1500000000, "1500m");
    check_mem(0, "0");
    check_mem(512, "512");
    check_mem(1000, "1k"); /* BinarySI below 1024 prints as DecimalSI */
    check_mem(1024, "1Ki");
    check_mem(52428 * 1024ULL, "52428Ki");
    check_mem(3ULL << 20, "3Mi");
    check_mem(5ULL << 30, "5Gi");
    check_mem(1025, "1025");
}

static void test_durations(void **state)
{
    (void)state;
    check_dur(0, "0s");
    check_dur(500, "500ms");
    check_dur(10000, "10s");
    check_dur(10012, "10.012s");
    check_dur(15500, "15.5s");
    check_dur(60500, "1m0.5s");
    check_dur(60000, "1m0s");
    check_dur(3723450, "1h2m3.45s");
    check_dur(7200000, "2h0m0s");
    check_dur(-1500, "-1.5s");
}

static struct msample sample(int64_t ms, uint64_t cpu, uint64_t ws)
{
    struct msample s = {
        .mono_ms = ms, .wall_s = 1700000000 + ms / 1000, .cpu_ns = cpu, .ws_bytes = ws};

    return s;
}

static void test_series_rate(void **state)
{
    struct mseries m = {0};
    struct msample s;
    uint64_t nc = 0;
    int64_t win = 0;

    (void)state;
    s = sample(1000, 5000000000ULL, 4096);
    metrics_series_push(&m, &s);
    assert_int_equal(metrics_series_rate(&m, &nc, &win), -1); /* one reading: no rate */
    s = sample(11000, 7500000000ULL, 8192);
    metrics_series_push(&m, &s);
    assert_int_equal(metrics_series_rate(&m, &nc, &win), 0);
    assert_int_equal(nc, 250000000); /* 2.5 s of CPU in 10 s: a quarter core */
    assert_int_equal(win, 10000);
    s = sample(21000, 17500000000ULL, 8192);
    metrics_series_push(&m, &s); /* keeps the last two */
    assert_int_equal(metrics_series_rate(&m, &nc, &win), 0);
    assert_int_equal(nc, 1000000000);
    assert_int_equal(m.s[0].mono_ms, 11000);
    s = sample(31000, 100, 8192); /* the counter went back: a restart */
    metrics_series_push(&m, &s);
    assert_int_equal(m.n, 1);
    assert_int_equal(metrics_series_rate(&m, &nc, &win), -1);
    s = sample(31000, 200, 8192); /* time did not advance */
    metrics_series_push(&m, &s);
    assert_int_equal(m.n, 1);
    metrics_series_release(&m);
    assert_int_equal(m.n, 0);
}

static void test_series_json(void **state)
{
    struct mseries m = {0};
    struct msample a = sample(0, 0, 1 << 20), b = sample(10012, 123456789, 52428 * 1024);
    json_t *j;

    (void)state;
    assert_null(metrics_series_json(&m));
    metrics_series_push(&m, &a);
    metrics_series_push(&m, &b);
    j = metrics_series_json(&m);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "window")), "10.012s");
    assert_string_equal(json_string_value(json_object_get(j, "timestamp")), "2023-11-14T22:13:30Z");
    /* 123456789 ns over 10.012 s: 12330881.84, truncated */
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "usage"), "cpu")),
                        "12330881n");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "usage"), "memory")),
                        "52428Ki");
    json_decref(j);
    metrics_series_release(&m);
}

static void put(const char *dir, const char *file, const char *text)
{
    char p[PATH_MAX];
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", dir, file);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cgroup_read(void **state)
{
    char dir[] = "/tmp/kroll-test-metrics.XXXXXX", cmd[PATH_MAX];
    struct msample s;

    (void)state;
    assert_non_null(mkdtemp(dir));
    /* cgroup v1: cpuacct.usage in ns; usage_in_bytes minus total_inactive_file. */
    put(dir, "cpuacct.usage", "123456789\n");
    put(dir, "memory.usage_in_bytes", "10485760\n");
    put(dir, "memory.stat", "cache 100\ninactive_file 1\ntotal_inactive_file 2097152\n");
    assert_int_equal(metrics_cgroup_read(dir, dir, &s), 0);
    assert_int_equal(s.cpu_ns, 123456789);
    assert_int_equal(s.ws_bytes, 8388608);
    /* More inactive file than usage: floored at 0. */
    put(dir, "memory.stat", "total_inactive_file 20971520\n");
    assert_int_equal(metrics_cgroup_read(dir, dir, &s), 0);
    assert_int_equal(s.ws_bytes, 0);
    /* cgroup v2: cpu.stat usage_usec; memory.current minus inactive_file. */
    snprintf(cmd, sizeof cmd, "rm -f %s/cpuacct.usage %s/memory.usage_in_bytes", dir, dir);
    assert_int_equal(system(cmd), 0);
    put(dir, "cpu.stat", "usage_usec 2500\nuser_usec 2000\n");
    put(dir, "memory.current", "4096000\n");
    put(dir, "memory.stat", "anon 1\ninactive_file 96000\n");
    assert_int_equal(metrics_cgroup_read(dir, dir, &s), 0);
    assert_int_equal(s.cpu_ns, 2500000);
    assert_int_equal(s.ws_bytes, 4000000);
    /* Nothing to read. */
    snprintf(cmd, sizeof cmd, "rm -f %s/cpu.stat", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(metrics_cgroup_read(dir, dir, &s), -1);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_node_read(void **state)
{
    struct msample a, b;

    (void)state;
    assert_int_equal(metrics_node_read(&a), 0);
    assert_true(a.cpu_ns > 0);
    assert_true(a.ws_bytes > 0);
    usleep(20000);
    assert_int_equal(metrics_node_read(&b), 0);
    assert_true(b.cpu_ns >= a.cpu_ns); /* cumulative */
    assert_true(b.mono_ms > a.mono_ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantities),  cmocka_unit_test(test_durations),
        cmocka_unit_test(test_series_rate), cmocka_unit_test(test_series_json),
        cmocka_unit_test(test_cgroup_read), cmocka_unit_test(test_node_read),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
