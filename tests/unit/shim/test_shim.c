/* The shim end to end: real shim processes (forked from this test, as `kroll shim` would run),
 * real network namespaces, real containers. The test binary doubles as the container helper
 * ("serve" binds a port and answers with a tag; "tree" makes a process tree). Tests needing a
 * network namespace are skipped when this machine cannot create one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/jx.h"
#include "core/netns.h"
#include "shim/shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TMO 3000

static char g_self[PATH_MAX];
static char g_tmp[1024]; /* a mkdtemp path: short, so every path built from it fits PATH_MAX */
static int g_netns_ok;
static char g_pods[32][PATH_MAX];
static int g_npods;

/* ---- helper modes (the test binary as a container) ----------------------------------------- */

static int helper_serve(int port, const char *tag)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, c;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0) {
        fprintf(stderr, "bind: %s\n", strerror(errno));
        return 1;
    }
    printf("listening on %d\n", port);
    fflush(stdout);
    while ((c = accept(fd, NULL, NULL)) >= 0) {
        dprintf(c, "%s\n", tag);
        close(c);
    }
    return 0;
}

/* A child with default SIGTERM under a parent that ignores it: a group signal reaches both. */
static int helper_tree(const char *pidfile)
{
    pid_t pid = fork();
    FILE *f;

    if (pid == 0) {
        pause();
        _exit(0);
    }
    signal(SIGTERM, SIG_IGN);
    signal(SIGCHLD, SIG_IGN); /* no zombie: a dead child is gone at once */
    f = fopen(pidfile, "w");
    fprintf(f, "%d\n", (int)pid);
    fclose(f);
    for (;;)
        pause();
}

/* ---- utilities ------------------------------------------------------------------------------ */

static int64_t ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *pod_spawn(const char *name, const struct shim_opts *o)
{
    struct err err;
    char *dir = g_pods[g_npods++];
    pid_t pid;

    err_init(&err);
    snprintf(dir, PATH_MAX, "%s/pods/%s", g_tmp, name);
    pid = shim_spawn(NULL, dir, o, &err);
    if (pid <= 0)
        fail_msg("shim_spawn %s: %s", name, err.msg);
    err_release(&err);
    return dir;
}

/* Starts a container and checks that the start time the shim reports is the one its state file
 * records (the kubelet's startedAt must read the same before and after a re-adoption). */
static pid_t ctr_start(const char *dir, const char *name, const char *const *argv, struct err *e)
{
    struct shim_container_spec spec = {.name = name, .argv = argv};
    time_t started = 0;
    pid_t pid = shim_container_start(dir, &spec, TMO, &started, e);
    json_t *st = NULL, *c;
    size_t i;
    char want[64];

    if (pid <= 0)
        return pid;
    /* time() reads the coarse clock, which may still show the previous second for a few ms
     * after the shim's CLOCK_REALTIME reading: allow one second ahead. */
    assert_true(started > time(NULL) - 60 && started <= time(NULL) + 1);
    assert_int_equal(shim_state_read(dir, &st, e), 0);
    time_rfc3339(started, want);
    json_array_foreach(json_object_get(st, "containers"), i, c)
    {
        const char *at = jx_str(c, "startedAt"); /* running */

        if (strcmp(jx_str(c, "name") ?: "", name) != 0)
            continue;
        if (!at) /* it already exited: the start time moved into its terminated record */
            at = jx_str(c, "terminated.startedAt");
        assert_non_null(at);
        assert_memory_equal(at, want, 19);
    }
    json_decref(st);
    return pid;
}

/* The container's entry in the live state; caller frees the returned state (*st). */
static json_t *ctr_state(const char *dir, const char *name, json_t **st)
{
    struct err err;
    json_t *c;
    size_t i;

    err_init(&err);
    if (shim_status(dir, st, TMO, &err) < 0)
        fail_msg("status: %s", err.msg);
    json_array_foreach(json_object_get(*st, "containers"), i,
                       c) if (strcmp(json_string_value(json_object_get(c, "name")), name) ==
                              0) return c;
    return NULL;
}

static json_t *wait_exited(const char *dir, const char *name, json_t **st)
{
    int64_t deadline = ms_now() + 5000;

    while (ms_now() < deadline) {
        json_t *c = ctr_state(dir, name, st);
        if (c && strcmp(json_string_value(json_object_get(c, "state")), "exited") == 0)
            return c;
        json_decref(*st);
        usleep(20000);
    }
    fail_msg("container %s did not exit", name);
    return NULL;
}

