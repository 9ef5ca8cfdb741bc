/* The VPA recommender's model (controllers/vpa_model.c) against upstream's
 * vertical-pod-autoscaler/pkg/recommender: the exponential bucket layout of
 * histogram_options_test.go (TestExponentialHistogramOptions), the default CPU and memory
 * histograms (aggregations_config.go), the decay by half-life, memory peaks per day
 * (container.go), and the estimators of recommender.go (percentiles 0.9/0.5/0.95, 15% margin,
 * confidence multipliers, 25m/250Mi minimums divided among containers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <math.h>

#include "controllers/vpa.h"

#define T0 1234567890.0
#define DAY (24 * 3600.0)

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-9 * (fabs(want) + 1)) {
        fprintf(stderr, "got %.12g want %.12g\n", got, want);
        fail();
    }
}

/* TestExponentialHistogramOptions: max 100, first bucket 10, ratio 2. */
static void test_options(void **state)
{
    struct vpa_hist h;

    (void)state;
    vpa_hist_init_ratio(&h, 10.0, 100.0, 2.0);
    assert_int_equal(h.nb, 5);
    near(vpa_hist_bucket_start(&h, 0), 0);
    near(vpa_hist_bucket_start(&h, 1), 10);
    near(vpa_hist_bucket_start(&h, 2), 30);
    near(vpa_hist_bucket_start(&h, 3), 70);
    near(vpa_hist_bucket_start(&h, 4), 150);
    assert_int_equal(vpa_hist_bucket(&h, -1.0), 0);
    assert_int_equal(vpa_hist_bucket(&h, 9.99), 0);
    assert_int_equal(vpa_hist_bucket(&h, 10.0), 1);
    assert_int_equal(vpa_hist_bucket(&h, 30.0), 2);
    assert_int_equal(vpa_hist_bucket(&h, 70.0), 3);
    assert_int_equal(vpa_hist_bucket(&h, 150.0), 4);
    assert_int_equal(vpa_hist_bucket(&h, 1e12), 4);
    /* The recommender's: 0.01 cores / 1000 cores and 10 MB / 1 TB, ratio 1.05. */
    vpa_hist_init(&h, VPA_CPU_FIRST_BUCKET, VPA_CPU_MAX);
    assert_int_equal(h.nb, 176);
    vpa_hist_init(&h, VPA_MEM_FIRST_BUCKET, VPA_MEM_MAX);
    assert_int_equal(h.nb, 176);
}

/* Percentile returns the end of the bucket reaching the threshold; empty gives 0. */
static void test_percentile(void **state)
{
    struct vpa_hist h;

    (void)state;
    vpa_hist_init_ratio(&h, 10.0, 100.0, 2.0);
    near(vpa_hist_percentile(&h, 0.5), 0);
    assert_true(vpa_hist_empty(&h));
    vpa_hist_add(&h, 5, 1, T0);   /* bucket 0: [0, 10) */
    vpa_hist_add(&h, 20, 2, T0);  /* bucket 1: [10, 30) */
    vpa_hist_add(&h, 100, 1, T0); /* bucket 3: [70, 150) */
    near(vpa_hist_percentile(&h, 0.0), 10);
    near(vpa_hist_percentile(&h, 0.25), 10);
    near(vpa_hist_percentile(&h, 0.5), 30);
    near(vpa_hist_percentile(&h, 0.75), 30);
    near(vpa_hist_percentile(&h, 0.76), 150);
    near(vpa_hist_percentile(&h, 1.0), 150);
    vpa_hist_sub(&h, 100, 1, T0);
    near(vpa_hist_percentile(&h, 1.0), 30);
}

/* TestDecayingHistogramPercentile's shape, one half-life (24 h) apart: weights 1, 2, 3, 4
 * become 1/8, 2/4, 3/2, 4 relative to the newest. */
static void test_decay(void **state)
{
    struct vpa_hist h;

    (void)state;
    vpa_hist_init_ratio(&h, 10.0, 100.0, 2.0);
    vpa_hist_add(&h, 5, 1, T0);             /* bucket 0, 0.125 */
    vpa_hist_add(&h, 20, 2, T0 + DAY);      /* bucket 1, 0.5 */
    vpa_hist_add(&h, 50, 3, T0 + 2 * DAY);  /* bucket 2, 1.5 */
    vpa_hist_add(&h, 100, 4, T0 + 3 * DAY); /* bucket 3, 4 */
    /* total 6.125: bucket 0 up to 2.0%, 1 up to 10.2%, 2 up to 34.7%, 3 the rest */
    near(vpa_hist_percentile(&h, 0.02), 10);
    near(vpa_hist_percentile(&h, 0.03), 30);
    near(vpa_hist_percentile(&h, 0.10), 30);
    near(vpa_hist_percentile(&h, 0.11), 70);
    near(vpa_hist_percentile(&h, 0.34), 70);
    near(vpa_hist_percentile(&h, 0.35), 150);
    /* 200 half-lives later the reference shifts (exponent > 100) to the sample's day: the
     * old weights, 2^-200 of the new one, fall below epsilon and the histogram holds it alone. */
    vpa_hist_add(&h, 5, 1, T0 + 203 * DAY);
    near(h.ref, round((T0 + 203 * DAY) / DAY) * DAY);
    near(vpa_hist_percentile(&h, 1.0), 10);
    near(h.total,
         exp2((T0 + 203 * DAY - h.ref) / DAY) + 6.125 * exp2((T0 + 3 * DAY - h.ref) / DAY));
}

