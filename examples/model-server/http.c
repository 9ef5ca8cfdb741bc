/* The model server's HTTP/1.1 side: listeners, a poll() loop, connections parsed with llhttp
 * (Content-Length and chunked bodies, keep-alive, Expect: 100-continue, pipelined requests
 * answered in order), bounded buffers and timeouts so a slow or hostile client costs one slot
 * and never the process, and the SIGTERM drain: stop accepting, close idle connections, finish
 * requests already started, then return (bounded by the grace period). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <llhttp.h>

#include "ms.h"

#define CONN_MAX 512
#define IN_CAP 16384
#define URL_MAX 4096
#define HEADERS_MAX 32768
#define IDLE_TIMEOUT_MS 60000    /* keep-alive connection with no request */
#define WRITE_TIMEOUT_MS 30000

enum conn_phase { PH_IDLE, PH_READING, PH_WAITING, PH_WRITING };

struct conn {
    int fd;
    enum conn_phase phase;
    int64_t deadline; /* meaning depends on phase: idle, request, delayed answer, write */
    int64_t started;
    llhttp_t parser;
    char in[IN_CAP];
    size_t in_len;           /* unparsed bytes (after a pause: the next pipelined request) */
    char url[URL_MAX + 1];
    size_t url_len;
    size_t header_bytes;
    char hname[32], hval[32]; /* only Expect is looked at; longer names cannot match */
    size_t hname_len, hval_len;
    int expect_continue;
    int error_status; /* set by a callback that refused the request (413, 414, 431) */
    char *body;
    size_t body_len, body_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    int close_after;
    int head_only;
};

static struct {
    int rest_fd, grpc_fd, sig_fd;
    struct conn *conns[CONN_MAX];
    int n_conns;
    int draining;
    int64_t drain_deadline;
    llhttp_settings_t settings;
} srv = {.rest_fd = -1, .grpc_fd = -1, .sig_fd = -1};

static int listen_tcp(const char *addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int one = 1, fd = -1, rc;

    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        ms_log("error", "bad bind address addr=%s", addr);
        return -EINVAL;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        rc = -errno;
        ms_log("error", "cannot listen addr=%s port=%d err=\"%s\"", addr, port, strerror(-rc));
        close(fd);
        return rc;
    }
    return fd;
}

int http_server_listen(void)
{
    sigset_t mask;

    srv.rest_fd = listen_tcp(ms_cfg.bind_addr, ms_cfg.rest_port);
    if (srv.rest_fd < 0)
        return srv.rest_fd;
    /* The gRPC port only accepts and closes, so tcpSocket probes on 8500 see a listener; a
     * failure there is not fatal because nothing here speaks gRPC anyway. */
    if (ms_cfg.grpc_port > 0) {
        srv.grpc_fd = listen_tcp(ms_cfg.bind_addr, ms_cfg.grpc_port);
        if (srv.grpc_fd < 0)
            ms_log("warn", "gRPC placeholder listener not opened port=%d", ms_cfg.grpc_port);
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    srv.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (srv.sig_fd < 0)
        return -errno;
    signal(SIGPIPE, SIG_IGN);
    ms_log("info", "listening rest_api_port=%d port=%d addr=%s", ms_cfg.rest_port,
           srv.grpc_fd >= 0 ? ms_cfg.grpc_port : 0, ms_cfg.bind_addr);
    return 0;
}

/* ---- output ------------------------------------------------------------------------------ */

static void conn_out_append(struct conn *c, const char *data, size_t len)
{
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 1024;
        while (cap < c->out_len + len)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) {
            ms_log("error", "out of memory for a response; closing the connection");
            c->close_after = 1;
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

static const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Client Error" : "Server Error";
    }
}

/* Queues the status line, headers and body. The connection closes after it when the client
 * asked, the request was unreadable, or the server is draining. */
static void conn_respond(struct conn *c, const struct http_response *res)
{
    const char *release = ms_cfg.release, *cv = config_version();
    char head[512];
    int n;

    if (!release && ms_model.model && *model_release(ms_model.model))
        release = model_release(ms_model.model);
    if (srv.draining)
        c->close_after = 1;
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Server: kroll-example-model-server\r\n%s%s%s%s%.63s%s%s\r\n",
                 res->status, http_reason(res->status), res->ctype ? res->ctype : "text/plain",
                 res->len, release ? "X-Model-Version: " : "", release ? release : "",
                 release ? "\r\n" : "", cv ? "X-Config-Version: " : "", cv ? cv : "",
                 cv ? "\r\n" : "", c->close_after ? "Connection: close\r\n" : "");
    conn_out_append(c, head, (size_t)n < sizeof(head) ? (size_t)n : sizeof(head) - 1);
    if (!c->head_only && res->len)
        conn_out_append(c, res->body, res->len);
    c->phase = PH_WRITING;
    c->deadline = ms_now() + WRITE_TIMEOUT_MS;
}

