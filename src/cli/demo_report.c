/* The demo's results: the summary table printed at the end, and the HTML report, one
 * self-contained file (inline CSS and SVG, no scripts, nothing fetched) with the timeline:
 * available replicas per ReplicaSet (revision) stacked over time, requests per second by the
 * version that answered, failures in red, the phases along the top and, when the demo ran
 * Rollouts, their update's traffic weight as a step line with each AnalysisRun's measurements
 * and outcome as markers (the value in the marker's title). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/demo-int.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/log.h"

#define SVG_W 1100
#define PLOT_X0 60
#define PLOT_X1 1080
#define BAND_Y 28
#define RS_Y0 100
#define RS_Y1 330
#define RQ_Y0 386
#define RQ_Y1 562
#define SVG_H 652
/* The progressive-delivery lane, drawn only when the demo saw a Rollout or an AnalysisRun. */
#define WT_Y0 630
#define WT_Y1 730
#define AN_Y1 748 /* analysis measurements */
#define AN_Y2 770 /* analysis run outcomes */
#define LANE_H 226

static const char *version_color(const char *v, int i)
{
    static const char *other[] = {"#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"};

    if (!strcmp(v, "1.0.3"))
        return "#2563eb";
    if (!strcmp(v, "1.0.4"))
        return "#16a34a";
    if (!strcmp(v, "1.0.5"))
        return "#dc2626";
    return other[(unsigned)i % 5];
}

static int version_of(const struct demo *d, const char *v)
{
    for (int i = 0; i < d->nversions; i++)
        if (!strcmp(d->versions[i], v))
            return i;
    return DEMO_MAX_VERSIONS;
}

static void phase_versions(const struct demo *d, const struct load_counters *c, char *out, size_t n)
{
    uint64_t sum = 0;
    size_t off = 0;

    out[0] = 0;
    for (int i = 0; i < d->nversions; i++)
        sum += c->by_version[i];
    for (int i = 0; i < d->nversions && sum && off < n; i++)
        if (c->by_version[i])
            off += (size_t)snprintf(out + off, n - off, "%s%s %d%%", off ? ", " : "",
                                    d->versions[i], (int)(100 * c->by_version[i] / sum));
    if (!out[0])
        snprintf(out, n, "-");
}

static int zd_phase_ok(const struct demo_phase *ph)
{
    return ph->c.failed == 0 && ph->c.ok > 0;
}

int demo_summary(struct demo *d)
{
    int all_ok = 1;
    uint64_t zd_served = 0;
    char names[512] = "";

    printf("\nSummary (* = zero-downtime phase: must have no failed request)\n");
    printf("  %-16s %9s %9s %7s %7s %7s  %-22s %s\n", "phase", "duration", "requests", "failed",
           "p50 ms", "p99 ms", "answered by", "steps");
    for (int i = 0; i < d->nphases; i++) {
        const struct demo_phase *ph = &d->phases[i];
        char vers[128];
        int bad = ph->zero_downtime && !zd_phase_ok(ph);

        phase_versions(d, &ph->c, vers, sizeof vers);
        printf("%c %-16s %8.1fs %9llu %s%7llu%s %7.1f %7.1f  %-22s %s\n",
               ph->zero_downtime ? '*' : ' ', ph->name, ph->t_end - ph->t_start,
               (unsigned long long)ph->c.requests, bad && d->tty ? "\033[1;31m" : "",
               (unsigned long long)ph->c.failed, bad && d->tty ? "\033[0m" : "",
               load_percentile_us(&ph->c, 0.5) / 1000, load_percentile_us(&ph->c, 0.99) / 1000,
               vers, ph->check_ok ? "ok" : "UNEXPECTED");
        if (ph->zero_downtime) {
            zd_served += ph->c.ok;
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     names[0] ? ", " : "", ph->name);
            if (!zd_phase_ok(ph))
                all_ok = 0;
        }
    }
    printf("  %-16s %8.1fs %9llu %7llu\n", "total",
           d->nphases ? d->phases[d->nphases - 1].t_end : 0.0,
           (unsigned long long)d->total.requests, (unsigned long long)d->total.failed);
    printf("\nZero-downtime phases (%s): %llu requests served, %s\n", names,
           (unsigned long long)zd_served,
           all_ok ? "0 failed: PASS" : "FAILED (a failed request, or no traffic served)");
    if (d->steps_failed)
        printf("Steps that did not go as expected:\n%s", d->failed_steps);
    return all_ok;
}

