/* Private declarations shared by the shim's files: the supervisor's objects (containers, their
 * log streams, exec calls, control connections) and the helpers between shim.c (loop, protocol),
 * shim_proc.c (processes, logs) and shim_state.c (state file). */
#ifndef KROLL_SHIM_INT_H
#define KROLL_SHIM_INT_H

#include "shim/shim.h"

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

#define SHIM_LINE_MAX (16 * 1024)      /* longer log lines are split into "P" records */
#define SHIM_REQ_MAX (1024 * 1024)     /* one request line */
#define SHIM_OUT_MAX (8 * 1024 * 1024) /* unsent replies/events per connection */

enum shim_watch_kind {
    W_LISTEN,
    W_SIGNAL,
    W_CONN,
    W_STREAM,
    W_EXEC_OUT,
    W_PIDFD,
    W_STDIN, /* a container's stdin (pipe or pty master) while input waits to be written */
};

/* Every fd in the epoll set carries one of these, embedded in its owner. */
struct shim_watch {
    enum shim_watch_kind kind;
    void *obj;
};

struct shim_ctr;

struct shim_stream {
    struct shim_watch w;
    int fd;           /* -1 once closed */
    const char *name; /* "stdout" or "stderr" */
    struct shim_ctr *c;
    size_t len;
    char buf[SHIM_LINE_MAX];
};

struct shim_term {
    int valid;
    int exit_code, signal;
    char reason[32];
    char message[512];
    struct timespec started, finished;
};

struct shim_ctr {
    char *name;
    pid_t pid; /* 0 when not running */
    int pidfd;
    struct shim_watch pw;
    int running;
    int restart_count;
    struct timespec started;
    struct shim_term term; /* valid once the current instance ended */
    struct shim_term last; /* the previous instance's termination */
    int log_fd;
    long log_size;
    struct shim_stream out, err;
    struct shim_stream pty; /* tty: the terminal's master, logged as stdout */
    /* OCI runtime containers (start with a "bundle"); all NULL for a plain process. */
    char *rt_bin, *rt_root, *rt_id, *bundle;
    char *memcg;   /* the container's memory cgroup dir, for its OOM kill count */
    long oom_base; /* that count when the container started */
    /* stdin/tty (shim_attach.c): the spec's flags, and the shim's end of the container's stdin
     * (a pipe, or a dup of the pty master with tty), kept across server restarts. */
    int want_stdin, tty, stdin_once;
    int in_fd;     /* -1: none, or closed (stdinOnce after the first attach) */
    int in_closed; /* stdin ended for this instance: no attach may write to it again */
    struct shim_watch inw;
    char *in_buf; /* input not yet written (at most SHIM_STDIN_MAX) */
    size_t in_len;
    int out_paused; /* output not read: an attach has over SHIM_ATTACH_OUT_HIGH unsent */
};

struct shim_conn {
    struct shim_watch w;
    int fd;
    int subscribed;
    int dead;
    char *in;
    size_t in_len;
    char *out;
    size_t out_len, out_cap;
    struct shim_ctr *attach; /* an attach connection: binary frames after the reply */
    int att_stdin;           /* this attach writes the container's stdin */
    int paused;              /* not read (the container's stdin buffer is full) */
    struct shim_conn *next;
};

struct shim_exec {
    struct shim_watch w;  /* output pipe */
    struct shim_watch pw; /* pidfd */
    pid_t pid;
    int pidfd, out_fd;
    int exited, status, timed_out; /* timed_out 1: process killed, 2: runc too */
    int done; /* replied; freed by shim__exec_gc() after the current event batch */
    int64_t deadline_ms;
    char *output;
    size_t out_len;
    int truncated;
    struct shim_conn *conn; /* NULL when the requester went away */
    json_t *id;
    char *pid_file; /* runtime exec: where `runc exec` writes the process's pid */
    struct shim_exec *next;
};

struct shim {
    char *pod_dir;
    char *pod_ip;
    int host_network;
    int netns_mode;
    long log_max;
    int ep, listen_fd, sig_fd;
    struct shim_watch lw, sw;
    struct timespec started;
    struct shim_ctr **ctrs;
    size_t nctrs;
    struct shim_conn *conns;
    struct shim_exec *execs;
    int stopping;
    /* shareProcessNamespace: the pause process holding the pod's PID namespace (shim_pause.c) */
    pid_t pause_pid; /* 0: none (or reaped) */
    int pause_fd;    /* its pidfd, -1 when none */
    struct shim_watch pause_w;
    int pause_lost; /* it died while the shim was serving: the shim stops */
};

