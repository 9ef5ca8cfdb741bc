/* kroll shim: the per-pod supervisor, and the kubelet's client API to it.
 * One shim process per pod owns the pod's network namespace, is the parent of its container
 * processes, writes their logs and records their exit statuses in <pod-dir>/state.json. It runs
 * in its own session, so it outlives the server; the server re-adopts it through
 * <pod-dir>/shim.sock. Protocol and guarantees: docs/internals/shim.md. */
#ifndef KROLL_SHIM_H
#define KROLL_SHIM_H

#include "core/err.h"

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#define SHIM_LOG_MAX_DEFAULT (10L * 1024 * 1024) /* rotate current.log at 10 MiB */
#define SHIM_EXEC_OUTPUT_MAX (64 * 1024)         /* exec output kept per call */

struct shim_opts {
    const char *pod_ip;   /* added to the pod's lo (127.78.0.0/16 by convention); may be NULL */
    int host_network;     /* 1: no network namespace, containers share the host's */
    long log_max_bytes;   /* 0: SHIM_LOG_MAX_DEFAULT */
    int force_userns;     /* tests: take the unprivileged user-namespace path even as root */
    int share_pid;        /* shareProcessNamespace: a pause process holds one PID namespace
                           * for the pod; state.json names it as "pidns" */
    int spawn_timeout_ms; /* how long shim_spawn waits for readiness; 0: 5000 */
};

/* `kroll shim --pod-dir DIR [--pod-ip IP] [--host-network] [--share-pid] [--log-max-bytes N]
 * [--userns] [--ready-fd FD]`: runs the supervisor until a `stop` request or SIGTERM. Returns
 * the exit status (0 after a clean stop). */
int shim_main(int argc, char **argv);

/* Starts a shim for pod_dir (created if missing) in a new session, detached from the caller
 * (double fork), and waits, bounded by o->spawn_timeout_ms, until it is serving its socket.
 * kroll_bin is the kroll executable to run as `kroll shim ...`; NULL runs shim_main() in the
 * forked child without exec (tests). Returns the shim's pid, or a negative code with err set
 * (for example when no network namespace can be created: the message says why). */
pid_t shim_spawn(const char *kroll_bin, const char *pod_dir, const struct shim_opts *o,
                 struct err *err);

/* Sends one request object to the shim of pod_dir and waits at most timeout_ms for its reply.
 * On success *reply (owned by the caller) is the reply object; a reply with "ok": false
 * becomes a negative return with err set to its "error" text and *reply still filled. */
int shim_request(const char *pod_dir, const json_t *req, json_t **reply, int timeout_ms,
                 struct err *err);

/* A request in flight, for callers that cannot wait (the server loop): start it, watch fd for
 * POLLIN, call shim_call_read() until it stops returning -EAGAIN, then shim_call_release(). */
struct shim_call {
    int fd;
    char *buf;
    size_t len, cap, scan;
};
int shim_call_start(struct shim_call *c, const char *pod_dir, const json_t *req, struct err *err);
/* 0 with *reply set, -EAGAIN when the reply is incomplete, other negative codes on failure.
 * After a `subscribe` reply, each further call returns the next {"event": ...} line (rc 0). */
int shim_call_read(struct shim_call *c, json_t **reply, struct err *err);
void shim_call_release(struct shim_call *c);

/* What to run for one container. argv[0] without '/' is looked up in the PATH of env. */
struct shim_container_spec {
    const char *name;
    const char *const *argv; /* NULL-terminated, at least one element */
    const char *const *env;  /* NULL-terminated "K=V", may be NULL */
    const char *cwd;         /* may be NULL: pod dir */
    const json_t *mounts;    /* may be NULL: [{"source","target","readOnly"}] bind mounts made
                              * in a private mount namespace of the container */
    /* An OCI runtime container: argv/env/cwd/mounts are then in <bundle>/config.json (argv
     * must still be given; it is only logged). All absolute; NULL for a plain process. */
    const char *bundle, *runtime, *runtime_root, *container_id;
    /* The container's stdin kept open by the shim (kubectl attach -i), a terminal (with an OCI
     * runtime, the bundle must say process.terminal), and stdin closed after the first attach. */
    int stdin_open, tty, stdin_once;
};

/* Starts (or restarts: the old current.log becomes previous.log) a container. Returns its pid
 * and, when started is not NULL, the start time the shim records (the one its state file and a
 * re-adoption report, so the kubelet's startedAt never changes across a server restart); on an
 * exec/chdir failure returns a negative code and err holds the runtime's message. */
pid_t shim_container_start(const char *pod_dir, const struct shim_container_spec *spec,
                           int timeout_ms, time_t *started, struct err *err);
/* Sends sig to the container's process group. */
int shim_container_signal(const char *pod_dir, const char *name, int sig, int timeout_ms,
                          struct err *err);

struct shim_exec_result {
    int exit_code; /* -1 when killed by a signal */
    int signal;    /* 0 unless killed by a signal */
    int timed_out; /* 1 when the timeout expired (the command was killed) */
    char *output;  /* stdout and stderr interleaved, capped; malloc'd */
};
/* Runs argv inside the pod's namespace (cwd NULL: pod dir) and waits at most exec_timeout_ms
 * for it (the request itself waits that plus a second). */
int shim_exec(const char *pod_dir, const char *const *argv, const char *cwd, int exec_timeout_ms,
              struct shim_exec_result *res, struct err *err);
void shim_exec_result_release(struct shim_exec_result *res);

/* The shim's live state (same shape as state.json); *state owned by the caller. */
int shim_status(const char *pod_dir, json_t **state, int timeout_ms, struct err *err);
/* Kills every process of the pod, records their exits, tears down the namespace and ends the
 * shim. Returns once the shim has replied (its exit follows within milliseconds). */
int shim_stop(const char *pod_dir, int timeout_ms, struct err *err);

/* Reads <pod_dir>/state.json without the shim (after a server restart, or after the shim
 * exited). *state owned by the caller. */
int shim_state_read(const char *pod_dir, json_t **state, struct err *err);
/* The pid recorded in <pod_dir>/shim.pid if that process is alive and is the listener of
 * <pod_dir>/shim.sock (SO_PEERCRED), else 0: a reused pid never counts. */
pid_t shim_pid_alive(const char *pod_dir);

/* Unmounts what a killed `runc exec` or `runc run` left under <root>/<id>/ (runc 1.1 bind
 * mounts a copy of itself there) and removes that state directory if empty: after `runc delete`,
 * so nothing of a container stays in the runtime's state root. At most SHIM_RUNC_SWEEP_MAX. */
#define SHIM_RUNC_SWEEP_MAX 64
void shim_runc_state_sweep(const char *root, const char *id);

#endif
