/* Node agent internals shared by node.c, kubelet*.c and logs.c. */
#ifndef KROLL_NODE_INT_H
#define KROLL_NODE_INT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "client/client.h"
#include "core/loop.h"
#include "node/hooks.h"
#include "node/image.h"
#include "node/metrics.h"
#include "node/node.h"
#include "node/podctx.h"
#include "node/podfsm.h"
#include "node/probe.h"
#include "shim/shim.h"

enum kc_state { KC_NONE, KC_WAITING, KC_RUNNING, KC_EXITED };

/* One container (init or regular) of a pod on this node. */
struct kcont {
    struct kpod *p;
    char *name;
    int init;
    json_t *spec; /* the container object (own copy) */
    enum kc_state st;
    char reason[64]; /* waiting reason */
    char *message;   /* waiting message */
    pid_t pid;
    int restart_count;
    json_t *term;      /* terminated state as Kubernetes shows it, or NULL */
    json_t *last_term; /* previous terminated state, or NULL */
    char started_at[40];
    char image[256], image_id[IMAGE_REF_MAX + 96]; /* imageID: repo@sha256:... */
    int ready, started;
    int poststart_pending;
    int starting;      /* a start request is with the shim (kubelet_ops.c) */
    int early_exit;    /* the new instance's exit arrived before the shim's start reply */
    int early_code;
    char early_reason[32];
    struct probe *rp, *lp, *sp;
    struct container_target tgt;
    json_t *env;  /* "K=V" array the container runs with (probes and hooks use it) */
    char *cwd;
    struct hook *hook; /* postStart or preStop in flight */
    int64_t finished_ms;          /* monotonic time of the last exit */
    int64_t crash_delay_ms, crash_updated_ms; /* CrashLoopBackOff entry (0: none) */
    int64_t retry_at_ms;          /* no start attempt before this */
    int64_t pull_delay_ms, pull_updated_ms; /* image pull back-off entry */
    /* An image pull this container waits for (kubelet_pull.c): its id (0: none), and once it
     * has ended its result, copied here for the next sync to report. */
    uint64_t pull_id;
    int pull_done, pull_rc;
    char *pull_msg;
    int64_t pull_wait_ms;            /* monotonic time the container began waiting */
    int64_t pull_took_ms, pull_size; /* the pull's own duration; the image's size in bytes */
    int killing;                  /* SIGTERM sent (or preStop running) */
    int64_t sigterm_ms;           /* when SIGTERM was sent */
    struct loop_timer kill_timer; /* SIGKILL at the deadline */
    struct mseries ms;            /* resource metrics readings (metrics_sample.c) */
};

/* A pod bound to this node that the kubelet runs. Owned by the kubelet's list. */
struct kpod {
    struct kubelet *kl;
    struct kpod *next;
    char *uid, *ns, *name, *dir;
    char ip[64];
    int host_network;
    int share_pid; /* shareProcessNamespace on an OCI runtime: the shim holds a PID namespace */
    pid_t shim_pid;
    char *netns;
    char *pidns; /* that namespace (/proc/<pause>/ns/pid, from the shim's state), or NULL */
    struct shim_call sub;
    struct loop_io sub_io;
    int sub_on;           /* sub_io is watched (the shim's event connection) */
    enum pod_state state; /* the lifecycle (podfsm.h); changed by kubelet__pod_event() only */
    struct kcont *c;
    int nc, ninit;
    char start_time[32];
    json_t *vol_paths; /* the volumes' host paths once set up (POD_MOUNTING done), or NULL */
    int64_t term_start_ms, term_deadline_ms, term_grace_ms;
    struct loop_timer drain_timer;
    struct loop_timer finish_timer; /* final status, shim stop, object removal */
    char *sandbox_err;
};