static char *file_read(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;

    if (!f)
        return NULL;
    buf = calloc(1, 1 << 20);
    n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static char *log_read(const char *dir, const char *ctr, const char *file)
{
    char path[PATH_MAX];

    snprintf(path, sizeof path, "%s/logs/%s/%s", dir, ctr, file);
    return file_read(path);
}

/* Connects inside a pod's namespace and reads the helper's one-line answer ("" on failure). */
static void tcp_ask(const char *netns, const char *ip, int port, char *out, size_t n)
{
    int64_t deadline = ms_now() + 5000;

    out[0] = 0;
    while (ms_now() < deadline) {
        int fd = netns_connect_tcp(netns, ip, port), soerr = 0;
        socklen_t sl = sizeof soerr;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (fd >= 0 && poll(&p, 1, 500) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
            p.events = POLLIN;
            if (poll(&p, 1, 1000) == 1) {
                ssize_t r = read(fd, out, n - 1);
                out[r > 0 ? r : 0] = 0;
                close(fd);
                return;
            }
        }
        if (fd >= 0)
            close(fd);
        usleep(30000);
    }
}

/* Writes raw bytes to the shim's socket and reads the reply lines that follow (bounded). */
static void raw_ask(const char *dir, const char *bytes, size_t n, char *out, size_t cap, int lines)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), seen = 0;
    size_t len = 0;
    int64_t deadline = ms_now() + TMO;

    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/shim.sock", dir);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(write(fd, bytes, n), (ssize_t)n);
    while (seen < lines && len < cap - 1 && ms_now() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) != 1)
            continue;
        ssize_t r = read(fd, out + len, cap - 1 - len);
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            seen += out[len + i] == '\n';
        len += (size_t)r;
    }
    out[len] = 0;
    close(fd);
}

static void pod_stop(const char *dir)
{
    struct err err;

    err_init(&err);
    shim_stop(dir, TMO, &err);
    err_release(&err);
}

static int gone_within(pid_t pid, int ms)
{
    int64_t deadline = ms_now() + ms;

    while (ms_now() < deadline) {
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return 1;
        usleep(10000);
    }
    return 0;
}

#define NEED_NETNS()                                                                               \
    do {                                                                                           \
        if (!g_netns_ok)                                                                           \
            skip();                                                                                \
    } while (0)

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_two_pods_same_port(void **state)
{
    struct shim_opts oa = {.pod_ip = "127.78.0.1"}, ob = {.pod_ip = "127.78.0.2"};
    const char *a, *b;
    const char *argv_a[] = {g_self, "serve", "18501", "pod-a", NULL};
    const char *argv_b[] = {g_self, "serve", "18501", "pod-b", NULL};
    json_t *sa, *sb;
    struct err err;
    char ans[64];

    NEED_NETNS();
    err_init(&err);
    a = pod_spawn("a", &oa);
    b = pod_spawn("b", &ob);
    assert_true(ctr_start(a, "srv", argv_a, &err) > 0);
    assert_true(ctr_start(b, "srv", argv_b, &err) > 0);
    assert_int_equal(shim_state_read(a, &sa, &err), 0);
    assert_int_equal(shim_state_read(b, &sb, &err), 0);
    assert_string_equal(json_string_value(json_object_get(sa, "network")), "netns");
    assert_string_equal(json_string_value(json_object_get(sa, "podIP")), "127.78.0.1");

    tcp_ask(json_string_value(json_object_get(sa, "netns")), "127.78.0.1", 18501, ans, sizeof ans);
    assert_string_equal(ans, "pod-a\n");
    tcp_ask(json_string_value(json_object_get(sb, "netns")), "127.78.0.2", 18501, ans, sizeof ans);
    assert_string_equal(ans, "pod-b\n");
    tcp_ask(json_string_value(json_object_get(sb, "netns")), "127.0.0.1", 18501, ans, sizeof ans);
    assert_string_equal(ans, "pod-b\n");
    /* Nothing of either pod is reachable from the host's namespace. */
    int fd = netns_connect_tcp(NULL, "127.78.0.1", 18501);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    assert_true(fd >= 0);
    assert_int_equal(poll(&p, 1, 1000), 1);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    assert_int_equal(soerr, ECONNREFUSED);
    close(fd);
    json_decref(sa);
    json_decref(sb);
    pod_stop(a);
    pod_stop(b);
}

