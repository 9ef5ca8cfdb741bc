/* The HorizontalPodAutoscaler's arithmetic (hpa.h): kubernetes/kubernetes
 * pkg/controller/podautoscaler/replica_calculator.go and horizontal.go, function by function. */
#include "controllers/hpa.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cond.h"
#include "core/jx.h"

/* A Go duration string ("15.012s", "1m0.5s", "500ms") in seconds; 0 when unreadable. */
static double go_duration(const char *s)
{
    double total = 0;
    char *end;

    for (int i = 0; s && *s && i < 8; i++) {
        double v = strtod(s, &end);

        if (end == s)
            return 0;
        s = end;
        if (strncmp(s, "ms", 2) == 0)
            total += v / 1e3, s += 2;
        else if (strncmp(s, "us", 2) == 0 || strncmp(s, "\xc2\xb5s", 3) == 0)
            total += v / 1e6, s += s[0] == 'u' ? 2 : 3;
        else if (strncmp(s, "ns", 2) == 0)
            total += v / 1e9, s += 2;
        else if (*s == 'h')
            total += v * 3600, s++;
        else if (*s == 'm')
            total += v * 60, s++;
        else if (*s == 's')
            total += v, s++;
        else
            return 0;
    }
    return total;
}

enum hpa_group hpa_pod_group(const json_t *pod, const json_t *metrics, int cpu, time_t now)
{
    const char *phase = jx_str(pod, "status.phase") ?: "";
    const json_t *ready;
    time_t start, trans, ts;
    double window;
    int is_false;

    if (jx_get(pod, "metadata.deletionTimestamp") || strcmp(phase, "Failed") == 0)
        return HPA_IGNORED;
    if (strcmp(phase, "Pending") == 0)
        return HPA_UNREADY;
    if (!metrics)
        return HPA_MISSING;
    if (!cpu)
        return HPA_READY;
    ready = cond_get(pod, "Ready");
    if (!ready || !jx_str(pod, "status.startTime"))
        return HPA_UNREADY;
    start = time_parse(jx_str(pod, "status.startTime"));
    trans = time_parse(jx_str(ready, "lastTransitionTime") ?: "");
    is_false = strcmp(jx_str(ready, "status") ?: "", "False") == 0;
    if (start + HPA_CPU_INIT_PERIOD > now) {
        /* Within the initialization period: unready, or no full metric window since the
         * last transition. */
        ts = time_parse(jx_str(metrics, "timestamp") ?: "");
        window = go_duration(jx_str(metrics, "window"));
        return is_false || (double)ts < (double)trans + window ? HPA_UNREADY : HPA_READY;
    }
    /* Afterwards only a pod that has never been ready is unready. */
    return is_false && start + HPA_INITIAL_READINESS_DELAY > trans ? HPA_UNREADY : HPA_READY;
}

static int within_tolerance(double ratio)
{
    return 1.0 - HPA_TOLERANCE <= ratio && ratio <= 1.0 + HPA_TOLERANCE;
}

/* GetResourceUtilizationRatio / GetMetricUsageRatio over the samples that count (mask: the
 * groups included). Returns -1 when there is nothing to divide. */
static int ratio_of(const struct hpa_sample *s, size_t n, const int *use, int target_pct,
                    int64_t target_milli, double *ratio, int *util, int64_t *avg)
{
    int64_t total = 0, req = 0;
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (!use[i])
            continue;
        total += s[i].value;
        req += s[i].request;
        k++;
    }
    if (k == 0 || (target_pct > 0 && req == 0))
        return -1;
    *avg = total / (int64_t)k;
    if (target_pct > 0) {
        *util = (int)(total * 100 / req); /* integer truncation, as upstream */
        *ratio = (double)*util / (double)target_pct;
    } else {
        *ratio = (double)*avg / (double)target_milli;
    }
    return 0;
}

int hpa_replicas(const struct hpa_sample *s, size_t n, int current, int target_pct,
                 int64_t target_milli, struct hpa_calc *out, char *msg, size_t msgn)
{
    struct hpa_sample *x;
    int *use, ready = 0, unready = 0, missing = 0, k = 0, util2 = 0, rc = -1;
    double ratio, ratio2;
    int64_t avg2;

    memset(out, 0, sizeof *out);
    if (n == 0) {
        snprintf(msg, msgn, "no pods returned by selector while calculating replica count");
        return -1;
    }
    use = calloc(n, sizeof *use);
    x = calloc(n, sizeof *x);
    memcpy(x, s, n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        ready += s[i].group == HPA_READY;
        unready += s[i].group == HPA_UNREADY;
        missing += s[i].group == HPA_MISSING;
        use[i] = s[i].group == HPA_READY && s[i].has_value;
    }
    if (ratio_of(x, n, use, target_pct, target_milli, &ratio, &out->utilization, &out->average) <
        0) {
        snprintf(msg, msgn, "did not receive metrics for targeted pods (pods might be unready)");
        goto out;
    }
    rc = 0;
    if (!(unready > 0 && ratio > 1.0) && missing == 0) {
        out->replicas = within_tolerance(ratio) ? current : (int)ceil(ratio * ready);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (x[i].group == HPA_MISSING && ratio < 1.0) {
            /* Missing pods on a scale-down: as if at max(100%, target) of request (or at the
             * target value). */
            x[i].value = target_pct > 0 ? x[i].request * (target_pct > 100 ? target_pct : 100) / 100
                                        : target_milli;
            use[i] = 1;
        } else if (x[i].group == HPA_MISSING && ratio > 1.0) {
            x[i].value = 0;
            use[i] = 1;
        } else if (x[i].group == HPA_UNREADY && ratio > 1.0) {
            x[i].value = 0;
            use[i] = 1;
        }
    }
    for (size_t i = 0; i < n; i++)
        k += use[i];
    ratio_of(x, n, use, target_pct, target_milli, &ratio2, &util2, &avg2);
    if (within_tolerance(ratio2) || (ratio < 1.0 && ratio2 > 1.0) ||
        (ratio > 1.0 && ratio2 < 1.0)) {
        out->replicas = current;
        goto out;
    }
    out->replicas = (int)ceil(ratio2 * k);
    if ((ratio2 < 1.0 && out->replicas > current) || (ratio2 > 1.0 && out->replicas < current))
        out->replicas = current;
out:
    free(use);
    free(x);
    return rc;
}

