/* The Deployment controller's pure decisions (see rollout.h): fenceposts, the new
 * ReplicaSet's next size, old ReplicaSets' scale-downs and proportional scaling. */
#include "controllers/rollout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controllers/podutil.h"
#include "core/jx.h"
#include "core/log.h"

#define MAX_ACTIVE 64 /* proportional scaling looks at this many active ReplicaSets at most */

long long rollout_spec(const json_t *rs)
{
    return jx_int(rs, "spec.replicas", 1);
}

long long rollout_avail(const json_t *rs)
{
    return jx_int(rs, "status.availableReplicas", 0);
}

int rollout_is_rolling(const json_t *d)
{
    const char *t = jx_str(d, "spec.strategy.type");

    return !t || strcmp(t, "RollingUpdate") == 0;
}

int rollout_is_new(const struct rollout *r, const json_t *rs)
{
    return r->nrs &&
           strcmp(jx_str(rs, "metadata.name") ?: "", jx_str(r->nrs, "metadata.name") ?: "") == 0;
}

int rollout_cmp_created(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    time_t tx = time_parse(jx_str(x, "metadata.creationTimestamp"));
    time_t ty = time_parse(jx_str(y, "metadata.creationTimestamp"));

    if (tx != ty)
        return tx < ty ? -1 : 1;
    return strcmp(jx_str(x, "metadata.name") ?: "", jx_str(y, "metadata.name") ?: "");
}

static void resolve(const json_t *d, long long R, long long *surge, long long *unav)
{
    long long s = 0, u = 0;

    intstr_scaled(jx_get(d, "spec.strategy.rollingUpdate.maxSurge"), R, 1, &s);
    intstr_scaled(jx_get(d, "spec.strategy.rollingUpdate.maxUnavailable"), R, 0, &u);
    if (s == 0 && u == 0)
        u = 1;
    *surge = s;
    *unav = u;
}

long long rollout_max_surge(const json_t *d, long long R)
{
    long long s, u;

    if (!rollout_is_rolling(d))
        return 0;
    resolve(d, R, &s, &u);
    return s;
}

long long rollout_max_unavailable(const json_t *d, long long R)
{
    long long s, u;

    if (!rollout_is_rolling(d) || R == 0)
        return 0;
    resolve(d, R, &s, &u);
    return u < R ? u : R;
}

static long long sum_spec(const struct rollout *r, int only_old)
{
    long long s = 0;

    for (size_t i = 0; i < json_array_size(r->rss); i++)
        if (!only_old || !rollout_is_new(r, json_array_get(r->rss, i)))
            s += rollout_spec(json_array_get(r->rss, i));
    return s;
}

long long rollout_new_rs_replicas(const struct rollout *r)
{
    long long max_total = r->R + rollout_max_surge(r->d, r->R), total = sum_spec(r, 0);
    long long cur = r->nrs ? rollout_spec(r->nrs) : 0, room;

    if (!rollout_is_rolling(r->d))
        return r->R;
    if (total >= max_total)
        return cur;
    room = max_total - total;
    return cur + (room < r->R - cur ? room : r->R - cur);
}

long long rollout_reconcile_new(const struct rollout *r)
{
    long long cur = rollout_spec(r->nrs);

    if (cur >= r->R)
        return r->R;
    return rollout_new_rs_replicas(r);
}

size_t rollout_reconcile_old(const struct rollout *r, struct rollout_step *steps)
{
    size_t n = json_array_size(r->rss), ns = 0;
    long long min_avail = r->R - rollout_max_unavailable(r->d, r->R), new_unavail, max_down;
    long long done = 0, available = 0, cut2 = 0, *size;

    if (sum_spec(r, 1) == 0)
        return 0;
    new_unavail = r->nrs ? rollout_spec(r->nrs) - rollout_avail(r->nrs) : 0;
    max_down = sum_spec(r, 0) - min_avail - new_unavail;
    if (max_down <= 0)
        return 0;
    size = xcalloc(n, sizeof *size);
    for (size_t i = 0; i < n; i++)
        size[i] = rollout_spec(json_array_get(r->rss, i));
    /* A: unhealthy old replicas first; they cost no availability. */
    for (size_t i = 0; i < n && done < max_down; i++) {
        json_t *rs = json_array_get(r->rss, i);
        long long a = rollout_avail(rs), cut;

        if (rollout_is_new(r, rs) || size[i] == 0 || size[i] == a)
            continue;
        cut = max_down - done < size[i] - a ? max_down - done : size[i] - a;
        size[i] -= cut;
        steps[ns++] = (struct rollout_step){i, size[i]};
        done += cut;
    }
    /* B: available old replicas while keeping minAvailable (status values, as upstream). */
    for (size_t i = 0; i < n; i++)
        available += rollout_avail(json_array_get(r->rss, i));
    for (size_t i = 0; available > min_avail && i < n && cut2 < available - min_avail; i++) {
        long long cut;

        if (rollout_is_new(r, json_array_get(r->rss, i)) || size[i] == 0)
            continue;
        cut = size[i] < available - min_avail - cut2 ? size[i] : available - min_avail - cut2;
        size[i] -= cut;
        steps[ns++] = (struct rollout_step){i, size[i]};
        cut2 += cut;
    }
    free(size);
    return ns;
}