struct kubelet {
    struct kc *kc;
    struct loop *loop;
    struct ctl *ctl;
    char *data_dir, *node_name, *node_ip, *self_exe;
    struct kpod *pods;
    int netns_ok;
    char netns_err[1024];
    struct loop_timer gc_timer;
    struct kjob *jobs; /* blocking shim calls in flight on helper threads */
    struct kpull *pulls; /* image pulls in flight, one per reference (kubelet_pull.c) */
    uint64_t pull_seq;
    /* The OCI runtime (absolute path), or NULL for the process runtime; its state root
     * (<data-dir>/runc), the pids limit of each container, and what the host lacks for it. */
    char *runtime, *rt_root;
    int64_t pids_limit;
    int64_t nofile;       /* RLIMIT_NOFILE of containers */
    uint64_t host_caps;   /* capabilities the runtime can grant */
    int force_copy;     /* copy layers, no overlayfs (the host has none, KROLL_ROOTFS_COPY=1) */
    char *rt_err;       /* set when the host cannot run containers: they fail with it */
    int host_missing;   /* HOST_NO_* bits: what the host lacks (kubelet_host.c) */
    int overlay_failed; /* an overlay mount failed though the kernel has it (loop only) */
    struct node *node; /* node_cdi(): the CDI registry, on the loop only */
    struct cdi_alloc *cdi_alloc; /* devices held by "<pod uid>/<container>" (loop only) */
};

/* What a host may lack for the OCI runtime (kubelet->host_missing). */
enum {
    HOST_NO_OVERLAY = 1 << 0,
    HOST_NO_SECCOMP = 1 << 1,
    HOST_NO_CPU = 1 << 2,
    HOST_NO_MEMORY = 1 << 3,
    HOST_NO_PIDS = 1 << 4,
};

/* kubelet_ops.c: one blocking shim call, run on a helper thread; the result is applied on the
 * loop by kubelet__op_done(). Fields are copies owned by the op. */
enum kop_kind { KOP_SPAWN, KOP_START, KOP_SIGNAL, KOP_STOP, KOP_PULL, KOP_METRICS };
struct kop {
    struct kubelet *kl;
    enum kop_kind kind;
    char *uid, *dir;
    char *cname;          /* START, SIGNAL */
    char *exe, *ip;       /* SPAWN: kroll binary, pod IP */
    int host_network;     /* SPAWN */
    int share_pid;        /* SPAWN: the shim holds a shared PID namespace */
    char *pidns;          /* SPAWN: result, that namespace; START: the one to join (or NULL) */
    json_t *argv, *env;   /* START: string arrays */
    json_t *mounts;       /* START, may be NULL */
    char *cwd;            /* START */
    int sig;              /* SIGNAL */
    int rm;               /* STOP: also remove the pod dir (volumes first) */
    char *ref;            /* PULL: the image reference (dir is the data dir) */
    uint64_t pull_id;     /* PULL */
    int64_t took_ms, size; /* PULL: result, the pull's duration and the image's size */
    json_t *pod, *ctr, *img_config, *layers; /* START with a runtime: bundle inputs */
    char *netns;          /* START with a runtime: the pod's netns path (NULL: host's) */
    char reason[48];      /* START: the waiting reason of a failure before the shim ran */
    int copied;           /* START: the rootfs is a copy (overlayfs failed) */
    pid_t pid;            /* SPAWN, START: result */
    time_t started;       /* START: result, the shim's start time (0 if unknown) */
    int rc;
    struct err err;
    json_t *cdi_edits;    /* START with a runtime: CDI edits of its devices (a skeleton spec
                           * made by cdi_apply on the loop), merged into config.json; or NULL */
    struct mbatch *metrics; /* METRICS: what to read, and the readings (metrics_sample.c) */
};
struct kop *kop__new(struct kubelet *kl, enum kop_kind kind, const char *uid, const char *dir);
void kop__free(struct kop *op);
/* Takes ownership of op; kubelet__op_done(op) is called from the loop when it has run. */
void kubelet__op_run(struct kop *op);
/* At shutdown: waits for the helpers and drops their results. */
void kubelet__ops_join(struct kubelet *kl);
void kubelet__rm_tree(const char *dir);
#define SHIM_START_RUNTIME_TIMEOUT_MS 40000 /* a runtime start (runc run is bounded at 30 s) */
/* kubelet_runc.c, on helper threads. Writes <dir>/ctr/<name>/{config.json,rootfs,...} for a
 * START op; fills bundle (PATH_MAX) and the runtime's container id. 0, or a negative code with
 * op->err and op->reason (CreateContainerConfigError or CreateContainerError). */
int kubelet__bundle_prepare(struct kop *op, char *bundle, char *id, size_t idn);
/* `runtime delete --force` of every container of the pod dir, unmounts their rootfs and removes
 * the pod's cgroups; a no-op for the process runtime. */