static void test_exit_status_logs_restart(void **state)
{
    const char *argv1[] = {"sh", "-c", "echo hello; echo oops >&2; printf partial; exit 3", NULL};
    const char *argv2[] = {"sh", "-c", "echo second; kill -TERM $$", NULL};
    const char *dir = pod_spawn("logs", &(struct shim_opts){.host_network = !g_netns_ok});
    struct err err;
    json_t *st, *c;
    char *cur, *prev;
    regex_t re;

    err_init(&err);
    assert_true(ctr_start(dir, "app", argv1, &err) > 0);
    c = wait_exited(dir, "app", &st);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(c, "terminated"), "exitCode")), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c, "terminated"), "reason")), "Error");
    json_decref(st);
    usleep(100000); /* the log pipes drain right after the exit */
    cur = log_read(dir, "app", "current.log");
    assert_non_null(cur);
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                             "\\.[0-9]{9}Z stdout F hello\n",
                             REG_EXTENDED | REG_NEWLINE),
                     0);
    assert_int_equal(regexec(&re, cur, 0, NULL, 0), 0);
    regfree(&re);
    assert_non_null(strstr(cur, "Z stderr F oops\n"));
    assert_non_null(strstr(cur, "Z stdout F partial\n"));

    /* Restart: the old log becomes previous.log, the old exit lastTerminated. */
    assert_true(ctr_start(dir, "app", argv2, &err) > 0);
    c = wait_exited(dir, "app", &st);
    assert_int_equal(json_integer_value(json_object_get(c, "restartCount")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(c, "terminated"), "signal")), SIGTERM);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(c, "terminated"), "exitCode")), 143);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(c, "lastTerminated"), "exitCode")), 3);
    json_decref(st);
    usleep(100000);
    prev = log_read(dir, "app", "previous.log");
    free(cur);
    cur = log_read(dir, "app", "current.log");
    assert_non_null(prev);
    assert_non_null(strstr(prev, "F hello\n"));
    assert_non_null(strstr(cur, "F second\n"));
    assert_null(strstr(cur, "hello"));
    free(cur);
    free(prev);
    pod_stop(dir);
}

static void test_start_errors(void **state)
{
    const char *dir = pod_spawn("errs", &(struct shim_opts){.host_network = 1});
    const char *missing[] = {"/nonexistent/bin/x", NULL};
    const char *notpath[] = {"no-such-command-kroll", NULL};
    const char *ok[] = {"true", NULL};
    struct shim_container_spec spec = {.name = "cwd", .argv = ok, .cwd = "/nonexistent-dir"};
    struct err err;
    json_t *st, *c, *reply = NULL, *req;

    err_init(&err);
    assert_true(ctr_start(dir, "m", missing, &err) < 0);
    assert_non_null(strstr(err.msg, "No such file or directory"));
    err_init(&err);
    assert_true(ctr_start(dir, "p", notpath, &err) < 0);
    assert_string_equal(err.msg,
                        "exec: \"no-such-command-kroll\": executable file not found in $PATH");
    err_init(&err);
    assert_true(shim_container_start(dir, &spec, TMO, NULL, &err) < 0);
    assert_non_null(strstr(err.msg, "failed to chdir to \"/nonexistent-dir\""));
    c = ctr_state(dir, "m", &st);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c, "terminated"), "reason")),
        "StartError");
    json_decref(st);

    /* Malformed requests get an error reply; the shim keeps serving. */
    req = json_pack("{s:s, s:s, s:i}", "op", "start", "name", "x", "argv", 5);
    err_init(&err);
    assert_true(shim_request(dir, req, &reply, TMO, &err) < 0);
    assert_string_equal(err.msg, "argv must be a non-empty array of strings");
    json_decref(req);
    json_decref(reply);
    req = json_pack("{s:s}", "op", "frobnicate");
    err_init(&err);
    assert_true(shim_request(dir, req, &reply, TMO, &err) < 0);
    assert_string_equal(err.msg, "unknown op frobnicate");
    json_decref(req);
    json_decref(reply);
    err_init(&err);
    assert_true(shim_container_signal(dir, "nope", SIGTERM, TMO, &err) < 0);
    assert_string_equal(err.msg, "no container nope");
    /* Raw garbage, invalid UTF-8 and a non-object, then a good request on the same connection. */
    char out[2048];
    static const char junk[] =
        "this is not json\n{\"op\":\"\xff\"}\n[1]\n{\"op\":\"status\",\"id\":7}\n";
    raw_ask(dir, junk, sizeof junk - 1, out, sizeof out, 4);
    assert_non_null(strstr(out, "{\"ok\":false,\"error\":\"request is not a JSON object: "));
    assert_non_null(strstr(out, "\"error\":\"request is not a JSON object: wrong type\""));
    assert_non_null(strstr(out, "\"id\":7"));
    assert_int_equal(strstr(strstr(out, "\"id\":7"), "\n")[1], 0); /* the 4th line, last */
    assert_true(shim_pid_alive(dir) > 0);
    pod_stop(dir);
}