/* shim.c */
void shim__watch_add(struct shim *s, int fd, uint32_t events, struct shim_watch *w);
void shim__watch_del(struct shim *s, int fd);
void shim__conn_send(struct shim *s, struct shim_conn *c, json_t *msg_take);
/* Queues raw bytes (attach frames) on c; over SHIM_OUT_MAX the connection is dropped. */
void shim__conn_write(struct shim *s, struct shim_conn *c, const void *p, size_t n);
/* Re-arms c's epoll interest (EPOLLIN unless paused, EPOLLOUT while output waits). */
void shim__conn_events(struct shim *s, struct shim_conn *c);
void shim__event_send(struct shim *s, json_t *ev_take);
/* Resolves a path inside the pod dir that may exceed sun_path via /proc/self/fd/<dirfd>. */
int shim__sockaddr(const char *pod_dir, struct sockaddr_un *sa, int *dirfd);

/* shim_proc.c */
struct shim_ctr *shim__ctr_find(struct shim *s, const char *name);
/* Starts a container from a request; returns the reply (taken by the caller). */
json_t *shim__ctr_start(struct shim *s, const json_t *req);
void shim__stream_on_read(struct shim *s, struct shim_stream *st);
void shim__exec_start(struct shim *s, struct shim_conn *c, const json_t *req);
void shim__exec_on_read(struct shim *s, struct shim_exec *x);
/* A JSON string of arbitrary bytes: invalid UTF-8 becomes U+FFFD. */
json_t *shim__json_bytes(const char *s, size_t n);
/* Frees finished exec calls; only between event batches, since events may still name them. */
void shim__exec_gc(struct shim *s);
/* Reaps every exited child and dispatches to its container or exec call. */
void shim__reap(struct shim *s);
/* Milliseconds until the nearest exec deadline (or -1), killing the expired ones. */
int shim__exec_timeouts(struct shim *s);
/* Kills every container and exec process group and waits (bounded) until they are reaped. */
void shim__kill_all(struct shim *s, int wait_ms);
/* Builds an argv/env vector from a JSON array of strings; NULL (with msg) when malformed. */
char **shim__strv(const json_t *a, const char *field, int required, char *msg, size_t n);
void shim__strv_free(char **v);

/* Forks argv in a process group of its own with stdin on in (-1: /dev/null) and stdout/stderr
 * on out/errout (the container launcher); tty: a session of its own with in (a pty slave) as
 * its controlling terminal. Returns the pid once exec succeeded, else -errno with msg set. */
pid_t shim__spawn(char **argv, char **env, const char *cwd, int in, int out, int errout, int tty,
                  char *msg, size_t n);

/* shim_runc.c: containers run by an OCI runtime (runc) from a bundle. */
#define SHIM_RUNC_TIMEOUT_MS 30000 /* one runtime call (run, kill, delete) */
#define SHIM_RUNC_ID_MAX 128
#define SHIM_RUNC_LOG_MAX (64 * 1024) /* tail of runc's log read for a start error */
/* Takes the runtime fields of a start request into c; NULL, or an error text. */
const char *shim__runc_config(struct shim_ctr *c, const json_t *req);
/* `runc run --detach` with out/errout as the container's stdout/stderr; returns the container's
 * init pid (re-parented to the shim, a subreaper), or -errno with msg set. */
pid_t shim__runc_run(struct shim *s, struct shim_ctr *c, int in, int out, int errout, char *msg,
                     size_t n);
/* After the init's exit: records OOMKilled when the cgroup's OOM kill count rose, then kills
 * whatever is left of the container and deletes it. */
void shim__runc_ended(struct shim *s, struct shim_ctr *c, struct shim_term *t);
/* `runc kill [--all] <id> <sig>`: 0 or -1. */
int shim__runc_signal(struct shim_ctr *c, int sig, int all);
/* The argv of `runc exec` of argv in c (malloc'd vector; *pid_file malloc'd). */
char **shim__runc_exec_argv(struct shim_ctr *c, char **argv, char **pid_file);
void shim__runc_ctr_free(struct shim_ctr *c);
/* Kills the process a timed-out `runc exec` started in the container (its pid file); 0 when
 * there was one to kill. */