void kubelet__runtime_cleanup(struct kubelet *kl, const char *uid, const char *dir);
/* Selects the runtime ("process", "runc" or a path) and checks the host for it; a missing
 * piece is logged and kept in kl->rt_err. */
void kubelet__runtime_set(struct kubelet *kl, const char *runtime, int64_t pids_limit);
/* Runs argv (stdout to /dev/null, stderr the server's), bounded; its exit status or -1. */
int kubelet__run_bounded(char *const argv[], int timeout_ms);
/* kubelet_host.c. At start: `runtime --version` (kl->rt_err), and what the host lacks
 * (kl->host_missing; without overlayfs, kl->force_copy). Logged. */
void kubelet__host_check(struct kubelet *kl);
/* What the host lacks, as "; "-separated phrases saying what each means for containers. */
void kubelet__host_missing_text(const struct kubelet *kl, char *out, size_t n);
/* The node condition KrollRuntimeDegraded {type, status (bool), reason, message}: True while
 * the runtime cannot run, lacks a host feature, or is the process runtime. New reference. */
json_t *kubelet__runtime_condition(const struct kubelet *kl);
/* On a helper thread, with the container's spec built: refuses (op->err, -E_INVALID) what the
 * host cannot enforce (a memory limit, cpu resources, the pids limit without their cgroup
 * controller); drops the default cpu weight where there is no cpu controller. */
int kubelet__spec_host_fit(struct kop *op, json_t *spec);
/* kubelet_cdi.c, on the loop. Allocates the CDI devices container c's limits ask for (the
 * same ones on a restart), records them in the pod dir and returns their edits as a skeleton
 * spec for ocispec_cdi_merge (*edits NULL when it asks for none). 0, or a negative code with
 * err (no free device, an edit that cannot be made). */
int kubelet__cdi_take(struct kcont *c, json_t **edits, struct err *err);
/* Frees the devices of pod uid (as recorded in dir, and of p's containers when p is given). */
void kubelet__cdi_release(struct kubelet *kl, const char *uid, const char *dir,
                          const struct kpod *p);
/* At start: makes kl->cdi_alloc and restores what the pod dirs record. */
void kubelet__cdi_restore(struct kubelet *kl);
/* kubelet.c: applies a finished op (the pod may be gone by then: looked up by uid). */
void kubelet__op_done(struct kop *op);
/* kubelet_pull.c: finds the container's image, honouring imagePullPolicy, pulling it on a
 * helper thread (KOP_PULL, one per reference at a time) and the pull back-off. Returns 0 with
 * img filled (the caller releases it), 1 to wait (state set, a later sync is scheduled). */
int kubelet__cont_image(struct kcont *c, const json_t *pod, struct image *img);
/* The PULL op's result: every container waiting for it gets it, and its pod is synced. */
void kubelet__pull_done(struct kop *op);
/* What the status shows as imageID: "repo@digest" (normalized as the kubelet shows it),
 * else the image ID. */
void kubelet__image_id(struct kcont *c, const struct image *img);
/* At shutdown (after kubelet__ops_join): forgets the pulls. */
void kubelet__pulls_free(struct kubelet *kl);
/* kubelet.c, for kubelet_pull.c */
void kubelet__cont_wait(struct kcont *c, const char *reason, const char *msg);
void kubelet__enqueue_after(struct kpod *p, int64_t ms);
/* kubelet_term.c: the SIGNAL op's result. */
void kubelet__signal_done(struct kop *op);

struct kubelet *kubelet__new(struct kc *kc, const char *data_dir, const char *node_name,
                             const char *node_ip, const char *self_exe);
void kubelet__free(struct kubelet *kl);

/* metrics_sample.c: samples the node and the kubelet's running containers every period_ms
 * (> 0) and serves them to the API's metrics.k8s.io hook. stop(NULL) is a no-op; stop before
 * the kubelet is freed. */
struct node_metrics;
struct node_metrics *node__metrics_start(struct kubelet *kl, const char *node_name, int period_ms);
void node__metrics_stop(struct node_metrics *m);
/* The metrics.k8s.io usage of a pod or node object (new reference), or NULL without a
 * complete sample or without a sampler (m NULL: sampling off). */
json_t *node__metrics_of(struct node_metrics *m, const json_t *obj);
/* The METRICS op: reads the batch's containers and the node (helper thread), applies the
 * readings to the containers still running the same instance (loop), frees it (NULL: no-op). */
