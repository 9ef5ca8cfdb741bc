/* The node's resource metrics sampler: every period (METRICS_PERIOD_MS unless --metric-resolution
 * says otherwise), one reading of the node and of
 * every running container of the kubelet's pods, kept in the containers themselves (so bounded
 * by the pods that exist), and the hook the API calls to build PodMetrics and NodeMetrics. The
 * files are read on a helper thread (a METRICS op of kubelet_ops.c) from copies made on the
 * loop, and the readings applied on the loop: the loop never waits for /proc or cgroupfs.
 * Under an OCI runtime a container is its cgroup; under the process runtime it is the process
 * tree of its main process, summed from /proc (utime+stime+cutime+cstime and RSS). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "node/metrics.h"
#include "node/node-int.h"

#define PROC_SCAN_MAX 65536 /* processes read per sample under the process runtime */
#define PROC_DEPTH_MAX 64   /* ancestors followed to find a process's container */

struct node_metrics {
    struct kubelet *kl;
    struct loop_timer timer;
    struct mseries node;
    char *node_name;
    int period_ms;
    int inflight; /* a batch is being read */
};

/* One container to read: copies made on the loop; the helper fills dirs (first reading of an
 * instance under a runtime), ok and s. */
struct mtarget {
    char *uid, *cname;
    pid_t pid;
    char *cpu_dir, *mem_dir;
    int ok;
    struct msample s;
};

struct mbatch {
    struct node_metrics *m; /* only touched on the loop (node__metrics_done) */
    int runtime;
    struct mtarget *t;
    size_t n;
    int node_ok;
    struct msample node;
    size_t nproc;
    long long took_us;
};

/* ---- the process runtime: process trees from /proc ---- */

struct pinfo {
    pid_t pid, ppid;
    uint64_t cpu_ticks, rss_pages;
};

struct ptable {
    struct pinfo *p;
    size_t n;
};

static int pinfo_cmp(const void *a, const void *b)
{
    pid_t x = ((const struct pinfo *)a)->pid, y = ((const struct pinfo *)b)->pid;

    return (x > y) - (x < y);
}

/* Plain open/read (no stdio buffer) relative to /proc's fd: this runs once per process. */
static int pinfo_read(int procfd, pid_t pid, struct pinfo *pi)
{
    char path[32], buf[1024], *p;
    unsigned long long ut, st, cut, cst, rss;
    int ppid, fd;
    ssize_t n;

    snprintf(path, sizeof path, "%d/stat", (int)pid);
    if ((fd = openat(procfd, path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    /* The command may hold spaces and parentheses: fields start after the last ')'. */
    if (!(p = strrchr(buf, ')')) ||
        sscanf(p + 1,
               " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu %*d %*d "
               "%*d %*d %*u %*u %llu",
               &ppid, &ut, &st, &cut, &cst, &rss) != 6)
        return -1;
    pi->pid = pid, pi->ppid = ppid;
    pi->cpu_ticks = ut + st + cut + cst;
    pi->rss_pages = rss;
    return 0;
}

static void ptable_load(struct ptable *t)
{
    DIR *d = opendir("/proc");
    struct dirent *e;

    t->p = NULL, t->n = 0;
    if (!d)
        return;
    t->p = xmalloc(sizeof *t->p * 1024);
    for (size_t cap = 1024; (e = readdir(d)) && t->n < PROC_SCAN_MAX;) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);

        if (*end || pid <= 0)
            continue;
        if (t->n == cap)
            t->p = xrealloc(t->p, sizeof *t->p * (cap *= 2));
        if (pinfo_read(dirfd(d), (pid_t)pid, &t->p[t->n]) == 0)
            t->n++;
    }
    closedir(d);
    qsort(t->p, t->n, sizeof *t->p, pinfo_cmp);
}

static const struct pinfo *ptable_find(const struct ptable *t, pid_t pid)
{
    struct pinfo key = {.pid = pid};

    return bsearch(&key, t->p, t->n, sizeof *t->p, pinfo_cmp);
}

/* Sums the tree of root: every process whose ancestors include root. */
static int ptree_read(const struct ptable *t, pid_t root, struct msample *s)
{
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    uint64_t ticks = 0, pages = 0;
    struct timespec ts;

    if (!ptable_find(t, root))
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        const struct pinfo *p = &t->p[i];

        for (int d = 0; p && d < PROC_DEPTH_MAX; d++, p = ptable_find(t, p->ppid))
            if (p->pid == root) {
                ticks += t->p[i].cpu_ticks, pages += t->p[i].rss_pages;
                break;
            } else if (p->ppid <= 1) {
                break;
            }
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s->mono_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    s->wall_s = (int64_t)time(NULL);
    s->cpu_ns = ticks * (uint64_t)(1000000000L / (tck > 0 ? tck : 100));
    s->ws_bytes = pages * (uint64_t)(page > 0 ? page : 4096);
    return 0;
}

/* ---- sampling ---- */

void node__metrics_batch_free(struct mbatch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->t[i].uid), free(b->t[i].cname);
        free(b->t[i].cpu_dir), free(b->t[i].mem_dir);
    }
    free(b->t);
    free(b);
}