/* ---- SVG ---- */

static double t_end(const struct demo *d)
{
    double t = d->nphases ? d->phases[d->nphases - 1].t_end : 1;

    return t > 1 ? t : 1;
}

static double xs(const struct demo *d, double t)
{
    return PLOT_X0 + (PLOT_X1 - PLOT_X0) * t / t_end(d);
}

static int has_lane(const struct demo *d)
{
    if (d->nmarks > 0)
        return 1;
    for (int i = 0; i < d->nsamples; i++)
        if (d->samples[i].nro > 0)
            return 1;
    return 0;
}

/* The bottom of the plotted area and the SVG's height. */
static int plot_bottom(const struct demo *d)
{
    return has_lane(d) ? AN_Y2 + 10 : RQ_Y1;
}

static int svg_height(const struct demo *d)
{
    return has_lane(d) ? SVG_H + LANE_H : SVG_H;
}

/* The name of the phase running at demo time t ("" before the first). */
static const char *phase_at(const struct demo *d, double t)
{
    const char *name = "";

    for (int i = 0; i < d->nphases; i++)
        if (d->phases[i].t_start <= t)
            name = d->phases[i].name;
    return name;
}

static void svg_esc(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            buf_appendf(b, "&lt;");
        else if (*s == '>')
            buf_appendf(b, "&gt;");
        else if (*s == '&')
            buf_appendf(b, "&amp;");
        else if (*s == '"')
            buf_appendf(b, "&quot;");
        else
            buf_append(b, s, 1);
    }
}

static void svg_phases(struct buf *b, const struct demo *d)
{
    for (int i = 0; i < d->nphases; i++) {
        const struct demo_phase *ph = &d->phases[i];
        double x0 = xs(d, ph->t_start), x1 = xs(d, ph->t_end);

        buf_appendf(b,
                    "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='%s' "
                    "stroke='#fff'><title>",
                    x0, BAND_Y, x1 - x0 > 0 ? x1 - x0 : 0, plot_bottom(d) - BAND_Y,
                    i % 2 ? "#f1f5f9" : "#e2e8f0");
        svg_esc(b, ph->title);
        buf_appendf(b, "</title></rect>\n");
        buf_appendf(b, "<text x='%.1f' y='%d' class='ph'>%d</text>", (x0 + x1) / 2, BAND_Y + 14,
                    i + 1);
        buf_appendf(b, "<text x='%.1f' y='%d' class='ph %s'>%llu&#x2717;</text>\n", (x0 + x1) / 2,
                    BAND_Y + 28, ph->c.failed ? "bad" : "good", (unsigned long long)ph->c.failed);
    }
}

static void svg_axis(struct buf *b, const struct demo *d)
{
    double end = t_end(d);
    int step = end > 200 ? 30 : (end > 60 ? 15 : 5);

    for (int t = 0; t <= (int)end; t += step)
        buf_appendf(b,
                    "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' class='grid'/>"
                    "<text x='%.1f' y='%d' class='tick'>%ds</text>\n",
                    xs(d, t), xs(d, t), RS_Y0, plot_bottom(d), xs(d, t), plot_bottom(d) + 16, t);
}

struct series {
    char name[96], deploy[64], image[64];
    int revision;
};

