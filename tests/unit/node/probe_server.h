/* Test helper for the probe and hook tests: a tiny HTTP/1.1 server on 127.0.0.1 that runs on the
 * test's own loop. The path picks the answer: /status/NNN answers NNN, /slow never answers,
 * /redirect/<path> answers 302 to <path> on the same host, /away answers 302 to another host,
 * /big answers 200 with 64 KiB of body; anything else answers g_srv.status (200 by default).
 * The last request's text is kept in g_srv.last_req. */
#ifndef TEST_PROBE_SERVER_H
#define TEST_PROBE_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/log.h"

struct srv_conn {
    struct loop_io io;
    char buf[8192];
    size_t len;
    int answered;
    struct srv_conn *next;
};

static struct {
    struct loop *loop;
    struct loop_io lio;
    int port;
    int status;
    int requests;
    char last_req[8192];
    struct srv_conn *conns;
} g_srv;

static void srv_reply(struct srv_conn *c, const char *path)
{
    char head[2048];
    int status = g_srv.status;
    const char *loc = NULL;
    size_t body_len = 2;
    char *body;

    if (strncmp(path, "/status/", 8) == 0)
        status = atoi(path + 8);
    if (strcmp(path, "/slow") == 0)
        return;
    if (strncmp(path, "/redirect/", 10) == 0) {
        status = 302;
        loc = path + 9;
    } else if (strcmp(path, "/away") == 0) {
        status = 302;
        loc = "http://192.0.2.1/elsewhere";
    } else if (strcmp(path, "/big") == 0) {
        body_len = 64 * 1024;
    }
    body = malloc(body_len);
    memset(body, 'x', body_len);
    memcpy(body, "ok", 2);
    snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s%s%sConnection: close\r\n\r\n",
             status, body_len, loc ? "Location: " : "", loc ? loc : "", loc ? "\r\n" : "");
    if (write(c->io.fd, head, strlen(head)) < 0 || write(c->io.fd, body, body_len) < 0) {
        /* the prober may have gone; nothing to do */
    }
    free(body);
    c->answered = 1;
    shutdown(c->io.fd, SHUT_WR);
}

static void srv_on_conn(struct loop_io *io, unsigned events, void *arg)
{
    struct srv_conn *c = arg;
    ssize_t n = read(io->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
    char path[1024];

    if (n <= 0) {
        loop_io_stop(g_srv.loop, io);
        close(io->fd);
        io->fd = -1;
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    if (c->answered || !strstr(c->buf, "\r\n\r\n"))
        return;
    g_srv.requests++;
    snprintf(g_srv.last_req, sizeof g_srv.last_req, "%s", c->buf);
    if (sscanf(c->buf, "GET %1023s", path) != 1)
        snprintf(path, sizeof path, "/");
    srv_reply(c, path);
}

static void srv_on_accept(struct loop_io *io, unsigned events, void *arg)
{
    int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    struct srv_conn *c;

    if (fd < 0)
        return;
    c = calloc(1, sizeof *c);
    c->next = g_srv.conns;
    g_srv.conns = c;
    loop_io_start(g_srv.loop, &c->io, fd, EPOLLIN, srv_on_conn, c);
}

static int srv_start(struct loop *loop)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    memset(&g_srv, 0, sizeof g_srv);
    g_srv.loop = loop;
    g_srv.status = 200;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0)
        return -1;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    g_srv.port = ntohs(sa.sin_port);
    return loop_io_start(loop, &g_srv.lio, fd, EPOLLIN, srv_on_accept, NULL);
}

static void srv_stop(void)
{
    loop_io_stop(g_srv.loop, &g_srv.lio);
    close(g_srv.lio.fd);
    while (g_srv.conns) {
        struct srv_conn *c = g_srv.conns;
        g_srv.conns = c->next;
        if (c->io.fd >= 0) {
            loop_io_stop(g_srv.loop, &c->io);
            close(c->io.fd);
        }
        free(c);
    }
}

/* A port on 127.0.0.1 where nothing listens (bound, never listening, then closed). */
static __attribute__((unused)) int closed_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Runs the loop until loop_stop() or max_ms, whichever comes first. */
static void on_guard(struct loop_timer *t, void *arg)
{
    *(int *)t->ctx = 1;
    loop_stop(g_srv.loop);
}

static int loop_run_for(struct loop *loop, int64_t max_ms)
{
    struct loop_timer guard;
    int expired = 0;

    loop_timer_init(&guard, on_guard, &expired);
    loop_timer_start(loop, &guard, max_ms);
    loop_run(loop);
    loop_timer_stop(loop, &guard);
    return expired;
}

#endif