/* On the helper thread: only the batch is used. */
void node__metrics_work(struct mbatch *b)
{
    struct ptable procs = {0};
    struct timespec a, z;

    clock_gettime(CLOCK_MONOTONIC, &a);
    if (!b->runtime && b->n)
        ptable_load(&procs);
    for (size_t i = 0; i < b->n; i++) {
        struct mtarget *t = &b->t[i];

        if (!b->runtime) {
            t->ok = ptree_read(&procs, t->pid, &t->s) == 0;
            continue;
        }
        if (!t->cpu_dir && metrics_cgroup_dirs(t->pid, &t->cpu_dir, &t->mem_dir) < 0)
            continue;
        t->ok = metrics_cgroup_read(t->cpu_dir, t->mem_dir, &t->s) == 0;
    }
    b->nproc = procs.n;
    free(procs.p);
    b->node_ok = metrics_node_read(&b->node) == 0;
    clock_gettime(CLOCK_MONOTONIC, &z);
    b->took_us = (long long)(z.tv_sec - a.tv_sec) * 1000000 + (z.tv_nsec - a.tv_nsec) / 1000;
}

/* On the loop: a reading counts only for the instance it was taken of. */
void node__metrics_done(struct mbatch *b)
{
    struct node_metrics *m = b->m;

    m->inflight = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct mtarget *t = &b->t[i];
        struct kpod *p = kubelet__find_uid(m->kl, t->uid);
        struct kcont *c = NULL;

        for (int k = 0; p && k < p->nc && !c; k++)
            if (strcmp(p->c[k].name, t->cname) == 0)
                c = &p->c[k];
        if (!c || c->st != KC_RUNNING || c->pid != t->pid || c->ms.pid != t->pid)
            continue;
        if (!c->ms.cpu_dir && t->cpu_dir) {
            c->ms.cpu_dir = t->cpu_dir, c->ms.mem_dir = t->mem_dir;
            t->cpu_dir = t->mem_dir = NULL;
        }
        if (t->ok)
            metrics_series_push(&c->ms, &t->s);
        else
            c->ms.n = 0;
    }
    if (b->node_ok)
        metrics_series_push(&m->node, &b->node);
    log_debug("node", "msg=\"metrics sampled\" containers=%zu processes=%zu took_us=%lld", b->n,
              b->nproc, b->took_us);
}

static void target_add(struct mbatch *b, size_t *cap, struct kpod *p, struct kcont *c)
{
    struct mtarget *t;

    if (b->n == *cap)
        b->t = xrealloc(b->t, sizeof *b->t * (*cap = *cap ? *cap * 2 : 16));
    t = memset(&b->t[b->n++], 0, sizeof *t);
    t->uid = xstrdup(p->uid), t->cname = xstrdup(c->name);
    t->pid = c->pid;
    t->cpu_dir = c->ms.cpu_dir ? xstrdup(c->ms.cpu_dir) : NULL;
    t->mem_dir = c->ms.mem_dir ? xstrdup(c->ms.mem_dir) : NULL;
}