static int series_collect(const struct demo *d, struct series *s)
{
    int n = 0;

    for (int i = 0; i < d->nsamples; i++)
        for (int j = 0; j < d->samples[i].nrs; j++) {
            const struct rs_state *r = &d->samples[i].rs[j];
            int k;

            for (k = 0; k < n && strcmp(s[k].name, r->name); k++)
                ;
            if (k == n && (r->available == 0 || n == DEMO_MAX_SERIES))
                continue;
            if (k == n) {
                snprintf(s[k].name, sizeof s[k].name, "%s", r->name);
                snprintf(s[k].deploy, sizeof s[k].deploy, "%s", r->deploy);
                snprintf(s[k].image, sizeof s[k].image, "%s", r->image);
                n++;
            }
            s[k].revision = r->revision;
        }
    return n;
}

static int avail_at(const struct cluster_state *st, const char *name)
{
    for (int j = 0; j < st->nrs; j++)
        if (!strcmp(st->rs[j].name, name))
            return st->rs[j].available;
    return 0;
}

static int unavailable_at(const struct cluster_state *st)
{
    int n = 0;

    for (int j = 0; j < st->nrs; j++)
        if (st->rs[j].desired > st->rs[j].available)
            n += st->rs[j].desired - st->rs[j].available;
    return n;
}

/* Pods wanted but not available (starting, not ready yet, never ready, Pending), stacked on
 * top: the surge pod of each step, the paused pod, the bad release, the GPU pod. */
static void svg_unavailable(struct buf *b, const struct demo *d, const int *base, int ymax)
{
    buf_appendf(b, "<polygon fill='url(#hatch)' stroke='#64748b' stroke-width='0.6' points='");
    for (int i = 0; i < d->nsamples; i++)
        buf_appendf(b, "%.1f,%.1f ", xs(d, d->samples[i].t),
                    RS_Y1 - (double)(RS_Y1 - RS_Y0) * (base[i] + unavailable_at(&d->samples[i])) /
                                ymax);
    for (int i = d->nsamples - 1; i >= 0; i--)
        buf_appendf(b, "%.1f,%.1f ", xs(d, d->samples[i].t),
                    RS_Y1 - (double)(RS_Y1 - RS_Y0) * base[i] / ymax);
    buf_appendf(b,
                "'><title>wanted, not available</title></polygon>\n"
                "<rect x='%d' y='%d' width='11' height='11' fill='url(#hatch)' "
                "stroke='#64748b'/><text x='%d' y='%d' class='leg'>wanted, not available "
                "(starting, not ready, Pending)</text>\n",
                PLOT_X1 - 350, RS_Y0 - 17, PLOT_X1 - 335, RS_Y0 - 7);
}

