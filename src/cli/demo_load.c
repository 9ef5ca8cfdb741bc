/* The demo's load generator: one thread, one epoll loop, a fixed number of keep-alive HTTP/1.1
 * connections to a Service clusterIP, alternating GET /v1/models/classifier and
 * POST /v1/models/classifier:predict at a paced rate. It counts what a client without retries
 * sees: every non-2xx answer, every refused or broken connection with a request in flight and
 * every request not answered within 2 s is a failure. Results are attributed to the phase that
 * is current when the request ends, and to one-second buckets for the report's timeline. */
#include <arpa/inet.h>
#include <errno.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/demo-int.h"
#include "core/log.h"

#define REQ_TIMEOUT 2.0

enum lc_state { LC_IDLE, LC_CONNECTING, LC_SENDING, LC_READING };

struct lconn {
    struct load *l;
    int fd, gen, seq;
    enum lc_state st;
    double due, started;
    char out[512];
    size_t outlen, outoff;
    llhttp_t parser;
    int complete, is_version, is_connection, close_after;
    char field[40], value[64], version[32], config[16];
};

struct load {
    pthread_t thread;
    pthread_mutex_t mu;
    int epfd, nconns, stop;
    double t0;
    _Atomic double interval; /* seconds between one connection's requests */
    /* under mu */
    char host[64];
    int port, gen, phase;
    struct load_counters phases[DEMO_MAX_PHASES], total;
    struct load_second secs[DEMO_MAX_SECONDS];
    int nsecs, nversions;
    char versions[DEMO_MAX_VERSIONS][32];
    char lasterr[160];
    struct lconn *c;
    llhttp_settings_t settings;
};

static const char predict_body[] = "{\"instances\": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}";

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int lat_bucket(uint64_t us)
{
    double lim = 20;
    int i = 0;

    while (i < DEMO_LAT_BUCKETS - 1 && (double)us > lim) {
        lim *= 1.08;
        i++;
    }
    return i;
}

double load_percentile_us(const struct load_counters *c, double q)
{
    uint64_t n = 0, want, seen = 0;
    double lim = 20;

    for (int i = 0; i < DEMO_LAT_BUCKETS; i++)
        n += c->lat_hist[i];
    if (!n)
        return 0;
    want = (uint64_t)(q * (double)n + 0.5);
    for (int i = 0; i < DEMO_LAT_BUCKETS; i++, lim *= 1.08) {
        seen += c->lat_hist[i];
        if (seen >= want && seen > 0)
            return lim;
    }
    return lim;
}

/* Index of a version name, adding it when there is room (caller holds mu). */
static int version_index(struct load *l, const char *v)
{
    for (int i = 0; i < l->nversions; i++)
        if (!strcmp(l->versions[i], v))
            return i;
    if (!v[0] || l->nversions == DEMO_MAX_VERSIONS)
        return -1;
    snprintf(l->versions[l->nversions], sizeof l->versions[0], "%s", v);
    return l->nversions++;
}

static void count_one(struct load_counters *c, int ok, int kind, uint64_t us, int vi)
{
    c->requests++;
    if (ok) {
        c->ok++;
        c->lat_sum_us += us;
        if (us > c->lat_max_us)
            c->lat_max_us = us;
        c->lat_hist[lat_bucket(us)]++;
        if (vi >= 0)
            c->by_version[vi]++;
        return;
    }
    c->failed++;
    if (kind == 1)
        c->fail_status++;
    else if (kind == 2)
        c->fail_conn++;
    else
        c->fail_timeout++;
}

/* Records one finished request. kind: 0 ok, 1 bad status, 2 connection, 3 timeout. */
static void load_record(struct load *l, struct lconn *c, int kind, const char *why)
{
    double now = mono();
    uint64_t us = (uint64_t)((now - c->started) * 1e6);
    int sec = (int)(now - l->t0), vi;
    char name[32];

    /* A server with a config file answers X-Config-Version too: "1.0.3 cfg v2". */
    if (c->config[0])
        snprintf(name, sizeof name, "%.14s cfg %.12s", c->version, c->config);
    else
        snprintf(name, sizeof name, "%s", c->version);
    pthread_mutex_lock(&l->mu);
    vi = kind == 0 ? version_index(l, name) : -1;
    count_one(&l->total, kind == 0, kind, us, vi);
    if (l->phase >= 0 && l->phase < DEMO_MAX_PHASES)
        count_one(&l->phases[l->phase], kind == 0, kind, us, vi);
    if (sec >= 0 && sec < DEMO_MAX_SECONDS) {
        if (kind == 0) {
            l->secs[sec].ok++;
            if (vi >= 0)
                l->secs[sec].by_version[vi]++;
        } else {
            l->secs[sec].failed++;
        }
        if (sec + 1 > l->nsecs)
            l->nsecs = sec + 1;
    }
    if (kind != 0)
        snprintf(l->lasterr, sizeof l->lasterr, "%s", why);
    pthread_mutex_unlock(&l->mu);
}

