/* `kroll server`: opens the store, serves the API over HTTPS, bootstraps the built-in
 * namespaces and the node, writes the kubeconfig once it can serve, and stops cleanly on
 * SIGTERM or SIGINT. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "core/dur.h"
#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"
#include "server/server.h"

static void on_signal(int signo, void *ctx)
{
    log_info("server", "msg=\"stopping\" signal=%d", signo);
    loop_stop(ctx);
}

static char *b64(const char *data, size_t n)
{
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)n);
    return out;
}

static int write_kubeconfig(const char *dir, const char *host, int port, const char *token)
{
    char *ca_path = xasprintf("%s/pki/ca.crt", dir), *path = xasprintf("%s/kubeconfig", dir);
    size_t n = 0;
    char *ca = file_read_all(ca_path, &n), *ca64, *text;
    int rc;

    if (!ca) {
        free(ca_path);
        free(path);
        return -ENOENT;
    }
    ca64 = b64(ca, n);
    text = xasprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: kroll\n  cluster:\n"
                     "    server: https://%s:%d\n    certificate-authority-data: %s\n"
                     "users:\n- name: kroll-admin\n  user:\n    token: %s\n"
                     "contexts:\n- name: kroll\n  context:\n    cluster: kroll\n"
                     "    user: kroll-admin\n    namespace: default\n"
                     "current-context: kroll\npreferences: {}\n",
                     host, port, ca64, token);
    rc = file_write_atomic(path, text, strlen(text), 0600);
    free(text);
    free(ca64);
    free(ca);
    free(ca_path);
    free(path);
    return rc;
}

static int parse_listen(const char *s, char *host, size_t n, int *port)
{
    const char *colon = strrchr(s, ':');

    if (!colon || colon == s)
        return -1;
    snprintf(host, n, "%.*s", (int)(colon - s), s);
    if (host[0] == '[') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    *port = atoi(colon + 1);
    return *port >= 0 && *port < 65536 ? 0 : -1;
}


/* A positive integer flag value, or exit 2 naming the flag. */
static long long flag_num(const char *flag, const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);

    if (end == v || *end || n <= 0 || n > (1LL << 40))
        die_usage("bad %s %s (want a positive integer)", flag, v);
    return n;
}

/* The front-end limit flags (docs/security.md). Returns 1 when argv[*i] was one. */
static int limit_flag(int argc, char **argv, int *i, struct api_limits *l)
{
    const char *f = argv[*i], *v;

    if (*i + 1 >= argc)
        return 0;
    v = argv[*i + 1];
    if (strcmp(f, "--max-connections") == 0)
        l->http.max_conns = (int)flag_num(f, v);
    else if (strcmp(f, "--max-request-head") == 0)
        l->http.max_head = (size_t)flag_num(f, v);
    else if (strcmp(f, "--request-head-timeout") == 0)
        l->http.head_timeout_ms = (int)flag_num(f, v) * 1000;
    else if (strcmp(f, "--request-body-timeout") == 0)
        l->http.body_timeout_ms = (int)flag_num(f, v) * 1000;
    else if (strcmp(f, "--max-watches") == 0)
        l->max_watches = (int)flag_num(f, v);
    else if (strcmp(f, "--max-watches-per-client") == 0)
        l->max_watches_per_client = (int)flag_num(f, v);
    else if (strcmp(f, "--watch-buffer-bytes") == 0)
        l->watch_buffer_bytes = (size_t)flag_num(f, v);
    else if (strcmp(f, "--watch-buffer-total") == 0)
        l->watch_buffer_total = (size_t)flag_num(f, v);
    else
        return 0;
    (*i)++;
    return 1;
}

/* --metric-resolution: a Go duration, 0 (no sampling) or 1s..1h, as metrics-server's flag.
 * Returns the node's metrics_period_ms (-1 for off), or exits 2 naming the flag. */
static int metric_resolution(const char *v)
{
    int64_t ms;

    if (dur_parse(v, &ms) < 0)
        die_usage("bad --metric-resolution %s (want a duration such as 10s, or 0 for no sampling)",
                 v);
    if (ms == 0)
        return -1;
    if (ms < 1000 || ms > 3600 * 1000)
        die_usage("bad --metric-resolution %s (want 0, or 1s to 1h)", v);
    return (int)ms;
}

/* The node's flags (name, address, resources, CDI, runtime, pids limit, metrics sampling).
 * Returns 1 when argv[*i] was one (and its value, consumed). */