static void conn_fail(struct conn *c, int status, const char *msg)
{
    struct http_response res = {0};

    routes_error(&res, status, "%s", msg);
    c->close_after = 1;
    conn_respond(c, &res);
    free(res.body);
}

/* ---- llhttp callbacks -------------------------------------------------------------------- */

static int on_message_begin(llhttp_t *p)
{
    struct conn *c = p->data;

    c->phase = PH_READING;
    c->started = ms_now();
    c->deadline = c->started + ms_cfg.request_timeout_ms;
    c->url_len = c->header_bytes = c->body_len = 0;
    c->hname_len = c->hval_len = 0;
    c->expect_continue = c->error_status = c->head_only = 0;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct conn *c = p->data;

    if (c->url_len + len > URL_MAX) {
        c->error_status = 414;
        return HPE_USER;
    }
    memcpy(c->url + c->url_len, at, len);
    c->url_len += len;
    c->url[c->url_len] = 0;
    return 0;
}

static int header_piece(struct conn *c, char *dst, size_t *dst_len, size_t cap, const char *at,
                        size_t len)
{
    c->header_bytes += len;
    if (c->header_bytes > HEADERS_MAX) {
        c->error_status = 431;
        return HPE_USER;
    }
    /* Longer pieces are only counted: they cannot be "expect" or "100-continue". */
    if (*dst_len + len < cap)
        memcpy(dst + *dst_len, at, len);
    *dst_len += len;
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    return header_piece(c, c->hname, &c->hname_len, sizeof(c->hname), at, len);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    return header_piece(c, c->hval, &c->hval_len, sizeof(c->hval), at, len);
}

static int on_header_value_complete(llhttp_t *p)
{
    struct conn *c = p->data;

    if (c->hname_len == 6 && strncasecmp(c->hname, "expect", 6) == 0 && c->hval_len == 12 &&
        strncasecmp(c->hval, "100-continue", 12) == 0)
        c->expect_continue = 1;
    c->hname_len = c->hval_len = 0;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct conn *c = p->data;

    /* Refuse an announced oversized body before reading it. */
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > ms_cfg.max_body) {
        c->error_status = 413;
        return HPE_USER;
    }
    if (c->expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        conn_out_append(c, cont, sizeof(cont) - 1);
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct conn *c = p->data;

    if (c->body_len + len > ms_cfg.max_body) {
        c->error_status = 413;
        return HPE_USER;
    }
    if (c->body_len + len + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < c->body_len + len + 1)
            cap *= 2;
        char *b = realloc(c->body, cap);
        if (!b) {
            c->error_status = 413;
            return HPE_USER;
        }
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, len);
    c->body_len += len;
    return 0;
}

/* Pausing here answers one request at a time; later pipelined bytes wait in c->in. */
static int on_message_complete(llhttp_t *p)
{
    return HPE_PAUSED;
}

static void http_settings_init(void)
{
    llhttp_settings_init(&srv.settings);
    srv.settings.on_message_begin = on_message_begin;
    srv.settings.on_url = on_url;
    srv.settings.on_header_field = on_header_field;
    srv.settings.on_header_value = on_header_value;
    srv.settings.on_header_value_complete = on_header_value_complete;
    srv.settings.on_headers_complete = on_headers_complete;
    srv.settings.on_body = on_body;
    srv.settings.on_message_complete = on_message_complete;
}

/* ---- requests ---------------------------------------------------------------------------- */

static void conn_dispatch(struct conn *c)
{
    struct http_response res = {0};
    int method = llhttp_get_method(&c->parser);
    char *q = strchr(c->url, '?');

    if (q)
        *q = 0;
    if (!llhttp_should_keep_alive(&c->parser))
        c->close_after = 1;
    c->head_only = method == HTTP_HEAD;
    routes_handle(method == HTTP_HEAD ? HTTP_GET : method, c->url, c->body ? c->body : "",
                  c->body_len, &res);
    if (res.logged || ms_cfg.log_requests)
        ms_log("info", "request method=%s path=%s status=%d bytes_in=%zu",
               llhttp_method_name(method), c->url, res.status, c->body_len);
    conn_respond(c, &res);
    free(res.body);
    if (res.delay_ms > 0) {
        /* The answer is ready but held back: the connection waits, the loop does not. */
        c->phase = PH_WAITING;
        c->deadline = ms_now() + res.delay_ms;
    }
}