static void lconn_close(struct lconn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(c->l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->st = LC_IDLE;
}

/* A request failed: count it, drop the connection, try again at the next pacing slot. */
static void lconn_fail(struct lconn *c, int kind, const char *why)
{
    load_record(c->l, c, kind, why);
    lconn_close(c);
    c->due = mono() + c->l->interval;
}

/* Appends n bytes to the string dst of size cap, unless they do not fit. */
static void append_capped(char *dst, size_t cap, const char *at, size_t n)
{
    size_t have = strlen(dst);

    if (have + n < cap) {
        memcpy(dst + have, at, n);
        dst[have + n] = 0;
    }
}

static int on_field(llhttp_t *p, const char *at, size_t n)
{
    struct lconn *c = p->data;

    append_capped(c->field, sizeof c->field, at, n);
    return 0;
}

static int on_value(llhttp_t *p, const char *at, size_t n)
{
    struct lconn *c = p->data;

    append_capped(c->value, sizeof c->value, at, n);
    return 0;
}

static int on_value_complete(llhttp_t *p)
{
    struct lconn *c = p->data;

    if (!strcasecmp(c->field, "X-Model-Version"))
        snprintf(c->version, sizeof c->version, "%.31s", c->value);
    else if (!strcasecmp(c->field, "X-Config-Version"))
        snprintf(c->config, sizeof c->config, "%.15s", c->value);
    else if (!strcasecmp(c->field, "Connection") && !strcasecmp(c->value, "close"))
        c->close_after = 1;
    c->field[0] = c->value[0] = 0;
    return 0;
}

static int on_complete(llhttp_t *p)
{
    struct lconn *c = p->data;

    c->complete = 1;
    return HPE_PAUSED;
}

static void lconn_build(struct lconn *c, const char *host)
{
    int post = c->seq++ % 2;

    if (post)
        c->outlen = (size_t)snprintf(c->out, sizeof c->out,
                                     "POST /v1/models/classifier:predict HTTP/1.1\r\n"
                                     "Host: %s\r\nContent-Type: application/json\r\n"
                                     "Content-Length: %zu\r\n\r\n%s",
                                     host, sizeof predict_body - 1, predict_body);
    else
        c->outlen = (size_t)snprintf(
            c->out, sizeof c->out, "GET /v1/models/classifier HTTP/1.1\r\nHost: %s\r\n\r\n", host);
    c->outoff = 0;
}

static void lconn_watch(struct lconn *c, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};

    if (epoll_ctl(c->l->epfd, EPOLL_CTL_MOD, c->fd, &e) < 0)
        epoll_ctl(c->l->epfd, EPOLL_CTL_ADD, c->fd, &e);
}

static int lconn_connect(struct lconn *c, const char *host, int port, int gen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1;

    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->gen = gen;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
        return -1;
    c->st = LC_CONNECTING;
    lconn_watch(c, EPOLLOUT);
    return 0;
}

/* Starts the next request on c if it is due and a target is set. */
static void lconn_start(struct lconn *c, double now)
{
    struct load *l = c->l;
    char host[64];
    int port, gen;

    if (c->st != LC_IDLE || now < c->due)
        return;
    pthread_mutex_lock(&l->mu);
    snprintf(host, sizeof host, "%s", l->host);
    port = l->port;
    gen = l->gen;
    pthread_mutex_unlock(&l->mu);
    if (!host[0]) {
        lconn_close(c);
        return;
    }
    if (c->fd >= 0 && c->gen != gen)
        lconn_close(c);
    c->due = now + l->interval;
    c->started = now;
    c->complete = c->close_after = 0;
    c->version[0] = c->config[0] = c->field[0] = c->value[0] = 0;
    llhttp_init(&c->parser, HTTP_RESPONSE, &l->settings);
    c->parser.data = c;
    lconn_build(c, host);
    if (c->fd < 0) {
        if (lconn_connect(c, host, port, gen) < 0)
            lconn_fail(c, 2, "connect failed");
        return;
    }
    c->st = LC_SENDING;
    lconn_watch(c, EPOLLOUT);
}

static void lconn_send(struct lconn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);

        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            lconn_fail(c, 2, "connection reset while sending");
            return;
        }
        c->outoff += (size_t)n;
    }
    c->st = LC_READING;
    lconn_watch(c, EPOLLIN | EPOLLRDHUP);
}

static void lconn_finish(struct lconn *c)
{
    int status = c->parser.status_code;

    if (status >= 200 && status < 300) {
        load_record(c->l, c, 0, "");
    } else {
        char why[64];

        snprintf(why, sizeof why, "HTTP %d", status);
        load_record(c->l, c, 1, why);
    }
    if (c->close_after || !llhttp_should_keep_alive(&c->parser)) {
        lconn_close(c);
        return;
    }
    c->st = LC_IDLE;
    lconn_watch(c, EPOLLIN | EPOLLRDHUP);
}

