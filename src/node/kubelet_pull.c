/* Image pulls as the kubelet's image manager does them (pkg/kubelet/images): imagePullPolicy
 * (Always pulls on every start, IfNotPresent only when absent, Never never), the pull on a
 * helper thread (KOP_PULL) so the loop never waits for skopeo, one pull per reference at a time
 * (containers of any pod that need it wait for that pull and share its result), the Pulling /
 * Pulled / Failed events with the kubelet's texts, ErrImagePull, ImagePullBackOff (10 s
 * doubling to 300 s), ErrImageNeverPull and InvalidImageName. */
#include "node/node-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"

#define PULL_BACKOFF_MS 10000
#define PULL_BACKOFF_MAX_MS 300000
#define PULL_BACKOFF_RESET_MS 600000 /* a back-off is forgotten after this long without failures */
#define NEVER_PULL_RECHECK_MS 10000 /* ErrImageNeverPull: look in the store again after */
/* Longest part of skopeo's message that an event or a status carries. */
#define PULL_ERR_MAX 1024

/* A pull in flight. Containers point at it by id, so it may end after their pod is gone. */
struct kpull {
    struct kpull *next;
    char *key; /* the reference, normalized: "busybox" and "docker.io/library/busybox:latest" */
    uint64_t id;
};

/* A duration as Go prints one truncated to milliseconds ("0s", "512ms", "1.5s", "2m3.004s"). */
#define GO_DURATION_LEN 96
static void go_duration(int64_t ms, char out[GO_DURATION_LEN])
{
    int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, f = ms % 1000;
    char sec[32], pre[48] = "";
    int len;

    if (ms <= 0) {
        snprintf(out, GO_DURATION_LEN, "0s");
        return;
    }
    if (ms < 1000) {
        snprintf(out, GO_DURATION_LEN, "%lldms", (long long)ms);
        return;
    }
    len = snprintf(sec, sizeof sec, "%lld.%03lld", (long long)s, (long long)f);
    while (len > 0 && sec[len - 1] == '0')
        sec[--len] = 0;
    if (len > 0 && sec[len - 1] == '.')
        sec[--len] = 0;
    if (h)
        snprintf(pre, sizeof pre, "%lldh%lldm", (long long)h, (long long)m);
    else if (m)
        snprintf(pre, sizeof pre, "%lldm", (long long)m);
    snprintf(out, GO_DURATION_LEN, "%s%ss", pre, sec);
}

/* skopeo reports as logrus does (time="..." level=fatal msg="..."): only msg says what went
 * wrong. Returns it unquoted, or e itself when there is no msg, at most PULL_ERR_MAX bytes. */
static char *pull_err_text(const char *e)
{
    const char *m = strstr(e, "msg=\"");
    char *out = xmalloc(PULL_ERR_MAX + 1);
    size_t k = 0;

    if (!m) {
        snprintf(out, PULL_ERR_MAX + 1, "%s", e);
        return out;
    }
    for (m += 5; *m && *m != '"' && k < PULL_ERR_MAX; m++) {
        if (*m == '\\' && m[1])
            m++;
        out[k++] = *m;
    }
    out[k] = 0;
    return out;
}

void kubelet__image_id(struct kcont *c, const struct image *img)
{
    struct image_ref r;
    struct err e;
    const char *slash, *pre = "";

    err_init(&e);
    if (!img->digest[0] || image_ref_parse(c->image, &r, &e) < 0) {
        snprintf(c->image_id, sizeof c->image_id, "%s", img->id);
        err_release(&e);
        return;
    }
    /* As the kubelet shows it: the registry's name spelled out (docker.io, library/). */
    slash = strchr(r.repo, '/');
    if (!slash)
        pre = "docker.io/library/";
    else if (!memchr(r.repo, '.', (size_t)(slash - r.repo)) &&
             !memchr(r.repo, ':', (size_t)(slash - r.repo)) && strncmp(r.repo, "localhost/", 10))
        pre = "docker.io/";
    snprintf(c->image_id, sizeof c->image_id, "%s%s@%s", pre, r.repo, img->digest);
    err_release(&e);
}

static void fail_event_once(struct kcont *c, const json_t *pod, const char *reason)
{
    if (strcmp(c->reason, reason) != 0)
        kc_event(c->p->kl->kc, pod, "Warning", "Failed", "kubelet", "Error: %s", reason);
}

