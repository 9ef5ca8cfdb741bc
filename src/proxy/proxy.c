/* kroll proxy: command line, process lifecycle (workers, admin and control threads, signals)
 * and the service registry that providers fill. The data path itself is in worker.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "proxy/proxy-int.h"
#include "proxy/proxy.h"

void px_config_defaults(struct px_config *cfg)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    *cfg = (struct px_config){
        .nworkers = n > 0 ? (int)(n > PX_MAX_WORKERS ? PX_MAX_WORKERS : n) : 1,
        .max_conns = 10000,
        .max_header_bytes = 32 * 1024,
        .max_headers = 100,
        .max_body_bytes = 1LL << 30,
        .header_timeout_ms = 10000,
        .idle_timeout_ms = 75000,
        .body_timeout_ms = 60000,
        .connect_timeout_ms = 3000,
        .response_timeout_ms = 60000,
        .pool_idle_ms = 30000,
        .pool_max = 256,
        .retries = 2,
        .drain_poll_ms = 10,
        .max_pod_listeners = 20000,
        .balance = PX_BALANCE_LEAST_REQUEST,
    };
}

static const char usage_text[] =
    "usage: kroll proxy --listen [IP:]PORT --backends IP:PORT[,IP:PORT...] [options]\n"
    "       kroll proxy --data-dir DIR [--node-address IP] [options]\n"
    "\n"
    "Static mode: proxies HTTP/1.1 (or TCP with --mode tcp) from --listen to the backends.\n"
    "API-client mode (--data-dir): watches the Services and EndpointSlices of DIR's server\n"
    "(DIR/kubeconfig) and serves every Service port at clusterIP:port, NodePorts at\n"
    "--node-address (default 127.0.0.1); control socket DIR/run/proxy.sock, metrics on\n"
    "--admin (default 127.0.0.1:0, the address chosen is written to DIR/run/proxy.admin).\n"
    "  --workers N               worker threads (default: CPUs, or $PROXY_WORKERS)\n"
    "  --admin IP:PORT           serve /metrics and /healthz\n"
    "  --control PATH            unix socket for drain requests\n"
    "  --mode http|tcp           default http\n"
    "  --balance least-request|round-robin\n"
    "  --access-log              one log line per request on stderr\n"
    "  --max-conns N             client connection cap (default 10000)\n"
    "  --max-header-bytes N      default 32768;  --max-headers N (default 100)\n"
    "  --max-body-bytes N        request body cap, 0 = none (default 1 GiB)\n"
    "  --header-timeout-ms N     whole request head (default 10000)\n"
    "  --idle-timeout-ms N       idle keep-alive client (default 75000)\n"
    "  --body-timeout-ms N       gap between request body bytes (default 60000)\n"
    "  --connect-timeout-ms N    upstream connect (default 3000)\n"
    "  --response-timeout-ms N   gap between upstream response bytes (default 60000)\n"
    "  --retries N               other endpoints tried after a failed connect (default 2)\n"
    "  --max-pod-listeners N     Service listeners inside pods, pods x ports (default 20000)\n";

enum { O_ADMIN = 256, O_CONTROL, O_MODE, O_BALANCE, O_ACCESS, O_MAXCONN, O_MAXHB, O_MAXH,
       O_MAXBODY, O_HTO, O_ITO, O_BTO, O_CTO, O_RTO, O_RETRIES, O_DATADIR, O_NODEADDR,
       O_MAXPODLIS };

static const struct option long_opts[] = {
    {"listen", required_argument, NULL, 'l'},   {"backends", required_argument, NULL, 'b'},
    {"workers", required_argument, NULL, 'w'},  {"admin", required_argument, NULL, O_ADMIN},
    {"control", required_argument, NULL, O_CONTROL},
    {"mode", required_argument, NULL, O_MODE},  {"balance", required_argument, NULL, O_BALANCE},
    {"access-log", no_argument, NULL, O_ACCESS},
    {"max-conns", required_argument, NULL, O_MAXCONN},
    {"max-header-bytes", required_argument, NULL, O_MAXHB},
    {"max-headers", required_argument, NULL, O_MAXH},
    {"max-body-bytes", required_argument, NULL, O_MAXBODY},
    {"header-timeout-ms", required_argument, NULL, O_HTO},
    {"idle-timeout-ms", required_argument, NULL, O_ITO},
    {"body-timeout-ms", required_argument, NULL, O_BTO},
    {"connect-timeout-ms", required_argument, NULL, O_CTO},
    {"response-timeout-ms", required_argument, NULL, O_RTO},
    {"retries", required_argument, NULL, O_RETRIES},
    {"max-pod-listeners", required_argument, NULL, O_MAXPODLIS},
    {"data-dir", required_argument, NULL, O_DATADIR},
    {"node-address", required_argument, NULL, O_NODEADDR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static int parse_num(const char *opt, const char *s, long long lo, long long hi, long long *v)
{
    char *end;

    errno = 0;
    *v = strtoll(s, &end, 10);
    if (errno || !*s || *end || *v < lo || *v > hi) {
        fprintf(stderr, "kroll proxy: %s must be a whole number from %lld to %lld (got '%s')\n",
                opt, lo, hi, s);
        return -1;
    }
    return 0;
}

struct args {
    char *listen, *backends, *admin, *control, *data_dir, *node_address;
    enum px_mode mode;
};

/* One option into cfg/args; 0, or 2 for a usage error. */
static int parse_opt(int o, const char *arg, struct px_config *cfg, struct args *a)
{
    long long v;
    int rc = 0;

    switch (o) {
    case 'l': a->listen = strchr(arg, ':') ? xstrdup(arg) : xasprintf("127.0.0.1:%s", arg); break;
    case 'b': a->backends = xstrdup(arg); break;
    case O_ADMIN: a->admin = strchr(arg, ':') ? xstrdup(arg) : xasprintf("127.0.0.1:%s", arg);
        break;
    case O_CONTROL: a->control = xstrdup(arg); break;
    case O_ACCESS: cfg->access_log = 1; break;
    case O_MODE:
        if (strcmp(arg, "http") && strcmp(arg, "tcp"))
            goto bad;
        a->mode = strcmp(arg, "tcp") ? PX_MODE_HTTP : PX_MODE_TCP;
        break;
    case O_BALANCE:
        if (!strcmp(arg, "least-request"))
            cfg->balance = PX_BALANCE_LEAST_REQUEST;
        else if (!strcmp(arg, "round-robin"))
            cfg->balance = PX_BALANCE_ROUND_ROBIN;
        else
            goto bad;
        break;
    case 'w': rc = parse_num("--workers", arg, 1, PX_MAX_WORKERS, &v); cfg->nworkers = (int)v; break;
    case O_MAXCONN: rc = parse_num("--max-conns", arg, 1, 10000000, &v); cfg->max_conns = (int)v; break;
    case O_MAXHB: rc = parse_num("--max-header-bytes", arg, 256, 1 << 24, &v);
        cfg->max_header_bytes = (size_t)v; break;
    case O_MAXH: rc = parse_num("--max-headers", arg, 1, 10000, &v); cfg->max_headers = (int)v; break;
    case O_MAXBODY: rc = parse_num("--max-body-bytes", arg, 0, LLONG_MAX, &v);
        cfg->max_body_bytes = v; break;
    case O_HTO: rc = parse_num("--header-timeout-ms", arg, 1, INT_MAX, &v);
        cfg->header_timeout_ms = (int)v; break;
    case O_ITO: rc = parse_num("--idle-timeout-ms", arg, 1, INT_MAX, &v);
        cfg->idle_timeout_ms = (int)v; break;
    case O_BTO: rc = parse_num("--body-timeout-ms", arg, 1, INT_MAX, &v);
        cfg->body_timeout_ms = (int)v; break;
    case O_CTO: rc = parse_num("--connect-timeout-ms", arg, 1, INT_MAX, &v);
        cfg->connect_timeout_ms = (int)v; break;
    case O_RTO: rc = parse_num("--response-timeout-ms", arg, 1, INT_MAX, &v);
        cfg->response_timeout_ms = (int)v; break;
    case O_RETRIES: rc = parse_num("--retries", arg, 0, 7, &v); cfg->retries = (int)v; break;
    case O_MAXPODLIS: rc = parse_num("--max-pod-listeners", arg, 0, 1000000, &v);
        cfg->max_pod_listeners = (int)v; break;
    case O_DATADIR: a->data_dir = xstrdup(arg); break;
    case O_NODEADDR: {
        struct sockaddr_storage sa;
        socklen_t sl;
        char *t = xasprintf("%s:1", arg);

        rc = px_addr_parse(t, &sa, &sl) < 0 || strchr(arg, ':');
        free(t);
        if (rc) {
            fprintf(stderr, "kroll proxy: --node-address must be an IPv4 address (got '%s')\n",
                    arg);
            return 2;
        }
        a->node_address = xstrdup(arg);
        break;
    }
    default: goto bad;
    }
    return rc ? 2 : 0;
bad:
    fprintf(stderr, "kroll proxy: bad value '%s'\n%s", arg ? arg : "", usage_text);
    return 2;
}