int shim__runc_exec_kill(const char *pid_file);
#define SHIM_RUNC_EXEC_GRACE_MS 2000 /* then runc exec itself is killed */

/* shim_pause.c: the pod's shared PID namespace. */
/* Clones the pause process into a new PID namespace and watches it; argv/argc are the shim's
 * (the pause overwrites its copy of the command line). 0, or a negative code with err. */
int shim__pause_start(struct shim *s, char **argv, int argc, struct err *err);
/* From shim__reap: 1 when pid was the pause (recorded; pause_lost if the shim was serving). */
int shim__pause_reaped(struct shim *s, pid_t pid, int status);
/* SIGKILL to the pause and a bounded wait for it (after the containers are gone). */
void shim__pause_stop(struct shim *s);

/* shim_attach.c: a container's stdin and tty, and `attach` connections.
 * Frames (both directions): 1 byte type, 4 bytes big-endian length, data. Client to shim:
 * 'i' stdin bytes, 'c' the client's stdin ended, 'r' resize (u16 cols, u16 rows, big-endian).
 * Shim to client: 'o' stdout (the terminal with a tty), 'e' stderr, 'x' the container ended
 * (its exit code as text), 'z' this attach is over (its stdin ended). */
#define SHIM_STDIN_MAX (1024 * 1024)      /* container input buffered in the shim */
#define SHIM_ATTACH_FRAME_MAX (64 * 1024) /* one frame's data */
#define SHIM_ATTACH_OUT_HIGH                                                                       \
    (2 * 1024 * 1024) /* an attach's unsent output that pauses the                                 \
                       * container's (below SHIM_OUT_MAX) */
/* Takes stdin/tty/stdinOnce of a start request into c. */
void shim__stdio_config(struct shim_ctr *c, const json_t *req);
/* Before a start: the container's stdin (*child_in, -1 for /dev/null) and, for a plain process
 * with a tty, the pty slave (also its stdout/stderr). 0 or -errno with msg. */
int shim__stdio_open(struct shim *s, struct shim_ctr *c, int *child_in, char *msg, size_t n);
/* After a start: closes the child's end of stdin (the pty slave with a tty). */
void shim__stdio_started(struct shim *s, struct shim_ctr *c, int child_in);
/* Ends a container's stdin (restart, exit, stop). */
void shim__stdio_close(struct shim *s, struct shim_ctr *c);
void shim__stdin_on_write(struct shim *s, struct shim_ctr *c);
/* runc with a tty: a console socket for `runc run --console-socket` (path in out), and the pty
 * master received on it once runc ran. */
int shim__console_listen(struct shim *s, struct shim_ctr *c, char *out, size_t n);
int shim__console_recv(int lfd);
/* Removes the console socket (and its private dir in /tmp). */
void shim__console_unlink(const char *path);
json_t *shim__attach_op(struct shim *s, struct shim_conn *c, const json_t *req);
/* Consumes the complete frames of c->in (stops early when the stdin buffer is full). */
void shim__attach_input(struct shim *s, struct shim_conn *c);
/* Container output read by the shim, to every attach of c; type 'o' or 'e'. */
void shim__attach_output(struct shim *s, struct shim_ctr *c, int type, const char *p, size_t n);
void shim__attach_ended(struct shim *s, struct shim_ctr *c);
/* Pauses (on) or resumes reading c's output streams. */
void shim__attach_streams(struct shim *s, struct shim_ctr *c, int on);
/* An attach of c caught up (or left): resumes c's output once every attach of it did. */
void shim__attach_drained(struct shim *s, struct shim_ctr *c);
/* An attach connection goes away: its stdin ends (stdinOnce closes the container's). */
void shim__attach_gone(struct shim *s, struct shim_conn *c);

/* shim_state.c */
/* RFC 3339 with nanoseconds, UTC, fixed width ("2026-11-27T01:57:03.123456789Z"); out >= 40. */
void shim__time_fmt(const struct timespec *ts, char *out);
json_t *shim__state_json(struct shim *s);
/* Rewrites <pod_dir>/state.json atomically (temp file, fsync, rename). */
int shim__state_write(struct shim *s);

#endif