/* Feeds buffered bytes to the parser until it needs more input or a request is complete. */
static void conn_parse(struct conn *c)
{
    enum llhttp_errno e;
    size_t used;

    if (c->in_len == 0)
        return;
    e = llhttp_execute(&c->parser, c->in, c->in_len);
    if (e == HPE_OK) {
        c->in_len = 0;
        return;
    }
    if (e == HPE_PAUSED) {
        used = (size_t)(llhttp_get_error_pos(&c->parser) - c->in);
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        conn_dispatch(c);
        return;
    }
    c->in_len = 0;
    if (c->error_status == 413)
        conn_fail(c, 413, "request body is larger than the server accepts (MAX_BODY_BYTES)");
    else if (c->error_status == 414)
        conn_fail(c, 414, "request URL is too long");
    else if (c->error_status == 431)
        conn_fail(c, 431, "request headers are too large");
    else {
        char msg[160];
        snprintf(msg, sizeof(msg), "malformed HTTP request: %s",
                 llhttp_get_error_reason(&c->parser));
        conn_fail(c, 400, msg);
    }
}

/* ---- connections ------------------------------------------------------------------------- */

/* Unhooks the socket now; the struct is freed by server_conns_sweep after the poll pass. */
static void conn_close(struct conn *c)
{
    if (c->fd < 0)
        return;
    close(c->fd);
    free(c->body);
    free(c->out);
    c->body = c->out = NULL;
    c->fd = -1;
}

static void conn_accept(int lfd)
{
    for (int i = 0; i < 64 && (lfd != srv.rest_fd || srv.n_conns < CONN_MAX); i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct conn *c = lfd == srv.rest_fd ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            /* The gRPC placeholder only shows that the port is open. */
            close(fd);
            continue;
        }
        c->fd = fd;
        c->phase = PH_IDLE;
        c->deadline = ms_now() + IDLE_TIMEOUT_MS;
        llhttp_init(&c->parser, HTTP_REQUEST, &srv.settings);
        c->parser.data = c;
        srv.conns[srv.n_conns++] = c;
    }
}

static void conn_on_readable(struct conn *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_close(c);
        return;
    }
    if (n > 0) {
        c->in_len += (size_t)n;
        conn_parse(c);
    }
}

/* Called when the whole response went out: close, or go back to reading the next request. */
static void conn_on_sent(struct conn *c)
{
    c->out_len = c->out_off = 0;
    if (c->body_cap > 65536) {
        /* Keep-alive connections must not each pin a large request's buffer. */
        free(c->body);
        c->body = NULL;
        c->body_cap = 0;
    }
    if (c->close_after) {
        conn_close(c);
        return;
    }
    c->phase = PH_IDLE;
    c->deadline = ms_now() + IDLE_TIMEOUT_MS;
    llhttp_resume(&c->parser);
    conn_parse(c);
}

static void conn_on_writable(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->phase == PH_WRITING)
        conn_on_sent(c);
    else
        c->out_len = c->out_off = 0; /* a 100 Continue went out; the request goes on */
}

static void conn_on_timeout(struct conn *c)
{
    if (c->phase == PH_WAITING) {
        c->phase = PH_WRITING;
        c->deadline = ms_now() + WRITE_TIMEOUT_MS;
        conn_on_writable(c);
    } else if (c->phase == PH_READING) {
        c->in_len = 0;
        conn_fail(c, 408, "request not received in time");
        conn_on_writable(c);
    } else {
        conn_close(c); /* idle keep-alive, or a client that stopped reading its answer */
    }
}