/* While the back-off after a failed pull runs: ImagePullBackOff. Returns 1 then. */
static int pull_backoff(struct kcont *c, const json_t *pod, const char *ref)
{
    int64_t now = loop_now_ms(c->p->kl->loop);
    char *m;

    if (!c->pull_delay_ms || now - c->pull_updated_ms >= c->pull_delay_ms)
        return 0;
    m = xasprintf("Back-off pulling image \"%s\"", ref);
    if (strcmp(c->reason, "ImagePullBackOff") != 0)
        kc_event(c->p->kl->kc, pod, "Normal", "BackOff", "kubelet", "%s", m);
    fail_event_once(c, pod, "ImagePullBackOff");
    kubelet__cont_wait(c, "ImagePullBackOff", m);
    free(m);
    kubelet__enqueue_after(c->p, c->pull_updated_ms + c->pull_delay_ms - now);
    return 1;
}

static void pull_failed(struct kcont *c, const json_t *pod, const char *ref, const char *why)
{
    int64_t now = loop_now_ms(c->p->kl->loop);
    char *m = xasprintf("Failed to pull image \"%s\": %s", ref, why);

    kc_event(c->p->kl->kc, pod, "Warning", "Failed", "kubelet", "%s", m);
    kc_event(c->p->kl->kc, pod, "Warning", "Failed", "kubelet", "Error: ErrImagePull");
    kubelet__cont_wait(c, "ErrImagePull", m);
    free(m);
    if (!c->pull_delay_ms || now - c->pull_updated_ms > PULL_BACKOFF_RESET_MS)
        c->pull_delay_ms = PULL_BACKOFF_MS;
    else if ((c->pull_delay_ms *= 2) > PULL_BACKOFF_MAX_MS)
        c->pull_delay_ms = PULL_BACKOFF_MAX_MS;
    c->pull_updated_ms = now;
    kubelet__enqueue_after(c->p, c->pull_delay_ms);
}

static struct kpull *pull_find(struct kubelet *kl, const char *key)
{
    for (struct kpull *kp = kl->pulls; kp; kp = kp->next)
        if (strcmp(kp->key, key) == 0)
            return kp;
    return NULL;
}

/* Pulling event, then the container waits for the reference's pull, started here unless one
 * is under way. Its status keeps what it showed (ContainerCreating on a first start, the
 * back-off reason on a retry, the last exit on a restart), as the kubelet's does. */
static void pull_begin(struct kcont *c, const json_t *pod, const char *ref,
                       const struct image_ref *r)
{
    struct kubelet *kl = c->p->kl;
    char *key = xasprintf("%s:%s@%s", r->repo, r->tag, r->digest);
    struct kpull *kp = pull_find(kl, key);

    kc_event(kl->kc, pod, "Normal", "Pulling", "kubelet", "Pulling image \"%s\"", ref);
    if (!kp) {
        struct kop *op = kop__new(kl, KOP_PULL, NULL, kl->data_dir);

        kp = xcalloc(1, sizeof *kp);
        kp->key = key;
        key = NULL;
        kp->id = ++kl->pull_seq;
        kp->next = kl->pulls;
        kl->pulls = kp;
        /* skopeo's oci: transport takes a name as written: the implied tag is spelled out. */
        op->ref = r->has_tag || r->digest[0] ? xstrdup(ref) : xasprintf("%s:latest", ref);
        op->pull_id = kp->id;
        log_info("kubelet", "msg=\"pulling image\" image=\"%s\" pod=%s/%s", ref, c->p->ns,
                 c->p->name);
        kubelet__op_run(op);
    }
    free(key);
    c->pull_id = kp->id;
    c->pull_done = 0;
    c->pull_wait_ms = loop_now_ms(kl->loop);
}

/* The pull this container waited for has ended: Pulled, or the failure and its back-off. An
 * image already in the store is used when a pull fails (kroll's images are often built or
 * imported here, under names no registry has): a Failed event says so. */
static int pull_result(struct kcont *c, const json_t *pod, const char *ref, struct image *img)
{
    struct kubelet *kl = c->p->kl;
    struct err err;
    char *why;

    c->pull_id = 0;
    c->pull_done = 0;
    err_init(&err);
    if (c->pull_rc == 0 && image_load(kl->data_dir, ref, img, &err) == 0) {
        char took[GO_DURATION_LEN], waited[GO_DURATION_LEN];

        go_duration(c->pull_took_ms, took);
        go_duration(loop_now_ms(kl->loop) - c->pull_wait_ms, waited);
        kc_event(kl->kc, pod, "Normal", "Pulled", "kubelet",
                  "Successfully pulled image \"%s\" in %s (%s including waiting). Image size: "
                  "%lld bytes.", ref, took, waited, (long long)c->pull_size);
        c->pull_delay_ms = 0;
        err_release(&err);
        return 0;
    }
    why = pull_err_text(c->pull_rc < 0 ? c->pull_msg ?: "" : err.msg);
    err_release(&err);
    err_init(&err);
    if (image_load(kl->data_dir, ref, img, &err) == 0) {
        kc_event(kl->kc, pod, "Warning", "Failed", "kubelet",
                  "Failed to pull image \"%s\": %s; using the image present on the machine",
                  ref, why);
        kc_event(kl->kc, pod, "Normal", "Pulled", "kubelet",
                  "Container image \"%s\" already present on machine", ref);
        c->pull_delay_ms = 0;
    } else {
        pull_failed(c, pod, ref, why);
    }
    free(why);
    err_release(&err);
    return c->pull_delay_ms ? 1 : 0;
}