static void lconn_read(struct lconn *c)
{
    char buf[8192];

    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        llhttp_errno_t e;

        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            if (c->st == LC_READING && n == 0 && llhttp_finish(&c->parser) == HPE_OK &&
                c->complete) {
                c->close_after = 1;
                lconn_finish(c);
            } else if (c->st == LC_READING) {
                lconn_fail(c, 2,
                           n == 0 ? "connection closed with a request in flight"
                                  : "connection reset with a request in flight");
            } else {
                lconn_close(c); /* idle keep-alive connection closed: not a request */
            }
            return;
        }
        if (c->st != LC_READING) {
            lconn_close(c); /* bytes nobody asked for */
            return;
        }
        e = llhttp_execute(&c->parser, buf, (size_t)n);
        if (c->complete) {
            lconn_finish(c);
            return;
        }
        if (e != HPE_OK) {
            lconn_fail(c, 2, "malformed response");
            return;
        }
    }
}

static void lconn_event(struct lconn *c, uint32_t ev)
{
    if (c->st == LC_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;

        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            lconn_fail(c, 2, err == ECONNREFUSED ? "connection refused" : "connect failed");
            return;
        }
        c->st = LC_SENDING;
    }
    if (c->st == LC_SENDING)
        lconn_send(c);
    else if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        lconn_read(c);
}

static void *load_main(void *arg)
{
    struct load *l = arg;
    struct epoll_event ev[64];

    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(l->epfd, ev, 64, 5);
        double now;

        for (int i = 0; i < n; i++)
            lconn_event(ev[i].data.ptr, ev[i].events);
        now = mono();
        for (int i = 0; i < l->nconns; i++) {
            struct lconn *c = &l->c[i];

            if (c->st != LC_IDLE && now - c->started > REQ_TIMEOUT)
                lconn_fail(c, 3, "no answer within 2s");
            lconn_start(c, now);
        }
    }
    for (int i = 0; i < l->nconns; i++)
        lconn_close(&l->c[i]);
    return NULL;
}

void load_set_rate(struct load *l, int rate)
{
    if (rate > 0)
        l->interval = (double)l->nconns / rate;
}

struct load *load_start(int conns, int rate, double t0)
{
    struct load *l = calloc(1, sizeof *l);
    sigset_t all, old;

    if (!l)
        die("out of memory");
    pthread_mutex_init(&l->mu, NULL);
    l->nconns = conns;
    l->interval = (double)conns / rate;
    l->t0 = t0;
    l->c = calloc((size_t)conns, sizeof *l->c);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!l->c || l->epfd < 0)
        die("load generator: %s", strerror(errno));
    llhttp_settings_init(&l->settings);
    l->settings.on_header_field = on_field;
    l->settings.on_header_value = on_value;
    l->settings.on_header_value_complete = on_value_complete;
    l->settings.on_message_complete = on_complete;
    for (int i = 0; i < conns; i++) {
        l->c[i].l = l;
        l->c[i].fd = -1;
        l->c[i].due = mono() + l->interval * i / conns; /* spread the connections' slots */
    }
    /* Signals belong to the main thread, which handles Ctrl-C and stops this one. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    if (pthread_create(&l->thread, NULL, load_main, l) != 0)
        die("load generator: cannot start thread");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return l;
}

void load_set_target(struct load *l, const char *host, int port)
{
    pthread_mutex_lock(&l->mu);
    snprintf(l->host, sizeof l->host, "%s", host ? host : "");
    l->port = port;
    l->gen++;
    pthread_mutex_unlock(&l->mu);
}

void load_set_phase(struct load *l, int idx)
{
    pthread_mutex_lock(&l->mu);
    l->phase = idx;
    pthread_mutex_unlock(&l->mu);
}

void load_get_phase(struct load *l, int idx, struct load_counters *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->phases[idx];
    pthread_mutex_unlock(&l->mu);
}

void load_get_total(struct load *l, struct load_counters *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->total;
    pthread_mutex_unlock(&l->mu);
}

int load_versions(struct load *l, char names[DEMO_MAX_VERSIONS][32])
{
    int n;

    pthread_mutex_lock(&l->mu);
    n = l->nversions;
    memcpy(names, l->versions, sizeof l->versions);
    pthread_mutex_unlock(&l->mu);
    return n;
}

int load_get_seconds(struct load *l, struct load_second *out, int max)
{
    int n;

    pthread_mutex_lock(&l->mu);
    n = l->nsecs < max ? l->nsecs : max;
    memcpy(out, l->secs, (size_t)n * sizeof *out);
    pthread_mutex_unlock(&l->mu);
    return n;
}

void load_last_error(struct load *l, char *buf, size_t n)
{
    pthread_mutex_lock(&l->mu);
    snprintf(buf, n, "%s", l->lasterr);
    pthread_mutex_unlock(&l->mu);
}

void load_stop(struct load *l)
{
    if (!l)
        return;
    __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
    pthread_join(l->thread, NULL);
    close(l->epfd);
    pthread_mutex_destroy(&l->mu);
    free(l->c);
    free(l);
}