static int node_flag(int argc, char **argv, int *i, struct server_opts *so)
{
    const char *f = argv[*i], *v;

    if (strncmp(f, "--runtime=", 10) == 0) {
        so->runtime = f + 10;
        return 1;
    }
    if (*i + 1 >= argc)
        return 0;
    v = argv[*i + 1];
    if (strcmp(f, "--node-name") == 0) {
        so->node_name = v;
    } else if (strcmp(f, "--node-resource") == 0) {
        if (so->n_node_resources < 16)
            so->node_resources[so->n_node_resources++] = v;
    } else if (strcmp(f, "--cdi-spec-dir") == 0) {
        if (so->n_cdi_spec_dirs == 16)
            die("at most 16 --cdi-spec-dir");
        so->cdi_spec_dirs[so->n_cdi_spec_dirs++] = v;
    } else if (strcmp(f, "--node-address") == 0) {
        so->node_address = v;
    } else if (strcmp(f, "--runtime") == 0) {
        so->runtime = v;
    } else if (strcmp(f, "--pod-pids-limit") == 0) {
        so->pod_pids_limit = flag_num(f, v);
    } else if (strcmp(f, "--metric-resolution") == 0) {
        so->metrics_period_ms = metric_resolution(v);
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

static int cmd_server_run(int argc, char **argv)
{
    char *dir = cli_data_dir(&argc, argv);
    char host[256] = "127.0.0.1", *pidpath, *lockpath, *dbpath, pidtxt[32];
    struct server_opts so = {0};
    struct api_limits lim;
    struct server *srv = NULL;
    struct loop *loop;
    struct err err;
    int port = 6443, lockfd, sigs[] = {SIGTERM, SIGINT, SIGHUP}, rc = 1;

    err_init(&err);
    /* Containers under runc unless the environment (tests) or the flag says otherwise. */
    so.runtime = getenv("KROLL_RUNTIME") && *getenv("KROLL_RUNTIME") ? getenv("KROLL_RUNTIME")
                                                                     : "runc";
    so.pod_pids_limit = POD_PIDS_LIMIT_DEFAULT;
    api_limits_default(&lim);
    so.api_limits = &lim;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            if (parse_listen(argv[++i], host, sizeof host, &port) < 0)
                die_usage("bad --listen %s (want HOST:PORT)", argv[i]);
        } else if (node_flag(argc, argv, &i, &so)) {
            continue;
        } else if (strncmp(argv[i], "--lint=", 7) == 0) {
            const char *m = argv[i] + 7;

            if (strcmp(m, "warn") && strcmp(m, "error") && strcmp(m, "off"))
                die_usage("bad %s (want --lint=warn|error|off)", argv[i]);
            lim.lint = !strcmp(m, "warn") ? API_LINT_WARN : !strcmp(m, "error") ? API_LINT_ERROR
                                                                               : API_LINT_OFF;
        } else if (limit_flag(argc, argv, &i, &lim)) {
            continue;
        } else {
            fprintf(stderr, "usage: kroll server [--data-dir DIR] [--listen HOST:PORT] "
                            "[--node-name NAME] [--node-resource NAME=N] [--node-address IP]\n"
                            "       [--cdi-spec-dir DIR]...\n"
                            "       [--runtime process|runc|PATH] [--pod-pids-limit N]\n"
                            "       [--metric-resolution DURATION]\n"
                            "       [--lint=warn|error|off]\n"
                            "       [--max-connections N] [--max-request-head BYTES]\n"
                            "       [--request-head-timeout SECONDS] "
                            "[--request-body-timeout SECONDS]\n"
                            "       [--max-watches N] [--max-watches-per-client N]\n"
                            "       [--watch-buffer-bytes BYTES] [--watch-buffer-total BYTES]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (cli_data_dir_secure(dir, &err) < 0)
        die("%s", err.msg);
    lockpath = cli_path(dir, "run/server.lock");
    lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    /* `kroll stop` probes the lock with a brief shared flock: retry a moment before deciding
     * another server holds it. */
    for (int i = 0; lockfd >= 0 && flock(lockfd, LOCK_EX | LOCK_NB) < 0; i++) {
        if (i == 10)
            die("another kroll server is running for %s (it holds %s)", dir, lockpath);
        usleep(100 * 1000);
    }
    if (lockfd < 0)
        die("cannot open %s: %s", lockpath, strerror(errno));
    pidpath = cli_path(dir, "run/server.pid");
    snprintf(pidtxt, sizeof pidtxt, "%d\n", (int)getpid());
    file_write_atomic(pidpath, pidtxt, strlen(pidtxt), 0644);

    loop = loop_new();
    loop_signals(loop, sigs, 3, on_signal, loop);
    dbpath = cli_path(dir, "kroll.db");
    so.data_dir = dir;
    so.db_path = dbpath;
    so.listen_host = host;
    so.listen_port = port;
    so.self_exe = "/proc/self/exe";
    if (server_start(loop, &so, &srv, &err) < 0) {
        log_error("server", "msg=\"cannot start\" err=\"%s\"", err.msg);
        goto out;
    }
    if (write_kubeconfig(dir, host, server_port(srv), server_token(srv)) < 0) {
        log_error("server", "msg=\"cannot write kubeconfig\" dir=%s", dir);
        goto out;
    }
    log_info("server", "msg=\"ready\" listen=https://%s:%d kubeconfig=%s/kubeconfig", host,
             server_port(srv), dir);
    loop_run(loop);
    rc = 0;
out:
    server_stop(srv);
    loop_free(loop);
    unlink(pidpath);
    err_release(&err);
    log_info("server", "msg=\"stopped\"");
    close(lockfd);
    free(dbpath);
    free(pidpath);
    free(lockpath);
    free(dir);
    return rc;
}

const struct cli_cmd cli_cmd_server = {
    .name = "server",
    .usage = "[--data-dir DIR] [--listen HOST:PORT]   run the API server, controllers and node",
    .run = cmd_server_run,
};