/* Proportional order: larger first; among equals older first when shrinking, newer first when
 * growing. */
static int before_for_scale(const json_t *x, const json_t *y, int growing)
{
    long long sx = rollout_spec(x), sy = rollout_spec(y);
    int c;

    if (sx != sy)
        return sx > sy;
    c = rollout_cmp_created(&x, &y);
    return growing ? c > 0 : c < 0;
}

static size_t scale_proportional(const struct rollout *r, const size_t *act, size_t na,
                                 struct rollout_step *steps, const char **dir)
{
    long long allowed = r->R > 0 ? r->R + rollout_max_surge(r->d, r->R) : 0, total = 0;
    long long to_add, added = 0;
    size_t ord[MAX_ACTIVE];

    for (size_t i = 0; i < na; i++)
        total += rollout_spec(json_array_get(r->rss, act[i]));
    to_add = allowed - total;
    if (to_add == 0)
        return 0;
    for (size_t i = 0; i < na; i++) { /* insertion sort: stable and at most MAX_ACTIVE long */
        size_t j = i;

        while (j > 0 && before_for_scale(json_array_get(r->rss, act[i]),
                                         json_array_get(r->rss, ord[j - 1]), to_add > 0)) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = act[i];
    }
    for (size_t i = 0; i < na; i++) {
        const json_t *rs = json_array_get(r->rss, ord[i]);
        long long sp = rollout_spec(rs), p = 0;

        if (sp != 0 && added != to_add) {
            const char *mx = jx_annotation(rs, ROLLOUT_A_MAX);
            long long base = mx ? atoll(mx) : jx_int(r->d, "status.replicas", 0);
            long long remaining = to_add - added;
            double frac = (double)-sp;

            if (r->R != 0 && base > 0)
                frac = round((double)sp * (double)allowed / (double)base) - (double)sp;
            p = (long long)frac;
            p = to_add > 0 ? (p < remaining ? p : remaining) : (p > remaining ? p : remaining);
        }
        steps[i] = (struct rollout_step){ord[i], sp + p};
        added += p;
    }
    steps[0].to += to_add - added;
    if (steps[0].to < 0)
        steps[0].to = 0;
    *dir = to_add > 0 ? "up" : "down";
    return na;
}

size_t rollout_scale(const struct rollout *r, struct rollout_step *steps, const char **dir)
{
    size_t n = json_array_size(r->rss), act[MAX_ACTIVE], na = 0, ns = 0;
    const char *des = r->nrs ? jx_annotation(r->nrs, ROLLOUT_A_DESIRED) : NULL;

    *dir = NULL;
    for (size_t i = 0; i < n && na < MAX_ACTIVE; i++)
        if (rollout_spec(json_array_get(r->rss, i)) > 0)
            act[na++] = i;
    if (na <= 1) {
        size_t t = n;

        if (na == 1)
            t = act[0];
        for (size_t i = 0; na == 0 && r->nrs && i < n; i++)
            if (json_array_get(r->rss, i) == r->nrs)
                t = i;
        if (t == n && n)
            t = n - 1;
        if (t < n)
            steps[ns++] = (struct rollout_step){t, r->R};
        return ns;
    }
    if (r->nrs && rollout_spec(r->nrs) == r->R && rollout_avail(r->nrs) == r->R && des &&
        atoll(des) == r->R) {
        for (size_t i = 0; i < na; i++)
            if (!rollout_is_new(r, json_array_get(r->rss, act[i])))
                steps[ns++] = (struct rollout_step){act[i], 0};
        return ns;
    }
    if (!rollout_is_rolling(r->d))
        return 0;
    return scale_proportional(r, act, na, steps, dir);
}