/* container.go: one peak per container per day; a higher sample replaces the day's peak. */
static void test_memory_peaks(void **state)
{
    struct vpa_agg a;
    struct vpa_peak p = {0};

    (void)state;
    vpa_agg_init(&a);
    vpa_peak_add(&p, &a, 100e6, T0);
    vpa_peak_add(&p, &a, 300e6, T0 + 60);
    vpa_peak_add(&p, &a, 200e6, T0 + 120); /* below the peak: nothing */
    near(p.peak, 300e6);
    near(a.mem.total, 1.0 * exp2((p.window_end - a.mem.ref) / VPA_HALF_LIFE_S));
    assert_int_equal(vpa_hist_bucket(&a.mem, 300e6), a.mem.minb);
    assert_int_equal(a.mem.minb, a.mem.maxb);
    vpa_peak_add(&p, &a, 50e6, T0 + DAY + 10); /* next day: a new window */
    near(p.window_end, T0 + 2 * DAY);
    near(p.peak, 50e6);
    assert_int_not_equal(a.mem.minb, a.mem.maxb);
    vpa_peak_add(&p, &a, 40e6, T0 - 10); /* older than the last sample: ignored */
    near(p.peak, 50e6);
}

/* recommender.go: one day of one sample a minute at 1 core gives confidence 1. */
static void test_recommend(void **state)
{
    struct vpa_agg a;
    struct vpa_rec r;
    struct vpa_hist *c = &a.cpu;
    double end;

    (void)state;
    vpa_agg_init(&a);
    for (int i = 0; i <= 1440; i++)
        vpa_agg_add_cpu(&a, 1.0, 0.5, T0 + 60.0 * i);
    assert_int_equal(a.samples, 1441);
    near(vpa_confidence(&a), 1.0);
    end = vpa_hist_bucket_start(c, vpa_hist_bucket(c, 1.0) + 1);
    assert_true(end > 1.0 && end < 1.06);
    vpa_recommend(&a, 1, &r);
    near(r.target.cpu, end * 1.15);
    near(r.lower.cpu, end * 1.15 * pow(1 + 0.001, -2));
    near(r.upper.cpu, end * 1.15 * 2);
    /* No memory samples: the 250Mi minimum. */
    near(r.target.mem, 250.0 * 1024 * 1024);
    near(r.upper.mem, 250.0 * 1024 * 1024);
    /* Two containers share the pod minimums. */
    vpa_agg_init(&a);
    vpa_agg_add_cpu(&a, 0.001, 0.0, T0);
    vpa_agg_add_cpu(&a, 0.001, 0.0, T0 + 60);
    vpa_recommend(&a, 2, &r);
    near(r.target.cpu, 0.0125);
    near(r.lower.cpu, 0.0125);
    near(r.target.mem, 125.0 * 1024 * 1024);
    /* A short history widens the bounds: lower at the minimum, upper within range. */
    assert_true(r.upper.cpu >= r.target.cpu && r.upper.cpu <= VPA_CPU_MAX);
}

/* Samples are weighted by the request (at least 0.1 core). */
static void test_weights(void **state)
{
    struct vpa_agg a;

    (void)state;
    vpa_agg_init(&a);
    vpa_agg_add_cpu(&a, 0.2, 0.0, T0);
    vpa_agg_add_cpu(&a, 4.0, 2.0, T0);
    near(a.cpu.total, (0.1 + 2.0) * exp2((T0 - a.cpu.ref) / VPA_HALF_LIFE_S));
    /* 2.0 of 2.1 at 4 cores: the median is there. */
    near(vpa_hist_percentile(&a.cpu, 0.5),
         vpa_hist_bucket_start(&a.cpu, vpa_hist_bucket(&a.cpu, 4.0) + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),   cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_decay),     cmocka_unit_test(test_memory_peaks),
        cmocka_unit_test(test_recommend), cmocka_unit_test(test_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