static void svg_replicas(struct buf *b, const struct demo *d)
{
    struct series s[DEMO_MAX_SERIES];
    int ns = series_collect(d, s), ymax = 1, same[DEMO_MAX_SERIES] = {0};
    int *base = calloc((size_t)d->nsamples + 1, sizeof *base);

    for (int i = 0; i < d->nsamples; i++) {
        int tot = 0;

        for (int k = 0; k < ns; k++)
            tot += avail_at(&d->samples[i], s[k].name);
        tot += unavailable_at(&d->samples[i]);
        ymax = tot > ymax ? tot : ymax;
    }
    for (int r = 0; r <= ymax; r++) {
        double y = RS_Y1 - (double)(RS_Y1 - RS_Y0) * r / ymax;

        buf_appendf(b,
                    "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' class='grid'/>"
                    "<text x='%d' y='%.1f' class='tick' text-anchor='end'>%d</text>\n",
                    PLOT_X0, PLOT_X1, y, y, PLOT_X0 - 6, y + 4, r);
    }
    for (int k = 0; k < ns; k++) {
        int nth = 0;

        for (int j = 0; j < k; j++)
            nth += !strcmp(s[j].image, s[k].image);
        same[k] = nth;
        buf_appendf(b,
                    "<polygon fill='%s' fill-opacity='%.2f' stroke='#fff' "
                    "stroke-width='0.6' points='",
                    version_color(s[k].image, version_of(d, s[k].image)), 0.9 - 0.25 * nth);
        for (int i = 0; i < d->nsamples; i++) {
            int a = avail_at(&d->samples[i], s[k].name);

            buf_appendf(b, "%.1f,%.1f ", xs(d, d->samples[i].t),
                        RS_Y1 - (double)(RS_Y1 - RS_Y0) * (base[i] + a) / ymax);
        }
        for (int i = d->nsamples - 1; i >= 0; i--)
            buf_appendf(b, "%.1f,%.1f ", xs(d, d->samples[i].t),
                        RS_Y1 - (double)(RS_Y1 - RS_Y0) * base[i] / ymax);
        buf_appendf(b, "'><title>");
        svg_esc(b, s[k].name);
        buf_appendf(b, "</title></polygon>\n");
        for (int i = 0; i < d->nsamples; i++)
            base[i] += avail_at(&d->samples[i], s[k].name);
    }
    svg_unavailable(b, d, base, ymax);
    for (int k = 0; k < ns; k++) {
        int x = PLOT_X0 + (k % 4) * 255, y = svg_height(d) - 44 + (k / 4) * 16;

        buf_appendf(b,
                    "<rect x='%d' y='%d' width='11' height='11' fill='%s' "
                    "fill-opacity='%.2f'/><text x='%d' y='%d' class='leg'>",
                    x, y - 10, version_color(s[k].image, version_of(d, s[k].image)),
                    0.9 - 0.25 * same[k], x + 15, y);
        svg_esc(b, s[k].deploy);
        buf_appendf(b, " rev %d &#183; ", s[k].revision);
        svg_esc(b, s[k].image);
        buf_appendf(b, "</text>\n");
    }
    free(base);
}

static void svg_requests(struct buf *b, const struct demo *d)
{
    int ymax = 1;
    double w = (double)(PLOT_X1 - PLOT_X0) / t_end(d);

    for (int i = 0; i < d->nsecs; i++) {
        int tot = (int)(d->secs[i].ok + d->secs[i].failed);

        ymax = tot > ymax ? tot : ymax;
    }
    for (int q = 0; q <= 4; q++) {
        double y = RQ_Y1 - (double)(RQ_Y1 - RQ_Y0) * q / 4;

        buf_appendf(b,
                    "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' class='grid'/>"
                    "<text x='%d' y='%.1f' class='tick' text-anchor='end'>%d</text>\n",
                    PLOT_X0, PLOT_X1, y, y, PLOT_X0 - 6, y + 4, ymax * q / 4);
    }
    for (int i = 0; i < d->nsecs && i + 1 <= t_end(d); i++) {
        double y = RQ_Y1, x = xs(d, i);

        for (int v = 0; v <= d->nversions; v++) {
            uint32_t n = v < d->nversions ? d->secs[i].by_version[v] : d->secs[i].failed;
            double h = (double)(RQ_Y1 - RQ_Y0) * n / ymax;

            if (!n)
                continue;
            y -= h;
            buf_appendf(b,
                        "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'>"
                        "<title>%ds: %u %s</title></rect>",
                        x, y, w > 1.2 ? w - 0.4 : w, h,
                        v < d->nversions ? version_color(d->versions[v], v) : "#dc2626", i, n,
                        v < d->nversions ? d->versions[v] : "failed");
        }
    }
    buf_appendf(b, "\n");
    for (int v = 0; v <= d->nversions; v++) {
        int x = PLOT_X1 - 360 + v * 72;

        buf_appendf(b,
                    "<rect x='%d' y='%d' width='11' height='11' fill='%s'/>"
                    "<text x='%d' y='%d' class='leg'>%s</text>\n",
                    x, RQ_Y0 - 22, v < d->nversions ? version_color(d->versions[v], v) : "#dc2626",
                    x + 15, RQ_Y0 - 12, v < d->nversions ? d->versions[v] : "failed");
    }
}