static void test_exec(void **state)
{
    const char *dir =
        pod_spawn("exec", &(struct shim_opts){.pod_ip = "127.78.0.9", .host_network = !g_netns_ok});
    const char *out4[] = {"sh", "-c", "echo out; echo err >&2; exit 4", NULL};
    const char *slow[] = {"sh", "-c", "echo hi; sleep 5; echo late", NULL};
    const char *ns[] = {"readlink", "/proc/self/ns/net", NULL};
    struct shim_exec_result r;
    struct err err;
    char want[128];
    ssize_t n;
    json_t *st;
    int64_t t0;

    err_init(&err);
    assert_int_equal(shim_exec(dir, out4, NULL, 2000, &r, &err), 0);
    assert_int_equal(r.exit_code, 4);
    assert_int_equal(r.timed_out, 0);
    assert_string_equal(r.output, "out\nerr\n");
    shim_exec_result_release(&r);

    t0 = ms_now();
    assert_int_equal(shim_exec(dir, slow, NULL, 300, &r, &err), 0);
    assert_true(ms_now() - t0 < 2000);
    assert_int_equal(r.timed_out, 1);
    assert_int_equal(r.signal, SIGKILL);
    assert_string_equal(r.output, "hi\n");
    shim_exec_result_release(&r);

    /* Output that is not UTF-8 arrives with replacement characters, not as a broken reply. */
    const char *bin[] = {"printf", "\\377ok\\303", NULL};
    assert_int_equal(shim_exec(dir, bin, NULL, 2000, &r, &err), 0);
    assert_string_equal(r.output, "\xEF\xBF\xBDok\xEF\xBF\xBD");
    shim_exec_result_release(&r);

    /* The command runs in the pod's namespace. */
    assert_int_equal(shim_exec(dir, ns, NULL, 2000, &r, &err), 0);
    assert_int_equal(shim_state_read(dir, &st, &err), 0);
    if (g_netns_ok) {
        n = readlink(json_string_value(json_object_get(st, "netns")), want, sizeof want - 1);
    } else {
        n = readlink("/proc/self/ns/net", want, sizeof want - 1);
    }
    assert_true(n > 0);
    want[n] = 0;
    assert_int_equal(strncmp(r.output, want, (size_t)n), 0);
    shim_exec_result_release(&r);
    json_decref(st);
    pod_stop(dir);
}

static void test_signal_process_group(void **state)
{
    const char *dir = pod_spawn("tree", &(struct shim_opts){.host_network = 1});
    char pidfile[PATH_MAX], *txt = NULL;
    const char *argv[] = {g_self, "tree", pidfile, NULL};
    struct err err;
    json_t *st, *c;
    pid_t gc = 0;
    int64_t deadline;

    snprintf(pidfile, sizeof pidfile, "%s/tree.pid", g_tmp);
    err_init(&err);
    assert_true(ctr_start(dir, "tree", argv, &err) > 0);
    for (deadline = ms_now() + 3000; ms_now() < deadline && gc <= 0; usleep(10000)) {
        free(txt);
        txt = file_read(pidfile);
        gc = txt ? atoi(txt) : 0;
    }
    free(txt);
    assert_true(gc > 0);
    assert_int_equal(shim_container_signal(dir, "tree", SIGTERM, TMO, &err), 0);
    assert_true(gone_within(gc, 2000)); /* the grandchild got the signal too */
    c = ctr_state(dir, "tree", &st);
    assert_string_equal(json_string_value(json_object_get(c, "state")), "running");
    json_decref(st);
    assert_int_equal(shim_container_signal(dir, "tree", SIGKILL, TMO, &err), 0);
    c = wait_exited(dir, "tree", &st);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(c, "terminated"), "exitCode")), 137);
    json_decref(st);
    pod_stop(dir);
}