static int listener_open(const struct px_service *svc)
{
    int fd = socket(svc->listen.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&svc->listen, svc->listen_len) < 0 ||
        listen(fd, 4096) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Our listeners share their port through SO_REUSEPORT, which would as well let a second
 * proxy (another data dir handing out the same clusterIP) silently take half the connections.
 * A plain bind first fails while anyone holds the address, so the address is ours alone. */
static int listener_exclusive(const struct px_service *svc)
{
    int fd = socket(svc->listen.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, rc;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    rc = bind(fd, (const struct sockaddr *)&svc->listen, svc->listen_len);
    if (rc < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int proxy_service_add(struct proxy *px, struct px_service *svc)
{
    int fds[PX_MAX_WORKERS], rc = listener_exclusive(svc);

    if (rc < 0) {
        fprintf(stderr, "kroll proxy: cannot listen on %s: %s\n", svc->listen_text,
                strerror(-rc));
        px_service_free(svc);
        return -1;
    }

    for (int i = 0; i < px->cfg.nworkers; i++) {
        fds[i] = listener_open(svc);
        if (fds[i] < 0) {
            fprintf(stderr, "kroll proxy: cannot listen on %s: %s\n", svc->listen_text,
                    strerror(errno));
            while (i--)
                close(fds[i]);
            px_service_free(svc);
            return -1;
        }
    }
    pthread_mutex_lock(&px->mu);
    px->svcs = xrealloc(px->svcs, (size_t)(px->nsvcs + 1) * sizeof *px->svcs);
    px->svcs[px->nsvcs++] = svc;
    pthread_mutex_unlock(&px->mu);
    for (int i = 0; i < px->cfg.nworkers; i++)
        px_worker_post_listener(px->workers[i], svc, fds[i]);
    log_info("proxy", "listening service=%s addr=%s workers=%d", svc->name, svc->listen_text,
             px->cfg.nworkers);
    return 0;
}

void proxy_service_retire(struct proxy *px, struct px_service *svc)
{
    atomic_store(&svc->retired, 1);
    px_service_publish(svc, px_table_new(NULL, 0));
    for (int i = 0; i < px->cfg.nworkers; i++)
        px_worker_post_listener(px->workers[i], svc, -1);
    log_info("proxy", "closed service=%s addr=%s", svc->name, svc->listen_text);
}

/* API-client mode owns DIR/run/proxy.{lock,pid,sock,admin}: the lock keeps a second proxy of
 * the same data dir from joining our SO_REUSEPORT listeners and taking half the traffic. */
static int datadir_claim(struct args *a)
{
    char *lock = xasprintf("%s/run/proxy.lock", a->data_dir);
    char *pidp = xasprintf("%s/run/proxy.pid", a->data_dir), pid[32];
    int fd, rc = -1;

    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "kroll proxy: %s: %s\n", lock, strerror(errno));
        goto out;
    }
    /* `kroll stop` probes the lock with a brief shared flock: retry a moment first. */
    for (int i = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; i++) {
        if (i == 10) {
            fprintf(stderr, "kroll proxy: another proxy is running for %s\n", a->data_dir);
            close(fd);
            goto out;
        }
        usleep(100 * 1000);
    }
    snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    file_write_atomic(pidp, pid, strlen(pid), 0644);
    if (!a->control)
        a->control = xasprintf("%s/run/proxy.sock", a->data_dir);
    if (!a->admin)
        a->admin = xstrdup("127.0.0.1:0");
    rc = 0; /* the lock fd stays open for the life of the process */
out:
    free(lock);
    free(pidp);
    return rc;
}

static void datadir_write_admin(struct proxy *px, struct args *a)
{
    char *p = xasprintf("%s/run/proxy.admin", a->data_dir), *txt;

    txt = xasprintf("%s\n", px->admin_bound);
    file_write_atomic(p, txt, strlen(txt), 0644);
    free(txt);
    free(p);
}

static int proxy_run(struct proxy *px, struct args *a)
{
    struct px_provider prov = {0};
    sigset_t set;
    int sig = 0, rc = 1, started = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread; main takes them */
    signal(SIGPIPE, SIG_IGN);
    px->workers = xcalloc((size_t)px->cfg.nworkers, sizeof *px->workers);
    for (int i = 0; i < px->cfg.nworkers; i++)
        px->workers[i] = px_worker_new(px, i);
    for (; started < px->cfg.nworkers; started++)
        if (px_worker_start(px->workers[started]) < 0)
            goto out;
    if (a->admin && px_admin_start(px, a->admin) < 0)
        goto out;
    if (px_stats_start(px) < 0)
        goto out;
    if (a->data_dir && px->admin_bound[0])
        datadir_write_admin(px, a);
    if (a->control && px_control_start(px, a->control) < 0)
        goto out;
    if (a->data_dir)
        px_api_provider_init(&prov, a->data_dir, a->node_address ? a->node_address : "127.0.0.1");
    else
        px_static_provider_init(&prov, a->listen, a->backends, a->mode);
    if (prov.start(&prov, px) < 0)
        goto out;
    log_info("proxy", "ready provider=%s balance=%s admin=%s", prov.name,
             px->cfg.balance == PX_BALANCE_ROUND_ROBIN ? "round-robin" : "least-request",
             px->admin_bound[0] ? px->admin_bound : "-");
    while (sigwait(&set, &sig) != 0)
        ;
    log_info("proxy", "stopping signal=%d", sig);
    rc = 0;
out:
    if (prov.stop)
        prov.stop(&prov);
    px_stats_stop(px);
    for (int i = 0; i < started; i++)
        px_worker_stop_join(px->workers[i]);
    for (int i = 0; i < px->cfg.nworkers; i++)
        px_worker_free(px->workers[i]);
    if (a->control)
        unlink(a->control);
    return rc;
}

int proxy_main(int argc, char **argv)
{
    struct proxy px = {0};
    struct args a = {0};
    const char *envw = getenv("PROXY_WORKERS");
    int o, rc = 2;

    px_config_defaults(&px.cfg);
    if (envw && atoi(envw) > 0 && atoi(envw) <= PX_MAX_WORKERS)
        px.cfg.nworkers = atoi(envw);
    pthread_mutex_init(&px.mu, NULL);
    pthread_mutex_init(&px.stats_mu, NULL);
    optind = 1;
    while ((o = getopt_long(argc, argv, "l:b:w:h", long_opts, NULL)) != -1) {
        if (o == 'h') {
            fputs(usage_text, stdout);
            rc = 0;
            goto out;
        }
        if (o == '?' || parse_opt(o, optarg, &px.cfg, &a)) {
            if (o == '?')
                fputs(usage_text, stderr);
            goto out;
        }
    }
    if (optind < argc || (!a.data_dir && (!a.listen || !a.backends))) {
        fprintf(stderr,
                "kroll proxy: --listen and --backends are required (or --data-dir DIR)\n%s",
                usage_text);
        goto out;
    }
    if (a.data_dir && (a.listen || a.backends)) {
        fprintf(stderr, "kroll proxy: --data-dir does not go with --listen/--backends\n%s",
                usage_text);
        goto out;
    }
    if (a.data_dir && datadir_claim(&a) < 0) {
        rc = 1;
        goto out;
    }
    rc = proxy_run(&px, &a);
out:
    for (int i = 0; i < px.nsvcs; i++)
        px_service_free(px.svcs[i]);
    free(px.svcs);
    free(px.workers);
    pthread_mutex_destroy(&px.mu);
    pthread_mutex_destroy(&px.stats_mu);
    free(a.listen);
    free(a.backends);
    free(a.admin);
    free(a.control);
    free(a.data_dir);
    free(a.node_address);
    return rc;
}