/* ---- Rollouts: traffic weight and analysis ---- */

static const char *rollout_color(int k)
{
    static const char *c[] = {"#7c3aed", "#0d9488", "#c2410c", "#be185d"};

    return c[(unsigned)k % 4];
}

static const char *mark_color(const char *phase)
{
    if (!strcmp(phase, "Successful"))
        return "#16a34a";
    if (!strcmp(phase, "Failed"))
        return "#dc2626";
    if (!strcmp(phase, "Inconclusive"))
        return "#d97706";
    return "#64748b"; /* Error */
}

static const struct ro_state *ro_at(const struct cluster_state *st, const char *name)
{
    for (int j = 0; j < st->nro; j++)
        if (!strcmp(st->ro[j].name, name))
            return &st->ro[j];
    return NULL;
}

static double wy(int weight)
{
    return WT_Y1 - (double)(WT_Y1 - WT_Y0) * weight / 100;
}

/* One update of a Rollout: samples [i0, i1] (i1 may be the first idle one: the step to 100
 * when it completed), drawn as a step line; data-steps lists the weights in order. */
static void lane_segment(struct buf *b, const struct demo *d, const char *name, int k, int i0,
                         int i1)
{
    struct buf title, steps;
    int prev = -1;

    buf_init(&title, 4096);
    buf_init(&steps, 1024);
    buf_appendf(b, "<polyline class='weight' data-rollout='");
    svg_esc(b, name);
    buf_appendf(b, "' data-demo-phase='");
    svg_esc(b, phase_at(d, d->samples[i0].t));
    buf_appendf(b, "' fill='none' stroke='%s' stroke-width='2.5' points='", rollout_color(k));
    for (int i = i0; i <= i1; i++) {
        const struct ro_state *r = ro_at(&d->samples[i], name);
        double x = xs(d, d->samples[i].t);

        if (prev >= 0)
            buf_appendf(b, "%.1f,%.1f ", x, wy(prev));
        buf_appendf(b, "%.1f,%.1f ", x, wy(r->weight));
        if (r->weight != prev) {
            buf_appendf(&steps, "%s%d", prev >= 0 ? " " : "", r->weight);
            buf_appendf(&title, "%s%d%% at %.0fs", prev >= 0 ? ", " : "", r->weight,
                        d->samples[i].t);
        }
        prev = r->weight;
    }
    buf_appendf(b, "' data-steps='%s'><title>", buf_cstr(&steps));
    svg_esc(b, name);
    buf_appendf(b, ": weight %s</title></polyline>\n", buf_cstr(&title));
    buf_release(&title);
    buf_release(&steps);
}

/* Each Rollout's updates: runs of samples where it is not idle, plus the first idle sample
 * after one (its completion). */
static void lane_weights(struct buf *b, const struct demo *d)
{
    char names[DEMO_MAX_SERIES][48];
    int n = 0;

    for (int i = 0; i < d->nsamples; i++)
        for (int j = 0; j < d->samples[i].nro; j++) {
            int k;

            for (k = 0; k < n && strcmp(names[k], d->samples[i].ro[j].name); k++)
                ;
            if (k == n && n < DEMO_MAX_SERIES)
                snprintf(names[n++], sizeof names[0], "%s", d->samples[i].ro[j].name);
        }
    for (int k = 0; k < n; k++) {
        int start = -1;

        for (int i = 0; i < d->nsamples; i++) {
            const struct ro_state *r = ro_at(&d->samples[i], names[k]);

            if (r && !r->idle && start < 0)
                start = i;
            else if (start >= 0 && (!r || r->idle)) {
                lane_segment(b, d, names[k], k, start, r ? i : i - 1);
                start = -1;
            }
        }
        if (start >= 0)
            lane_segment(b, d, names[k], k, start, d->nsamples - 1);
        if (k >= 4) /* the legend has room for four; the lines' titles name every one */
            continue;
        buf_appendf(b,
                    "<line x1='%d' x2='%d' y1='%d' y2='%d' stroke='%s' stroke-width='2.5'/>"
                    "<text x='%d' y='%d' class='leg'>",
                    PLOT_X0 + k * 150, PLOT_X0 + k * 150 + 12, WT_Y0 - 26, WT_Y0 - 26,
                    rollout_color(k), PLOT_X0 + k * 150 + 16, WT_Y0 - 22);
        svg_esc(b, names[k]);
        buf_appendf(b, "</text>\n");
    }
}