static short conn_events(const struct conn *c)
{
    short ev = 0;

    if (c->phase == PH_IDLE || c->phase == PH_READING)
        ev |= c->in_len < IN_CAP ? POLLIN : 0;
    if (c->out_off < c->out_len && c->phase != PH_WAITING)
        ev |= POLLOUT;
    return ev;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void server_drain_start(void)
{
    srv.draining = 1;
    srv.drain_deadline = ms_now() + ms_cfg.shutdown_grace_ms;
    close(srv.rest_fd);
    srv.rest_fd = -1;
    if (srv.grpc_fd >= 0)
        close(srv.grpc_fd);
    srv.grpc_fd = -1;
    int busy = 0;
    for (int i = 0; i < srv.n_conns; i++) {
        struct conn *c = srv.conns[i];
        if (c->phase == PH_IDLE && c->in_len == 0 && c->out_len == c->out_off)
            conn_close(c);
        else {
            c->close_after = 1;
            busy++;
        }
    }
    ms_log("info", "SIGTERM: draining in_flight=%d grace_ms=%lld", busy,
           (long long)ms_cfg.shutdown_grace_ms);
}

/* Returns 1 when the process should stop now (a second signal). */
static int server_on_signal(void)
{
    struct signalfd_siginfo si;
    int stop = 0;

    while (read(srv.sig_fd, &si, sizeof(si)) == sizeof(si)) {
        if (srv.draining) {
            ms_log("warn", "second signal: exiting without waiting signal=%u", si.ssi_signo);
            stop = 1;
        } else {
            server_drain_start();
        }
    }
    return stop;
}

static void server_conns_sweep(void)
{
    int j = 0;

    for (int i = 0; i < srv.n_conns; i++) {
        if (srv.conns[i]->fd >= 0)
            srv.conns[j++] = srv.conns[i];
        else
            free(srv.conns[i]);
    }
    srv.n_conns = j;
}

static int64_t server_next_deadline(int64_t next)
{
    for (int i = 0; i < srv.n_conns; i++) {
        if (next < 0 || srv.conns[i]->deadline < next)
            next = srv.conns[i]->deadline;
    }
    if (srv.draining && (next < 0 || srv.drain_deadline < next))
        next = srv.drain_deadline;
    return next;
}

static void server_poll_once(int64_t (*tick)(int64_t))
{
    struct pollfd pfd[CONN_MAX + 3];
    struct conn *pc[CONN_MAX + 3] = {0};
    int64_t now = ms_now(), next = server_next_deadline(tick(now));
    int n = 0;

    pfd[n++] = (struct pollfd){.fd = srv.sig_fd, .events = POLLIN};
    /* With every slot taken, new clients wait in the listen backlog instead of being reset. */
    if (srv.rest_fd >= 0 && srv.n_conns < CONN_MAX)
        pfd[n++] = (struct pollfd){.fd = srv.rest_fd, .events = POLLIN};
    if (srv.grpc_fd >= 0)
        pfd[n++] = (struct pollfd){.fd = srv.grpc_fd, .events = POLLIN};
    for (int i = 0; i < srv.n_conns; i++) {
        pc[n] = srv.conns[i];
        pfd[n++] = (struct pollfd){.fd = srv.conns[i]->fd, .events = conn_events(srv.conns[i])};
    }
    int timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
    if (poll(pfd, n, timeout) < 0 && errno != EINTR)
        ms_log("warn", "poll failed err=\"%s\"", strerror(errno));
    for (int i = 0; i < n; i++) {
        struct conn *c = pc[i];
        short re = pfd[i].revents;
        if (!c) {
            if (re && pfd[i].fd != srv.sig_fd)
                conn_accept(pfd[i].fd);
            continue;
        }
        /* A held answer's client that reset the connection is dropped now: poll reports
         * POLLERR/POLLHUP whether asked or not, and would spin until the answer is due. */
        if (c->fd >= 0 && (re & (POLLERR | POLLHUP)) && c->phase == PH_WAITING)
            conn_close(c);
        if (c->fd >= 0 && (re & (POLLOUT | POLLERR)) && c->out_off < c->out_len)
            conn_on_writable(c);
        if (c->fd >= 0 && (re & (POLLIN | POLLHUP | POLLERR)) && conn_events(c) & POLLIN)
            conn_on_readable(c);
        if (c->fd >= 0 && c->deadline <= ms_now())
            conn_on_timeout(c);
    }
    server_conns_sweep();
}

int http_server_run(int64_t (*tick)(int64_t now_ms))
{
    http_settings_init();
    for (;;) {
        struct pollfd sp = {.fd = srv.sig_fd, .events = POLLIN};
        if (poll(&sp, 1, 0) > 0 && server_on_signal())
            break;
        if (srv.draining && srv.n_conns == 0)
            break;
        if (srv.draining && ms_now() >= srv.drain_deadline) {
            ms_log("warn", "grace period over; closing busy connections count=%d", srv.n_conns);
            break;
        }
        server_poll_once(tick);
    }
    for (int i = 0; i < srv.n_conns; i++)
        conn_close(srv.conns[i]);
    server_conns_sweep();
    ms_log("info", "stopped");
    return 0;
}
