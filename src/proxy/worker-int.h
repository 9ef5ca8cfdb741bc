/* The proxy worker's private parts, shared by worker.c (the HTTP/1.1 data path: client and
 * upstream connections, parsers, retries, timeouts) and worker_loop.c (the worker's thread and
 * loop: listeners and accepting, the periodic sweep, the message queue, start and stop). */
#ifndef KROLL_PROXY_WORKER_INT_H
#define KROLL_PROXY_WORKER_INT_H

#include <arpa/inet.h>
#include <llhttp.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "core/buf.h"
#include "core/loop.h"
#include "proxy/proxy-int.h"

#define IN_CAP (16 * 1024)
#define HIGH_WATER (256 * 1024)
#define REPLAY_MAX (64 * 1024)
#define SWEEP_MS 100
#define ACCEPT_BACKOFF_MS 250 /* a listener rests this long after EMFILE/ENFILE */
#define DOWN_MS 1000          /* after a failed connect, other endpoints go first for this long */

enum cstate { C_HEAD, C_BODY, C_WAIT, C_TUNNEL, C_CLOSING };
enum ustate { U_CONNECTING, U_ACTIVE, U_POOLED };
enum ufail { F_CONNECT, F_RESET, F_TIMEOUT, F_PROTOCOL };

struct px_listener {
    struct loop_io io;
    struct px_worker *w;
    struct px_service *svc;
    struct px_table *t; /* this worker's view of svc's table */
    uint64_t gen;
    int64_t paused_until; /* out of descriptors: not polled until then (0: polled) */
    uint64_t tag;         /* 0: host namespace; else the pod listener's id (podlis.c) */
    int nconns;           /* client connections accepted here and not yet closed */
    struct px_listener *next;
};

struct px_up {
    struct loop_io io;
    struct px_worker *w;
    struct px_endpoint *ep; /* reference */
    struct px_conn *c;      /* bound client; NULL when pooled */
    struct px_up *pool_next;
    struct px_up *next, *prev; /* worker's list of upstream connections */
    int state, reused, closed;
    int64_t idle_since;
};

struct px_conn {
    struct loop_io io;
    struct px_worker *w;
    struct px_listener *lis;
    struct px_conn *next, *prev;
    int state, closed, eof;
    char last_fed; /* last client byte given to the parser (obs-fold detection) */
    llhttp_t req, resp;
    char *in, *uin;
    size_t in_len, uin_len;
    struct buf out, upout;
    size_t out_off, upout_off;
    int replayable;
    struct px_head head, rhead;
    struct px_up *up;
    struct px_endpoint *ep; /* endpoint the current request counts against (borrowed) */
    struct px_table *bt;    /* the backend a Gateway listener's routes chose for this request */
    struct px_endpoint *tried[8];
    int ntried;
    int keep_alive, upgrade, need_dispatch, req_done, resp_started, resp_done, interim;
    int framing, status, err_status, head_method, minor, idempotent;
    int64_t body_bytes, resp_bytes;
    int64_t cdeadline, udeadline;
    uint64_t t_start_us;
    char ip[INET6_ADDRSTRLEN];
};

struct px_msg {
    struct px_service *svc;
    int fd;
    uint64_t tag;
};

struct px_worker {
    struct proxy *px;
    int id;
    pthread_t thread;
    struct loop *loop;
    struct loop_io qio;
    struct loop_timer sweep;
    int efd, self_ns;
    pthread_mutex_t qmu;
    struct px_msg *msgs;
    int nmsgs, stop;
    struct px_listener *listeners;
    struct px_conn *conns;
    struct px_up *ups;
    unsigned rr;
    llhttp_settings_t req_settings, resp_settings;
};

static inline int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* worker.c */
void worker__settings_init(struct px_worker *w);
/* A client connection accepted on lis (fd non-blocking; counted in px->conns and
 * lis->nconns already). */
void worker__conn_new(struct px_worker *w, struct px_listener *lis, int fd,
                      struct sockaddr_storage *sa);
/* Applies the connection's deadlines at now (ms, monotonic): 408, retry or close. */
void worker__conn_timeout(struct px_conn *c, int64_t now);
void worker__conn_close(struct px_conn *c);
void worker__up_close(struct px_up *up);
/* worker_loop.c: the worker's current table for the listener's service (one relaxed load per
 * request, a mutex only after a publish); and, on a Gateway listener, the backend table the
 * routes choose for c's request (c->bt): 0, or the status to answer (404, 500). */
struct px_table *worker__lis_table(struct px_listener *lis);
int worker__conn_route(struct px_conn *c, const char *method);

#endif