/* Measurements on one row, run outcomes (larger) on the next, coloured by phase. */
static void lane_marks(struct buf *b, const struct demo *d)
{
    static const char *phases[] = {"Successful", "Failed", "Inconclusive", "Error"};

    for (int i = 0; i < d->nmarks; i++) {
        const struct demo_mark *m = &d->marks[i];
        int run = !m->metric[0];

        buf_appendf(b, "<circle class='am %s' data-kind='%s' data-demo-phase='", m->phase,
                    run ? "run" : "measurement");
        svg_esc(b, phase_at(d, m->t));
        buf_appendf(b, "' cx='%.1f' cy='%d' r='%d' fill='%s' stroke='#fff'><title>", xs(d, m->t),
                    run ? AN_Y2 : AN_Y1, run ? 7 : 4, mark_color(m->phase));
        svg_esc(b, m->run);
        if (!run) {
            buf_appendf(b, " / ");
            svg_esc(b, m->metric);
        }
        buf_appendf(b, ": %s at %.0fs%s", m->phase, m->t, m->value[0] ? ", " : "");
        buf_appendf(b, "%s", run ? "" : m->value[0] ? "value " : "");
        svg_esc(b, m->value);
        buf_appendf(b, "</title></circle>\n");
    }
    for (int p = 0; p < 4; p++)
        buf_appendf(b,
                    "<circle cx='%d' cy='%d' r='5' fill='%s'/><text x='%d' y='%d' "
                    "class='leg'>%s</text>\n",
                    PLOT_X1 - 390 + p * 100, WT_Y0 - 26, mark_color(phases[p]),
                    PLOT_X1 - 382 + p * 100, WT_Y0 - 22, phases[p]);
    buf_appendf(b,
                "<text x='%d' y='%d' class='tick' text-anchor='end'>measured</text>"
                "<text x='%d' y='%d' class='tick' text-anchor='end'>run</text>\n",
                PLOT_X0 - 6, AN_Y1 + 4, PLOT_X0 - 6, AN_Y2 + 4);
}

static void demo_report_lane(struct buf *b, const struct demo *d)
{
    buf_appendf(b,
                "<text x='%d' y='%d' class='ttl'>Rollouts: traffic weight of the update "
                "(step line); analysis measurements and run outcomes (hover for values)</text>\n",
                PLOT_X0, WT_Y0 - 42);
    for (int w = 0; w <= 100; w += 50)
        buf_appendf(b,
                    "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' class='grid'/>"
                    "<text x='%d' y='%.1f' class='tick' text-anchor='end'>%d%%</text>\n",
                    PLOT_X0, PLOT_X1, wy(w), wy(w), PLOT_X0 - 6, wy(w) + 4, w);
    lane_weights(b, d);
    lane_marks(b, d);
}