void hpa_rules_read(const json_t *rules, int window_default, struct hpa_rules *out)
{
    const char *sel = jx_str(rules, "selectPolicy") ?: "Max";
    const json_t *p;
    size_t i;

    memset(out, 0, sizeof *out);
    out->window = (int)jx_int(rules, "stabilizationWindowSeconds", window_default);
    out->select = strcmp(sel, "Min") == 0        ? HPA_SELECT_MIN
                  : strcmp(sel, "Disabled") == 0 ? HPA_SELECT_DISABLED
                                                 : HPA_SELECT_MAX;
    json_array_foreach(json_object_get(rules, "policies"), i, p)
    {
        if (out->npol >= HPA_MAX_POLICIES)
            break;
        out->pol[out->npol].percent = strcmp(jx_str(p, "type") ?: "", "Percent") == 0;
        out->pol[out->npol].value = (int)jx_int(p, "value", 0);
        out->pol[out->npol].period = (int)jx_int(p, "periodSeconds", 0);
        out->npol++;
    }
}

void hpa_rec_add(struct hpa_hist *h, int replicas, time_t now, int keep_seconds)
{
    int slot = -1, oldest = 0;

    for (int i = 0; i < h->nrecs; i++) {
        if (h->recs[i].at < h->recs[oldest].at)
            oldest = i;
        if (slot < 0 && h->recs[i].at < now - keep_seconds)
            slot = i;
    }
    if (slot < 0)
        slot = h->nrecs < HPA_MAX_RECS ? h->nrecs++ : oldest;
    h->recs[slot].replicas = replicas;
    h->recs[slot].at = now;
}

static void set_norm_limit(struct hpa_norm *o, const char *reason, const char *msg)
{
    o->limit_reason = reason;
    o->limit_msg = msg;
}

#define MSG_WITHIN "the desired count is within the acceptable range"
#define MSG_TOO_MANY "the desired replica count is more than the maximum replica count"
#define MSG_TOO_FEW "the desired replica count is less than the minimum replica count"
#define MSG_UP_LIMIT "the desired replica count is increasing faster than the maximum scale rate"
#define MSG_DOWN_LIMIT "the desired replica count is decreasing faster than the maximum scale rate"

int hpa_normalize_legacy(struct hpa_hist *h, int current, int proposal, int min, int max,
                         time_t now, struct hpa_norm *out)
{
    int stab = proposal, upper, desired;

    for (int i = 0; i < h->nrecs; i++)
        if (h->recs[i].at > now - HPA_DOWNSCALE_WINDOW && h->recs[i].replicas > stab)
            stab = h->recs[i].replicas;
    hpa_rec_add(h, proposal, now, HPA_DOWNSCALE_WINDOW);
    if (stab != proposal) {
        out->able_reason = "ScaleDownStabilized";
        out->able_msg = "recent recommendations were higher than current one, applying the "
                        "highest recent recommendation";
    } else {
        out->able_reason = "ReadyForNewScale";
        out->able_msg = "recommended size matches current size";
    }
    upper = 2 * current > 4 ? 2 * current : 4;
    if (max > upper)
        set_norm_limit(out, "ScaleUpLimit", MSG_UP_LIMIT);
    else
        set_norm_limit(out, "TooManyReplicas", MSG_TOO_MANY), upper = max;
    desired = stab;
    if (stab < min) {
        set_norm_limit(out, "TooFewReplicas", MSG_TOO_FEW);
        desired = min;
    } else if (stab > upper) {
        desired = upper;
    } else {
        set_norm_limit(out, "DesiredWithinRange", MSG_WITHIN);
    }
    out->limited = desired != stab;
    return desired;
}

/* getReplicasChangePerPeriod. */
static int change_in(const struct hpa_ev *ev, int n, int period, time_t now)
{
    int sum = 0;

    for (int i = 0; i < n; i++)
        if (ev[i].at > now - period)
            sum += ev[i].replicas;
    return sum;
}