static void test_survives_parent_and_stop(void **state)
{
    char dir[PATH_MAX], stat_path[64], *stat_txt;
    const char *sleeper[] = {"sleep", "100", NULL};
    struct err err;
    json_t *st, *c;
    pid_t parent, shim, cpid;
    int status;
    size_t i;

    snprintf(dir, sizeof dir, "%s/pods/orphan", g_tmp);
    snprintf(g_pods[g_npods++], PATH_MAX, "%s", dir);
    parent = fork();
    if (parent == 0) {
        struct err e;
        err_init(&e);
        _exit(shim_spawn(NULL, dir, &(struct shim_opts){.host_network = !g_netns_ok}, &e) > 0 ? 0
                                                                                              : 1);
    }
    assert_int_equal(waitpid(parent, &status, 0), parent);
    assert_int_equal(WEXITSTATUS(status), 0);
    shim = shim_pid_alive(dir);
    assert_true(shim > 0);
    assert_int_equal(getpgid(shim), shim);
    assert_true(getsid(shim) != getsid(0));
    snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)shim);
    stat_txt = file_read(stat_path);
    assert_non_null(stat_txt);
    int ppid = atoi(strchr(strrchr(stat_txt, ')') + 2, ' ') + 1);
    assert_true(ppid != parent && ppid != getpid());
    free(stat_txt);

    err_init(&err);
    cpid = ctr_start(dir, "s", sleeper, &err);
    assert_true(cpid > 0);
    assert_int_equal(shim_stop(dir, TMO, &err), 0);
    assert_true(gone_within(shim, 3000));
    assert_true(gone_within(cpid, 1000));
    assert_int_equal(shim_pid_alive(dir), 0);
    /* The state file tells the story without the shim. */
    assert_int_equal(shim_state_read(dir, &st, &err), 0);
    assert_true(json_is_true(json_object_get(st, "stopped")));
    json_array_foreach(json_object_get(st, "containers"), i, c)
    {
        assert_string_equal(json_string_value(json_object_get(c, "state")), "exited");
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(c, "terminated"), "signal")),
            SIGKILL);
    }
    assert_int_equal(json_array_size(json_object_get(st, "containers")), 1);
    json_decref(st);
    err_init(&err);
    assert_true(shim_status(dir, &st, TMO, &err) < 0);
    assert_non_null(strstr(err.msg, "not reachable"));
}

static void test_log_rotation(void **state)
{
    const char *dir =
        pod_spawn("rot", &(struct shim_opts){.host_network = 1, .log_max_bytes = 4096});
    const char *argv[] = {"sh", "-c",
                          "i=0; while [ $i -lt 400 ]; do echo line $i; "
                          "i=$((i+1)); done",
                          NULL};
    struct err err;
    struct stat sb;
    char path[PATH_MAX], *cur;
    json_t *st;

    err_init(&err);
    assert_true(ctr_start(dir, "r", argv, &err) > 0);
    wait_exited(dir, "r", &st);
    json_decref(st);
    usleep(100000);
    snprintf(path, sizeof path, "%s/logs/r/current.log.1", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size >= 4096 && sb.st_size < 4096 + 128);
    cur = log_read(dir, "r", "current.log");
    assert_true(strlen(cur) < 4096);
    assert_non_null(strstr(cur, "F line 399\n"));
    free(cur);
    pod_stop(dir);
}

static void test_subscribe_events(void **state)
{
    const char *dir = pod_spawn("sub", &(struct shim_opts){.host_network = 1});
    const char *argv[] = {"sh", "-c", "exit 7", NULL};
    struct shim_call call;
    struct err err;
    json_t *req = json_pack("{s:s}", "op", "subscribe"), *msg = NULL;
    int64_t deadline;
    int rc;

    err_init(&err);
    assert_int_equal(shim_call_start(&call, dir, req, &err), 0);
    json_decref(req);
    for (deadline = ms_now() + TMO;
         (rc = shim_call_read(&call, &msg, &err)) == -EAGAIN && ms_now() < deadline;)
        usleep(5000);
    assert_int_equal(rc, 0);
    json_decref(msg);
    /* The reply is consumed; what follows on this connection are events. */
    assert_true(ctr_start(dir, "e", argv, &err) > 0);
    for (deadline = ms_now() + TMO;
         (rc = shim_call_read(&call, &msg, &err)) == -EAGAIN && ms_now() < deadline;)
        usleep(5000);
    assert_int_equal(rc, 0);
    assert_non_null(msg);
    assert_string_equal(json_string_value(json_object_get(msg, "event")), "exit");
    assert_string_equal(json_string_value(json_object_get(msg, "container")), "e");
    assert_int_equal(json_integer_value(json_object_get(msg, "exitCode")), 7);
    json_decref(msg);
    shim_call_release(&call);
    pod_stop(dir);
}