char *demo_report_svg(struct demo *d)
{
    struct buf b;
    char *out;

    buf_init(&b, 64 << 20);
    buf_appendf(&b,
                "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 %d %d' width='%d' "
                "height='%d' font-family='sans-serif' role='img' "
                "aria-label='kroll demo timeline'>\n<style>.grid{stroke:#cbd5e1;"
                "stroke-width:0.5}.tick{font-size:11px;fill:#475569}.ph{font-size:12px;"
                "text-anchor:middle;fill:#0f172a;font-weight:bold}.good{fill:#15803d}"
                ".bad{fill:#dc2626}.leg{font-size:12px;fill:#0f172a}.ttl{font-size:14px;"
                "font-weight:bold;fill:#0f172a}</style>\n"
                "<defs><pattern id='hatch' width='6' height='6' "
                "patternUnits='userSpaceOnUse' patternTransform='rotate(45)'><rect "
                "width='6' height='6' fill='#f8fafc'/><line x1='0' y1='0' x2='0' y2='6' "
                "stroke='#94a3b8' stroke-width='2.5'/></pattern></defs>\n"
                "<rect width='100%%' height='100%%' fill='#ffffff'/>\n",
                SVG_W, svg_height(d), SVG_W, svg_height(d));
    svg_phases(&b, d);
    svg_axis(&b, d);
    buf_appendf(&b,
                "<text x='%d' y='%d' class='ttl'>Available replicas per ReplicaSet "
                "(revision), stacked</text>\n",
                PLOT_X0, RS_Y0 - 6);
    svg_replicas(&b, d);
    buf_appendf(&b,
                "<text x='%d' y='%d' class='ttl'>Requests per second through the "
                "Service, by X-Model-Version; failed in red</text>\n",
                PLOT_X0, RQ_Y0 - 12);
    svg_requests(&b, d);
    if (has_lane(d))
        demo_report_lane(&b, d);
    buf_appendf(&b,
                "<text x='%d' y='%d' class='tick'>Top band: phase number and failed "
                "requests in it. Phases:",
                PLOT_X0, BAND_Y - 8);
    for (int i = 0; i < d->nphases; i++)
        buf_appendf(&b, " %d %s%s", i + 1, d->phases[i].name, i + 1 < d->nphases ? "," : "");
    buf_appendf(&b, "</text>\n</svg>\n");
    out = xstrdup(buf_cstr(&b));
    buf_release(&b);
    return out;
}

/* ---- HTML ---- */

static void html_table(struct buf *b, struct demo *d)
{
    buf_appendf(b, "<table><tr><th>#</th><th>phase</th><th>zero-downtime</th><th>duration</th>"
                   "<th>requests</th><th>failed</th><th>p50 ms</th><th>p99 ms</th>"
                   "<th>answered by</th><th>steps</th></tr>\n");
    for (int i = 0; i < d->nphases; i++) {
        const struct demo_phase *ph = &d->phases[i];
        char vers[128];
        int bad = ph->zero_downtime && !zd_phase_ok(ph);

        phase_versions(d, &ph->c, vers, sizeof vers);
        buf_appendf(b, "<tr><td>%d</td><td><b>", i + 1);
        svg_esc(b, ph->name);
        buf_appendf(b, "</b><br><small>");
        svg_esc(b, ph->title);
        buf_appendf(b, "<br>");
        svg_esc(b, ph->why);
        if (ph->note[0]) {
            buf_appendf(b, "<br><i>");
            svg_esc(b, ph->note);
            buf_appendf(b, "</i>");
        }
        buf_appendf(b,
                    "</small></td><td>%s</td><td>%.1f s</td><td>%llu</td>"
                    "<td class='%s'>%llu</td><td>%.1f</td><td>%.1f</td><td>%s</td>"
                    "<td>%s</td></tr>\n",
                    ph->zero_downtime ? "yes" : "no", ph->t_end - ph->t_start,
                    (unsigned long long)ph->c.requests, bad ? "bad" : "",
                    (unsigned long long)ph->c.failed, load_percentile_us(&ph->c, 0.5) / 1000,
                    load_percentile_us(&ph->c, 0.99) / 1000, vers,
                    ph->check_ok ? "as expected" : "<span class='bad'>UNEXPECTED</span>");
    }
    buf_appendf(b, "</table>\n");
}