/* calculateScaleUpLimitWithScalingRules (up) / calculateScaleDownLimitWithBehaviors. */
static int rate_limit(const struct hpa_hist *h, int current, const struct hpa_rules *r, int up,
                      time_t now)
{
    int pick_max = (r->select == HPA_SELECT_MAX) == up;
    long long result = pick_max ? INT_MIN : INT_MAX;

    if (r->select == HPA_SELECT_DISABLED)
        return current;
    for (int i = 0; i < r->npol; i++) {
        int added = change_in(h->up, h->nup, r->pol[i].period, now);
        int removed = change_in(h->down, h->ndown, r->pol[i].period, now);
        long long start = (long long)current - added + removed, p;

        if (up)
            p = r->pol[i].percent ? (long long)ceil((double)start * (1 + r->pol[i].value / 100.0))
                                  : start + r->pol[i].value;
        else
            p = r->pol[i].percent ? (long long)((double)start * (1 - r->pol[i].value / 100.0))
                                  : start - r->pol[i].value;
        result = pick_max ? (p > result ? p : result) : (p < result ? p : result);
    }
    if (r->npol == 0)
        return current;
    return (int)result;
}

static int stabilize(struct hpa_hist *h, int current, int proposal, const struct hpa_rules *up,
                     const struct hpa_rules *down, time_t now, struct hpa_norm *out)
{
    int uprec = proposal, downrec = proposal, rec = current;
    int keep = up->window > down->window ? up->window : down->window;

    for (int i = 0; i < h->nrecs; i++) {
        if (h->recs[i].at > now - up->window && h->recs[i].replicas < uprec)
            uprec = h->recs[i].replicas;
        if (h->recs[i].at > now - down->window && h->recs[i].replicas > downrec)
            downrec = h->recs[i].replicas;
    }
    if (rec < uprec)
        rec = uprec;
    if (rec > downrec)
        rec = downrec;
    hpa_rec_add(h, proposal, now, keep);
    if (proposal >= current) {
        out->able_reason = "ScaleUpStabilized";
        out->able_msg = "recent recommendations were lower than current one, applying the "
                        "lowest recent recommendation";
    } else {
        out->able_reason = "ScaleDownStabilized";
        out->able_msg = "recent recommendations were higher than current one, applying the "
                        "highest recent recommendation";
    }
    return rec;
}

int hpa_normalize_behavior(struct hpa_hist *h, int current, int proposal, int min, int max,
                           const struct hpa_rules *up, const struct hpa_rules *down, time_t now,
                           struct hpa_norm *out)
{
    int stab = stabilize(h, current, proposal, up, down, now, out), desired = stab, lim;

    if (stab == proposal) {
        out->able_reason = "ReadyForNewScale";
        out->able_msg = "recommended size matches current size";
    }
    set_norm_limit(out, "DesiredWithinRange", MSG_WITHIN);
    if (stab > current) {
        int allowed = max;

        if ((lim = rate_limit(h, current, up, 1, now)) < current)
            lim = current;
        if (allowed > lim) {
            allowed = lim;
            set_norm_limit(out, "ScaleUpLimit", MSG_UP_LIMIT);
        } else {
            set_norm_limit(out, "TooManyReplicas", MSG_TOO_MANY);
        }
        if (stab > allowed)
            desired = allowed;
        else
            set_norm_limit(out, "DesiredWithinRange", MSG_WITHIN);
    } else if (stab < current) {
        int allowed = min;

        if ((lim = rate_limit(h, current, down, 0, now)) > current)
            lim = current;
        if (allowed < lim) {
            allowed = lim;
            set_norm_limit(out, "ScaleDownLimit", MSG_DOWN_LIMIT);
        } else {
            set_norm_limit(out, "TooFewReplicas", MSG_TOO_FEW);
        }
        if (stab < allowed)
            desired = allowed;
        else
            set_norm_limit(out, "DesiredWithinRange", MSG_WITHIN);
    }
    out->limited = desired != stab;
    return desired;
}

static int longest_period(const struct hpa_rules *r)
{
    int p = 0;

    for (int i = 0; i < r->npol; i++)
        if (r->pol[i].period > p)
            p = r->pol[i].period;
    return p;
}

static void event_add(struct hpa_ev *ev, int *n, int change, int period, time_t now)
{
    int slot = -1, oldest = 0;

    for (int i = 0; i < *n; i++) {
        if (ev[i].at < ev[oldest].at)
            oldest = i;
        if (slot < 0 && ev[i].at <= now - period)
            slot = i; /* outdated: reused */
    }
    if (slot < 0)
        slot = *n < HPA_MAX_EVENTS ? (*n)++ : oldest;
    ev[slot].replicas = change;
    ev[slot].at = now;
}

void hpa_scale_event_add(struct hpa_hist *h, int prev, int next, const struct hpa_rules *up,
                         const struct hpa_rules *down, time_t now)
{
    if (next > prev)
        event_add(h->up, &h->nup, next - prev, longest_period(up), now);
    else if (next < prev)
        event_add(h->down, &h->ndown, prev - next, longest_period(down), now);
}