static int never_pull(struct kcont *c, const json_t *pod, const char *ref)
{
    char *m = xasprintf("Container image \"%s\" is not present with pull policy of Never", ref);

    if (strcmp(c->reason, "ErrImageNeverPull") != 0) {
        kc_event(c->p->kl->kc, pod, "Warning", "ErrImageNeverPull", "kubelet", "%s", m);
        fail_event_once(c, pod, "ErrImageNeverPull");
    }
    kubelet__cont_wait(c, "ErrImageNeverPull", m);
    free(m);
    /* As the kubelet's periodic resync: an image imported meanwhile is then used. */
    kubelet__enqueue_after(c->p, NEVER_PULL_RECHECK_MS);
    return 1;
}

static int invalid_name(struct kcont *c, const json_t *pod, const char *ref, const char *why)
{
    if (strcmp(c->reason, "InvalidImageName") != 0)
        kc_event(c->p->kl->kc, pod, "Warning", "InspectFailed", "kubelet",
                  "Failed to apply default image tag \"%s\": %s", ref, why);
    kubelet__cont_wait(c, "InvalidImageName", why);
    return 1;
}

int kubelet__cont_image(struct kcont *c, const json_t *pod, struct image *img)
{
    struct kubelet *kl = c->p->kl;
    const char *ref = jx_str(c->spec, "image") ?: "";
    const char *policy = jx_str(c->spec, "imagePullPolicy") ?: "IfNotPresent";
    struct image_ref r;
    struct err err;
    int rc;

    memset(img, 0, sizeof *img);
    err_init(&err);
    if (image_ref_parse(ref, &r, &err) < 0) {
        rc = invalid_name(c, pod, ref, err.msg);
        goto out;
    }
    if (c->pull_id) { /* kubelet__pull_done() syncs the pod when the pull ends */
        rc = c->pull_done ? pull_result(c, pod, ref, img) : 1;
        goto out;
    }
    if ((rc = pull_backoff(c, pod, ref)))
        goto out;
    rc = image_load(kl->data_dir, ref, img, &err);
    if (rc == 0 && strcmp(policy, "Always") != 0) {
        if (c->restart_count == 0 && c->st != KC_EXITED && !c->term && !c->last_term)
            kc_event(kl->kc, pod, "Normal", "Pulled", "kubelet",
                      "Container image \"%s\" already present on machine", ref);
        c->pull_delay_ms = 0;
        goto out;
    }
    image_release(img);
    if (rc < 0 && strcmp(policy, "Never") == 0) {
        rc = never_pull(c, pod, ref);
        goto out;
    }
    pull_begin(c, pod, ref, &r);
    rc = 1;
out:
    err_release(&err);
    return rc;
}

void kubelet__pull_done(struct kop *op)
{
    struct kubelet *kl = op->kl;

    for (struct kpull **pp = &kl->pulls; *pp; pp = &(*pp)->next)
        if ((*pp)->id == op->pull_id) {
            struct kpull *kp = *pp;

            *pp = kp->next;
            free(kp->key);
            free(kp);
            break;
        }
    if (op->rc < 0)
        log_info("kubelet", "msg=\"image pull failed\" image=\"%s\" err=\"%s\"", op->ref,
                 op->err.msg);
    else
        log_info("kubelet", "msg=\"image pulled\" image=\"%s\" ms=%lld", op->ref,
                 (long long)op->took_ms);
    for (struct kpod *p = kl->pods; p; p = p->next)
        for (int i = 0; i < p->nc; i++) {
            struct kcont *c = &p->c[i];

            if (c->pull_id != op->pull_id || c->pull_done)
                continue;
            c->pull_done = 1;
            c->pull_rc = op->rc;
            c->pull_took_ms = op->took_ms;
            c->pull_size = op->size;
            free(c->pull_msg);
            c->pull_msg = xstrdup(op->rc < 0 ? op->err.msg : "");
            kubelet__enqueue(p);
        }
}

void kubelet__pulls_free(struct kubelet *kl)
{
    while (kl->pulls) {
        struct kpull *kp = kl->pulls;

        kl->pulls = kp->next;
        free(kp->key);
        free(kp);
    }
}