static void test_userns_fallback(void **state)
{
    struct err err;
    const char *ns[] = {"readlink", "/proc/self/ns/user", NULL};
    struct shim_exec_result r;
    char self[128];
    const char *dir;
    json_t *st;
    ssize_t n;

    err_init(&err);
    if (netns_probe(NETNS_FORCE_USERNS, &err) < 0)
        skip();
    dir = pod_spawn("userns", &(struct shim_opts){.force_userns = 1, .pod_ip = "127.78.0.3"});
    assert_int_equal(shim_state_read(dir, &st, &err), 0);
    assert_string_equal(json_string_value(json_object_get(st, "network")), "userns");
    json_decref(st);
    assert_int_equal(shim_exec(dir, ns, NULL, 2000, &r, &err), 0);
    n = readlink("/proc/self/ns/user", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    assert_int_equal(r.exit_code, 0);
    assert_true(strncmp(r.output, self, strlen(self)) != 0);
    shim_exec_result_release(&r);
    pod_stop(dir);
}

static void test_sandbox_bad_input(void **state)
{
    assert_int_equal(netns_socket("/nonexistent/ns", -1, AF_INET, SOCK_STREAM), -ENOENT);
    assert_int_equal(netns_connect_tcp(NULL, "not-an-ip", 80), -EINVAL);
    assert_int_equal(netns_connect_tcp(NULL, "127.0.0.1", 0), -EINVAL);
    assert_int_equal(netns_connect_tcp(NULL, "127.0.0.1", 70000), -EINVAL);
}

static void test_spawn_refuses_second_shim(void **state)
{
    const char *dir = pod_spawn("dup", &(struct shim_opts){.host_network = 1});
    struct err err;

    err_init(&err);
    assert_true(shim_spawn(NULL, dir, &(struct shim_opts){.host_network = 1}, &err) < 0);
    assert_non_null(strstr(err.msg, "already running"));
    assert_true(shim_pid_alive(dir) > 0);
    pod_stop(dir);
}

/* kill -9 of the shim takes the pod's main processes with it; state.json stays readable. */
static void test_shim_killed(void **state)
{
    const char *dir = pod_spawn("killed", &(struct shim_opts){.host_network = 1});
    const char *sleeper[] = {"sleep", "100", NULL};
    struct err err;
    json_t *st;
    pid_t shim, cpid;

    err_init(&err);
    cpid = ctr_start(dir, "s", sleeper, &err);
    assert_true(cpid > 0);
    shim = shim_pid_alive(dir);
    assert_true(shim > 0);
    assert_int_equal(kill(shim, SIGKILL), 0);
    assert_true(gone_within(cpid, 2000));
    assert_int_equal(shim_pid_alive(dir), 0);
    assert_int_equal(shim_state_read(dir, &st, &err), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(st, "containers"), 0), "state")),
                        "running");
    json_decref(st);
}

/* The pause of a shared PID namespace (the process is in a namespace of its own), named in
 * state.json; it goes with the shim's stop, and its death stops the shim. */
static pid_t pause_of(const char *dir)
{
    struct err err;
    json_t *st = NULL;
    pid_t pid = 0;

    err_init(&err);
    assert_int_equal(shim_state_read(dir, &st, &err), 0);
    if (jx_str(st, "pidns"))
        sscanf(jx_str(st, "pidns"), "/proc/%d/ns/pid", &pid);
    json_decref(st);
    err_release(&err);
    return pid;
}