static void on_tick(struct loop_timer *timer, void *ctx)
{
    struct node_metrics *m = ctx;
    struct kubelet *kl = m->kl;
    struct mbatch *b;
    struct kop *op;
    size_t cap = 0;

    loop_timer_start(kl->loop, timer, m->period_ms);
    if (m->inflight) /* the last batch is still being read: this period is skipped */
        return;
    b = xcalloc(1, sizeof *b);
    b->m = m;
    b->runtime = kl->runtime != NULL;
    for (struct kpod *p = kl->pods; p; p = p->next)
        for (int i = 0; i < p->nc; i++) {
            struct kcont *c = &p->c[i];

            if (c->init || c->st != KC_RUNNING || c->pid <= 0) {
                metrics_series_reset(&c->ms);
                continue;
            }
            if (c->ms.pid != c->pid) { /* a new instance: a new series */
                metrics_series_reset(&c->ms);
                c->ms.pid = c->pid;
            }
            target_add(b, &cap, p, c);
        }
    op = kop__new(kl, KOP_METRICS, NULL, kl->data_dir);
    op->metrics = b;
    m->inflight = 1;
    kubelet__op_run(op);
}

/* ---- the API hook ---- */

static json_t *pod_metrics(struct kubelet *kl, const char *uid)
{
    struct kpod *p = kl->pods;
    const struct kcont *earliest = NULL;
    json_t *ctrs, *out, *one;

    while (p && strcmp(p->uid, uid) != 0)
        p = p->next;
    if (!p)
        return NULL;
    ctrs = json_array();
    for (int i = 0; i < p->nc; i++) {
        const struct kcont *c = &p->c[i];

        if (c->init || c->st != KC_RUNNING)
            continue;
        /* metrics-server returns a pod only when each of its containers has two points. */
        if (!(one = metrics_series_json(&c->ms))) {
            json_decref(ctrs);
            return NULL;
        }
        json_array_append_new(
            ctrs, json_pack("{s:s,s:O}", "name", c->name, "usage", json_object_get(one, "usage")));
        json_decref(one);
        if (!earliest || c->ms.s[1].wall_s < earliest->ms.s[1].wall_s)
            earliest = c;
    }
    if (!earliest) {
        json_decref(ctrs);
        return NULL;
    }
    out = metrics_series_json(&earliest->ms);
    json_object_del(out, "usage");
    json_object_set_new(out, "containers", ctrs);
    return out;
}

json_t *node__metrics_of(struct node_metrics *m, const json_t *obj)
{
    const char *kind = jx_str(obj, "kind");

    if (!m) /* sampling is off (--metric-resolution 0) */
        return NULL;
    if (kind && strcmp(kind, "Node") == 0) {
        const char *name = jx_str(obj, "metadata.name");

        return name && strcmp(name, m->node_name) == 0 ? metrics_series_json(&m->node) : NULL;
    }
    return pod_metrics(m->kl, jx_str(obj, "metadata.uid") ?: "");
}

struct node_metrics *node__metrics_start(struct kubelet *kl, const char *node_name, int period_ms)
{
    struct node_metrics *m = xcalloc(1, sizeof *m);

    BUG_ON(period_ms <= 0);
    m->period_ms = period_ms;
    m->kl = kl;
    m->node_name = xstrdup(node_name);
    loop_timer_init(&m->timer, on_tick, m);
    loop_timer_start(kl->loop, &m->timer, 1); /* the first reading now, then every period */
    return m;
}

void node__metrics_stop(struct node_metrics *m)
{
    if (!m)
        return;
    loop_timer_stop(m->kl->loop, &m->timer);
    metrics_series_release(&m->node);
    free(m->node_name);
    free(m);
}
