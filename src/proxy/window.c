/* Sliding windows of request statistics (see window.h). */
#include "proxy/window.h"

#include <string.h>

void px_wcount_from_stats(const struct px_stats *st, size_t stride, int n, struct px_wcount *out)
{
    memset(out, 0, sizeof *out);
    for (int w = 0; w < n; w++) {
        const struct px_stats *x = (const struct px_stats *)((const char *)st + stride * w);

        for (int i = 0; i < PX_NCLASS; i++)
            out->requests[i] += PX_STAT_GET(x->requests[i]);
        for (int i = 0; i < PX_LAT_BUCKETS; i++)
            out->latency[i] += PX_STAT_GET(x->latency[i]);
        out->latency_sum_us += PX_STAT_GET(x->latency_sum_us);
        out->connect_errors += PX_STAT_GET(x->connect_errors);
    }
}

static uint64_t sub(uint64_t a, uint64_t b)
{
    return a >= b ? a - b : a;
}

void px_wcount_delta(const struct px_wcount *a, const struct px_wcount *b, struct px_wcount *out)
{
    for (int i = 0; i < PX_NCLASS; i++)
        out->requests[i] = sub(a->requests[i], b->requests[i]);
    for (int i = 0; i < PX_LAT_BUCKETS; i++)
        out->latency[i] = sub(a->latency[i], b->latency[i]);
    out->latency_sum_us = sub(a->latency_sum_us, b->latency_sum_us);
    out->connect_errors = sub(a->connect_errors, b->connect_errors);
}

void px_wcount_add(struct px_wcount *acc, const struct px_wcount *d)
{
    for (int i = 0; i < PX_NCLASS; i++)
        acc->requests[i] += d->requests[i];
    for (int i = 0; i < PX_LAT_BUCKETS; i++)
        acc->latency[i] += d->latency[i];
    acc->latency_sum_us += d->latency_sum_us;
    acc->connect_errors += d->connect_errors;
}

static int64_t slot_start_of(int64_t t)
{
    return t - t % PX_WIN_SLOT_S;
}

static int slot_index(int64_t t)
{
    return (int)((t / PX_WIN_SLOT_S) % PX_WIN_SLOTS);
}

void px_window_add(struct px_window *w, int64_t now_s, const struct px_wcount *d)
{
    int64_t start = slot_start_of(now_s);
    int i = slot_index(now_s);

    if (w->slot_start[i] != start) { /* the slot held an interval a whole ring ago: reuse it */
        memset(&w->c[i], 0, sizeof w->c[i]);
        w->slot_start[i] = start;
    }
    px_wcount_add(&w->c[i], d);
}

int px_window_sum(const struct px_window *w, int64_t now_s, int secs, struct px_wcount *out)
{
    int64_t newest = slot_start_of(now_s), oldest_data = -1;
    int nslots;

    if (secs > PX_WIN_MAX_S)
        secs = PX_WIN_MAX_S;
    nslots = secs <= 0 ? 1 : (secs + PX_WIN_SLOT_S - 1) / PX_WIN_SLOT_S + 1;
    if (nslots > PX_WIN_SLOTS)
        nslots = PX_WIN_SLOTS;
    memset(out, 0, sizeof *out);
    for (int k = 0; k < nslots; k++) {
        int64_t start = newest - (int64_t)k * PX_WIN_SLOT_S;
        int i;

        if (start < 0)
            break;
        i = slot_index(start);
        if (w->slot_start[i] != start)
            continue;
        px_wcount_add(out, &w->c[i]);
        oldest_data = start;
    }
    if (oldest_data < 0)
        return 0;
    /* The oldest slot may reach back beyond the window asked for: count what it covers. */
    return (int)(now_s - oldest_data + 1);
}

int px_window_idle(const struct px_window *w, int64_t now_s)
{
    struct px_wcount c;

    px_window_sum(w, now_s, PX_WIN_MAX_S, &c);
    return px_wcount_total(&c) == 0 && c.requests[PX_CLASS_ABORTED] == 0;
}

uint64_t px_wcount_total(const struct px_wcount *c)
{
    uint64_t n = c->connect_errors;

    for (int i = 0; i < PX_CLASS_ABORTED; i++)
        n += c->requests[i];
    return n;
}

uint64_t px_wcount_failures(const struct px_wcount *c)
{
    return c->requests[4] + c->connect_errors;
}

double px_wcount_quantile(const struct px_wcount *c, double q)
{
    uint64_t n = 0, cum = 0;
    double rank;

    for (int i = 0; i < PX_LAT_BUCKETS; i++)
        n += c->latency[i];
    if (n == 0 || q <= 0 || q >= 1)
        return n == 0 ? -1 : q <= 0 ? 0 : px_lat_bounds[PX_LAT_BUCKETS - 2];
    rank = q * (double)n;
    for (int i = 0; i < PX_LAT_BUCKETS; i++) {
        double lo = i == 0 ? 0 : px_lat_bounds[i - 1], hi;

        if ((double)(cum + c->latency[i]) < rank) {
            cum += c->latency[i];
            continue;
        }
        if (i == PX_LAT_BUCKETS - 1)
            return px_lat_bounds[PX_LAT_BUCKETS - 2];
        hi = px_lat_bounds[i];
        return lo + (hi - lo) * (rank - (double)cum) / (double)c->latency[i];
    }
    return px_lat_bounds[PX_LAT_BUCKETS - 2];
}