static void test_share_pid(void **state)
{
    const char *dir, *plain;
    char path[64], self[64] = "", theirs[64] = "";
    pid_t pause, shim;

    if (geteuid() != 0) /* a new PID namespace needs CAP_SYS_ADMIN (the userns shim aside) */
        skip();
    dir = pod_spawn("sharepid", &(struct shim_opts){.host_network = 1, .share_pid = 1});
    plain = pod_spawn("ownpid", &(struct shim_opts){.host_network = 1});
    pause = pause_of(dir);

    assert_true(pause > 0);
    assert_int_equal(pause_of(plain), 0);
    snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pause);
    assert_true(readlink(path, theirs, sizeof theirs - 1) > 0);
    assert_true(readlink("/proc/self/ns/pid", self, sizeof self - 1) > 0);
    assert_string_not_equal(self, theirs);
    pod_stop(dir);
    assert_true(gone_within(pause, 3000));

    dir = pod_spawn("sharepid-lost", &(struct shim_opts){.host_network = 1, .share_pid = 1});
    pause = pause_of(dir);
    shim = shim_pid_alive(dir);
    assert_true(pause > 0 && shim > 0);
    assert_int_equal(kill(pause, SIGKILL), 0);
    assert_true(gone_within(shim, 5000));
    pod_stop(plain);
}

/* ---- attach: stdin, tty, stdinOnce (plain processes) --------------------------------------- */

struct att {
    int fd;
    char buf[65536 + 16];
    size_t len;
    char out[8192]; /* 'o' and 'e' data, concatenated */
    size_t olen;
    int last;    /* type of the last control frame ('x', 'z') */
    int replied; /* the reply line was read */
};

static void att_open(struct att *a, const char *dir, const char *ctr, int stdin_)
{
    json_t *req = json_pack("{s:s, s:s, s:b}", "op", "attach", "container", ctr, "stdin", stdin_);
    struct shim_call call;
    struct err err;

    memset(a, 0, sizeof *a);
    err_init(&err);
    assert_int_equal(shim_call_start(&call, dir, req, &err), 0);
    json_decref(req);
    a->fd = call.fd;
    call.fd = -1;
    shim_call_release(&call);
}

static void att_send(struct att *a, int type, const void *p, size_t n)
{
    unsigned char h[5] = {(unsigned char)type, 0, 0, (unsigned char)(n >> 8), (unsigned char)n};

    assert_int_equal(write(a->fd, h, 5), 5);
    if (n)
        assert_int_equal(write(a->fd, p, n), (ssize_t)n);
}

/* Reads frames until want appears in the output (or, want NULL, a control frame arrives);
 * the first line is the attach reply, which must be ok. */
static void att_until(struct att *a, const char *want)
{
    int64_t deadline = ms_now() + TMO;

    while (ms_now() < deadline) {
        struct pollfd p = {.fd = a->fd, .events = POLLIN};
        ssize_t n;
        size_t off = 0;

        if (want ? memmem(a->out, a->olen, want, strlen(want)) != NULL : a->last != 0)
            return;
        if (poll(&p, 1, 100) <= 0)
            continue;
        n = read(a->fd, a->buf + a->len, sizeof a->buf - a->len);
        assert_true(n > 0);
        a->len += (size_t)n;
        if (!a->replied) {
            char *nl = memchr(a->buf, '\n', a->len);

            if (!nl)
                continue;
            assert_non_null(memmem(a->buf, (size_t)(nl - a->buf), "\"ok\":true", 9));
            off = (size_t)(nl - a->buf) + 1;
            a->replied = 1;
        }
        while (a->len - off >= 5) {
            const unsigned char *h = (const unsigned char *)a->buf + off;
            size_t k = (size_t)h[3] << 8 | h[4];

            if (a->len - off < 5 + k)
                break;
            if ((h[0] == 'o' || h[0] == 'e') && a->olen + k < sizeof a->out) {
                memcpy(a->out + a->olen, h + 5, k);
                a->olen += k;
            } else if (h[0] == 'x' || h[0] == 'z') {
                a->last = h[0];
            }
            off += 5 + k;
        }
        memmove(a->buf, a->buf + off, a->len - off);
        a->len -= off;
    }
    fail_msg("attach: no %s in \"%.*s\"", want ? want : "end frame", (int)a->olen, a->out);
}

