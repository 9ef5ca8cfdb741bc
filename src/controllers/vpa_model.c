/* The VPA recommender's histograms and estimators (see vpa.h for the upstream files). */
#include "controllers/vpa.h"

#include <math.h>
#include <string.h>

void vpa_hist_init(struct vpa_hist *h, double first, double max)
{
    vpa_hist_init_ratio(h, first, max, VPA_BUCKET_RATIO);
}

void vpa_hist_init_ratio(struct vpa_hist *h, double first, double max, double ratio)
{
    memset(h, 0, sizeof *h);
    h->first = first;
    h->max = max;
    h->ratio = ratio;
    h->nb = (int)ceil(log(max * (ratio - 1) / first + 1) / log(ratio)) + 1;
    if (h->nb > VPA_HIST_BUCKETS)
        h->nb = VPA_HIST_BUCKETS;
    h->minb = h->nb - 1;
    h->maxb = 0;
}

int vpa_hist_bucket(const struct vpa_hist *h, double value)
{
    int b;

    if (value < h->first)
        return 0;
    b = (int)(log(value * (h->ratio - 1) / h->first + 1) / log(h->ratio));
    return b >= h->nb ? h->nb - 1 : b;
}

double vpa_hist_bucket_start(const struct vpa_hist *h, int bucket)
{
    return h->first * (pow(h->ratio, bucket) - 1) / (h->ratio - 1);
}

static void minmax_update(struct vpa_hist *h)
{
    int last = h->nb - 1;

    while (h->minb < last && h->w[h->minb] < VPA_EPSILON)
        h->minb++;
    while (h->maxb > 0 && h->w[h->maxb] < VPA_EPSILON)
        h->maxb--;
}

/* shiftReferenceTimestamp: a new reference rounded to the half-life, the weights rescaled. */
static double decay_factor(struct vpa_hist *h, double t)
{
    if (t > h->ref + (double)VPA_HALF_LIFE_S * VPA_MAX_DECAY_EXPONENT) {
        double nref = round(t / VPA_HALF_LIFE_S) * VPA_HALF_LIFE_S;
        double scale = ldexp(1.0, (int)round((h->ref - nref) / VPA_HALF_LIFE_S));

        for (int i = 0; i < h->nb; i++)
            h->w[i] *= scale;
        h->total *= scale;
        minmax_update(h);
        h->ref = nref;
    }
    return exp2((t - h->ref) / VPA_HALF_LIFE_S);
}

void vpa_hist_add(struct vpa_hist *h, double value, double weight, double t)
{
    int b;

    if (!(weight >= 0))
        return;
    weight *= decay_factor(h, t);
    b = vpa_hist_bucket(h, value);
    h->w[b] += weight;
    h->total += weight;
    if (b < h->minb && h->w[b] >= VPA_EPSILON)
        h->minb = b;
    if (b > h->maxb && h->w[b] >= VPA_EPSILON)
        h->maxb = b;
}

static double safe_sub(double v, double d)
{
    v -= d;
    return v < VPA_EPSILON ? 0 : v;
}

void vpa_hist_sub(struct vpa_hist *h, double value, double weight, double t)
{
    int b;

    if (!(weight >= 0))
        return;
    weight *= decay_factor(h, t);
    b = vpa_hist_bucket(h, value);
    h->w[b] = safe_sub(h->w[b], weight);
    h->total = safe_sub(h->total, weight);
    minmax_update(h);
}

int vpa_hist_empty(const struct vpa_hist *h)
{
    return h->w[h->minb] < VPA_EPSILON;
}

double vpa_hist_percentile(const struct vpa_hist *h, double p)
{
    double sum = 0, threshold = p * h->total;
    int b;

    if (vpa_hist_empty(h))
        return 0;
    for (b = h->minb; b < h->maxb; b++) {
        sum += h->w[b];
        if (sum >= threshold)
            break;
    }
    return vpa_hist_bucket_start(h, b < h->nb - 1 ? b + 1 : b);
}