/* The AnalysisRuns' outcomes with their measurements counted by phase. */
static void html_analysis(struct buf *b, const struct demo *d)
{
    int any = 0;

    for (int i = 0; i < d->nmarks; i++) {
        const struct demo_mark *r = &d->marks[i];
        int ok = 0, bad = 0, other = 0;

        if (r->metric[0])
            continue;
        if (!any++)
            buf_appendf(b, "<h2>Analysis runs</h2>\n<table><tr><th>run</th><th>phase</th>"
                           "<th>outcome</th><th>at</th><th>measurements</th><th>message</th>"
                           "</tr>\n");
        for (int j = 0; j < d->nmarks; j++)
            if (d->marks[j].metric[0] && !strcmp(d->marks[j].run, r->run)) {
                ok += !strcmp(d->marks[j].phase, "Successful");
                bad += !strcmp(d->marks[j].phase, "Failed");
                other +=
                    strcmp(d->marks[j].phase, "Successful") && strcmp(d->marks[j].phase, "Failed");
            }
        buf_appendf(b, "<tr><td>");
        svg_esc(b, r->run);
        buf_appendf(b, "</td><td>");
        svg_esc(b, phase_at(d, r->t));
        buf_appendf(b,
                    "</td><td class='%s'>%s</td><td>%.0f s</td><td>%d successful, %d failed, "
                    "%d other</td><td><small>",
                    strcmp(r->phase, "Successful") ? "bad" : "pass", r->phase, r->t, ok, bad,
                    other);
        svg_esc(b, r->value);
        buf_appendf(b, "</small></td></tr>\n");
    }
    if (any)
        buf_appendf(b, "</table>\n");
}

int demo_report_write(struct demo *d)
{
    struct buf b;
    char when[64], *svg = demo_report_svg(d);
    time_t now = time(NULL);
    int zd_ok = 1, rc;

    for (int i = 0; i < d->nphases; i++)
        if (d->phases[i].zero_downtime && !zd_phase_ok(&d->phases[i]))
            zd_ok = 0;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&now));
    buf_init(&b, 64 << 20);
    buf_appendf(&b,
                "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                "<title>kroll demo report</title><style>body{font-family:sans-serif;"
                "margin:24px;color:#0f172a;max-width:1140px}table{border-collapse:collapse;"
                "margin:12px 0}td,th{border:1px solid #cbd5e1;padding:4px 8px;"
                "vertical-align:top;text-align:left}small{color:#475569}.bad{color:#dc2626;"
                "font-weight:bold}.pass{color:#15803d;font-weight:bold}</style></head>"
                "<body>\n<h1>kroll demo</h1>\n<p>%s &#183; %.0f s &#183; %llu requests, "
                "%llu failed &#183; zero-downtime phases: <span class='%s'>%s</span></p>\n",
                when, t_end(d), (unsigned long long)d->total.requests,
                (unsigned long long)d->total.failed, zd_ok ? "pass" : "bad",
                zd_ok ? "no failed request (PASS)" : "FAILED");
    buf_appendf(&b, "<h2>Timeline</h2>\n%s\n<h2>Phases</h2>\n", svg);
    html_table(&b, d);
    html_analysis(&b, d);
    if (d->steps_failed) {
        buf_appendf(&b, "<h2 class='bad'>Unexpected</h2><pre>");
        svg_esc(&b, d->failed_steps);
        buf_appendf(&b, "</pre>\n");
    }
    buf_appendf(&b, "<p><small>Traffic: the demo's load generator, keep-alive HTTP/1.1 through "
                    "the Service clusterIP, GET /v1/models/classifier and POST :predict "
                    "alternating. A failure is what a client without retries sees: a non-2xx "
                    "answer, a refused or broken connection with a request in flight, or no "
                    "answer within 2 s. Data dir: ");
    svg_esc(&b, d->data_dir);
    buf_appendf(&b, "</small></p>\n</body></html>\n");
    rc = file_write_atomic(d->report_path, b.data, b.len, 0644);
    buf_release(&b);
    free(svg);
    return rc < 0 ? -1 : 0;
}