static void test_attach(void **state)
{
    const char *cat[] = {"cat", NULL};
    const char *sh[] = {"sh", "-c", "read x; tty; stty size; echo got $x", NULL};
    const char *once[] = {"sh", "-c", "cat; echo closed", NULL};
    const char *dir = pod_spawn("attach", &(struct shim_opts){.host_network = !g_netns_ok});
    struct shim_container_spec in = {.name = "in", .argv = cat, .stdin_open = 1};
    struct shim_container_spec tty = {.name = "tty", .argv = sh, .stdin_open = 1, .tty = 1};
    struct shim_container_spec on = {
        .name = "once", .argv = once, .stdin_open = 1, .stdin_once = 1};
    unsigned char size[4] = {0, 77, 0, 33}; /* 77 columns, 33 rows */
    struct att a, b;
    struct err err;
    char *log;

    err_init(&err);
    assert_true(shim_container_start(dir, &in, TMO, NULL, &err) > 0);
    assert_true(shim_container_start(dir, &tty, TMO, NULL, &err) > 0);
    assert_true(shim_container_start(dir, &on, TMO, NULL, &err) > 0);
    /* stdin: input reaches cat, its output every attach; the end of one attach's input ends
     * that attach (no stdinOnce), not cat. */
    att_open(&a, dir, "in", 1);
    att_open(&b, dir, "in", 0);
    att_send(&a, 'i', "hello\n", 6);
    att_until(&a, "hello\n");
    att_until(&b, "hello\n");
    att_send(&a, 'c', NULL, 0);
    att_until(&a, NULL);
    assert_int_equal(a.last, 'z');
    close(a.fd);
    att_open(&a, dir, "in", 1);
    att_send(&a, 'i', "again\n", 6);
    att_until(&b, "again\n");
    close(a.fd), close(b.fd);
    /* tty: a terminal, sized by the attach, logged as stdout. */
    att_open(&a, dir, "tty", 1);
    att_send(&a, 'r', size, 4);
    att_send(&a, 'i', "hi\n", 3);
    att_until(&a, "/dev/pts/");
    att_until(&a, "33 77");
    att_until(&a, "got hi");
    att_until(&a, NULL);
    assert_int_equal(a.last, 'x');
    close(a.fd);
    usleep(100000);
    log = log_read(dir, "tty", "current.log");
    assert_non_null(log);
    assert_non_null(strstr(log, " stdout F /dev/pts/"));
    free(log);
    /* stdinOnce: the first attach's input ends, so does the container's stdin. */
    att_open(&a, dir, "once", 1);
    att_send(&a, 'i', "x\n", 2);
    att_send(&a, 'c', NULL, 0);
    att_until(&a, "closed");
    att_until(&a, NULL);
    assert_int_equal(a.last, 'x');
    close(a.fd);
    pod_stop(dir);
}

/* ---- fixture ----------------------------------------------------------------------------------
 */

static int group_setup(void **state)
{
    struct err err;

    err_init(&err);
    g_netns_ok = netns_probe(NETNS_NO_USERNS, &err) > 0;
    if (!g_netns_ok)
        fprintf(stderr, "note: no network namespaces here (%s); netns tests skipped\n", err.msg);
    snprintf(g_tmp, sizeof g_tmp, "/tmp/kroll-shim-test.XXXXXX");
    return mkdtemp(g_tmp) ? 0 : -1;
}

/* Whatever a failed test left running is stopped here: no shim outlives the suite. */
static int group_teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    for (int i = 0; i < g_npods; i++) {
        pid_t pid = shim_pid_alive(g_pods[i]);
        if (pid > 0) {
            pod_stop(g_pods[i]);
            if (!gone_within(pid, 2000))
                kill(pid, SIGKILL);
        }
    }
    if (getenv("KROLL_TEST_KEEP")) {
        fprintf(stderr, "kept %s\n", g_tmp);
        return 0;
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandbox_bad_input),
        cmocka_unit_test(test_two_pods_same_port),
        cmocka_unit_test(test_exit_status_logs_restart),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_exec),
        cmocka_unit_test(test_signal_process_group),
        cmocka_unit_test(test_survives_parent_and_stop),
        cmocka_unit_test(test_log_rotation),
        cmocka_unit_test(test_subscribe_events),
        cmocka_unit_test(test_userns_fallback),
        cmocka_unit_test(test_spawn_refuses_second_shim),
        cmocka_unit_test(test_shim_killed),
        cmocka_unit_test(test_share_pid),
        cmocka_unit_test(test_attach),
    };
    ssize_t n;

    if (argc == 4 && strcmp(argv[1], "serve") == 0)
        return helper_serve(atoi(argv[2]), argv[3]);
    if (argc == 3 && strcmp(argv[1], "tree") == 0)
        return helper_tree(argv[2]);
    n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    if (n <= 0)
        return 1;
    g_self[n] = 0;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