void vpa_agg_init(struct vpa_agg *a)
{
    memset(a, 0, sizeof *a);
    vpa_hist_init(&a->cpu, VPA_CPU_FIRST_BUCKET, VPA_CPU_MAX);
    vpa_hist_init(&a->mem, VPA_MEM_FIRST_BUCKET, VPA_MEM_MAX);
}

void vpa_agg_add_cpu(struct vpa_agg *a, double usage, double request, double t)
{
    /* Weighted by the request: a raised request makes the older history decay faster. */
    vpa_hist_add(&a->cpu, usage, request > VPA_MIN_SAMPLE_WEIGHT ? request : VPA_MIN_SAMPLE_WEIGHT,
                 t);
    if (t > a->last_sample)
        a->last_sample = t;
    if (a->first_sample == 0 || t < a->first_sample)
        a->first_sample = t;
    a->samples++;
}

void vpa_peak_add(struct vpa_peak *p, struct vpa_agg *a, double bytes, double t)
{
    int add = 0;

    if (t < p->last)
        return;
    p->last = t;
    if (p->window_end == 0)
        p->window_end = t;
    if (t < p->window_end) {
        if (p->peak != 0 && bytes > p->peak) {
            vpa_hist_sub(&a->mem, p->peak, 1.0, p->window_end);
            add = 1;
        }
    } else {
        double shift = floor((t - p->window_end) / VPA_MEM_INTERVAL_S) * VPA_MEM_INTERVAL_S;

        p->window_end += shift + VPA_MEM_INTERVAL_S;
        p->peak = 0;
        add = 1;
    }
    if (add) {
        vpa_hist_add(&a->mem, bytes, 1.0, p->window_end);
        p->peak = bytes;
    }
}

double vpa_confidence(const struct vpa_agg *a)
{
    double days = (a->last_sample - a->first_sample) / (24.0 * 3600);
    double samples = (double)a->samples / (60 * 24);

    return days < samples ? days : samples;
}

/* WithConfidenceMultiplier: x * (1 + multiplier / confidence) ^ exponent, kept finite. */
static double confidence_scale(double x, double mult, double exp_, double conf, double max)
{
    double v = conf > 0 ? x * pow(1.0 + mult / conf, exp_) : (exp_ > 0 ? max : 0);

    return v > max || !isfinite(v) ? max : v;
}

void vpa_recommend(const struct vpa_agg *a, int ncontainers, struct vpa_rec *out)
{
    double conf = vpa_confidence(a), m = 1.0 + VPA_SAFETY_MARGIN;
    double frac = 1.0 / (ncontainers > 0 ? ncontainers : 1);
    double min_cpu = VPA_POD_MIN_CPU_MILLI * 0.001 * frac, min_mem = VPA_POD_MIN_MEM_BYTES * frac;

    out->target.cpu = vpa_hist_percentile(&a->cpu, 0.9) * m;
    out->target.mem = vpa_hist_percentile(&a->mem, 0.9) * m;
    out->lower.cpu =
        confidence_scale(vpa_hist_percentile(&a->cpu, 0.5) * m, 0.001, -2, conf, VPA_CPU_MAX);
    out->lower.mem =
        confidence_scale(vpa_hist_percentile(&a->mem, 0.5) * m, 0.001, -2, conf, VPA_MEM_MAX);
    out->upper.cpu =
        confidence_scale(vpa_hist_percentile(&a->cpu, 0.95) * m, 1.0, 1.0, conf, VPA_CPU_MAX);
    out->upper.mem =
        confidence_scale(vpa_hist_percentile(&a->mem, 0.95) * m, 1.0, 1.0, conf, VPA_MEM_MAX);
    struct vpa_est *e[] = {&out->target, &out->lower, &out->upper};
    for (int i = 0; i < 3; i++) {
        if (e[i]->cpu < min_cpu)
            e[i]->cpu = min_cpu;
        if (e[i]->mem < min_mem)
            e[i]->mem = min_mem;
    }
}