struct mbatch;
void node__metrics_work(struct mbatch *b);
void node__metrics_done(struct mbatch *b);
void node__metrics_batch_free(struct mbatch *b);

/* kubelet.c: feeds event ev to p's state machine and executes the action (pod: the object
 * if the caller has it, else NULL). Returns -1 when the record is freed by it (p is gone),
 * else 0. */
int kubelet__pod_event(struct kpod *p, enum pod_event ev, const json_t *pod);
/* kubelet_term.c: the termination actions (PACT_TERM_START, TERM_UPDATE, KILL_ALL,
 * FINISH_SOON, FINISH); pod may be NULL. FINISH frees p. */
void kubelet__term_act(struct kpod *p, enum pod_action act, const json_t *pod);
void kubelet__kill_container(struct kcont *c, int64_t grace_ms, const char *why);
/* Feeds PEV_STOPPED to a terminating pod once no container runs, starts or runs a hook. */
void kubelet__term_check(struct kpod *p);
/* kubelet_status.c */
void kubelet__status_write(struct kpod *p, const json_t *pod);
/* kubelet.c */
struct kpod *kubelet__find_uid(struct kubelet *kl, const char *uid);
void kubelet__pod_free(struct kpod *p, int stop_shim);
void kubelet__enqueue(struct kpod *p);
struct kcont *kubelet__find_cont(struct kpod *p, const char *name);
/* Points an adopted running container's restart bookkeeping at the pod's current spec. */
void kubelet__adopted_target(struct kpod *p, struct kcont *c, const json_t *pod);
/* kubelet_refresh.c: the ConfigMap/Secret watch (refreshes the volumes of pods using the
 * object), and the periodic timer (orphan shims, projected tokens; it re-arms itself). */
void kubelet__on_config(struct ctl *ctl, const char *type, const struct resource *r, json_t *obj,
                        json_t *old, void *ctx);
void kubelet__gc_orphans(struct loop_timer *t, void *ctx);
/* kubelet_probes.c */
/* Starts the container's probes (startup alone until it succeeds); ready is reset. */
void kubelet__probes_start(struct kcont *c);
void kubelet__probes_stop(struct kcont *c);
/* Running, started, postStart done, and ready by its probe if it has one. */
int kubelet__cont_ready(const struct kcont *c);
/* kubelet_shim.c */
/* Records a container's exit: lastState/terminated (exit code, reason, termination message),
 * probes and hooks stopped. */
void kubelet__cont_exited(struct kcont *c, int code, const char *reason, const char *msg);
void kubelet__sub_close(struct kpod *p);
/* PACT_SANDBOX: subscribes to a live shim of the pod (PEV_SHIM_FOUND; its state follows as
 * PEV_ADOPTED) or reports PEV_SHIM_MISSING. */
void kubelet__shim_probe(struct kpod *p, const json_t *pod);
/* PACT_SPAWN: counts what a dead shim ran, starts a new one on a helper thread. */
void kubelet__shim_spawn(struct kpod *p);
/* PACT_LOST: the running containers died with their shim. */
void kubelet__shim_lost(struct kpod *p);
void kubelet__spawn_done(struct kpod *p, struct kop *op);

/* logs.c */
void logs__serve(struct http_req *req, const json_t *pod, const char *container, void *ctx);
/* One record of a container's CRI log file, "<time> <stdout|stderr> <F|P> <text>", pointing
 * into the line it was split from. */
struct cri_rec {
    const char *ts;
    size_t ts_len;
    int is_err;       /* the stream is stderr (else stdout) */
    int partial;      /* P: the text goes on in the next record, so no newline after it */
    const char *text; /* NULL when the line ends before the text */
    size_t text_len;
};
/* Splits a record (len bytes, no newline): 0, or -1 when it has no time and stream. */
int logs__cri_split(const char *line, size_t len, struct cri_rec *r);
/* The log file at path opened at *off, for what was appended since the last call; a new inode
 * or a file shorter than *off (rotated, or the container restarted) is read from its start,
 * with *restarted 1. NULL when there is nothing new (or no file). */
FILE *logs__open_new(const char *path, ino_t *ino, off_t *off, int *restarted);
/* exec.c: the stream hook of pods/exec, attach and portforward (ctx: the kubelet). */
void exec__hook(struct http_req *req, const json_t *pod, const char *sub, void *ctx);

#endif
