/* The PromQL subset's evaluator and its Prometheus-shaped answers (promql.h). */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/promql-int.h"

struct val {
    enum pq_type type;
    double s;
    struct promql_vec v;
};

struct ev {
    promql_select_fn *fn;
    void *ctx;
    char msg[512];
    int bad; /* 1: bad_data (the source refused a range), 0: execution */
};

/* ---- vectors ---- */

static void series_release(struct promql_series *s)
{
    for (int i = 0; i < s->nlabels; i++) {
        free(s->labels[i].name);
        free(s->labels[i].value);
    }
    s->nlabels = 0;
}

void promql_vec_release(struct promql_vec *v)
{
    for (int i = 0; i < v->n; i++)
        series_release(&v->s[i]);
    free(v->s);
    memset(v, 0, sizeof *v);
}

struct promql_series *promql_vec_push(struct promql_vec *v, double val)
{
    struct promql_series *s;

    if (v->n >= PROMQL_MAX_SERIES)
        return NULL;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->s = xrealloc(v->s, (size_t)v->cap * sizeof *v->s);
    }
    s = &v->s[v->n++];
    memset(s, 0, sizeof *s);
    s->v = val;
    return s;
}

int promql_series_set(struct promql_series *s, const char *name, const char *value)
{
    for (int i = 0; i < s->nlabels; i++)
        if (!strcmp(s->labels[i].name, name)) {
            free(s->labels[i].value);
            s->labels[i].value = xstrdup(value);
            return 0;
        }
    if (s->nlabels == PROMQL_MAX_LABELS)
        return -1;
    s->labels[s->nlabels].name = xstrdup(name);
    s->labels[s->nlabels++].value = xstrdup(value);
    return 0;
}

const char *promql_series_get(const struct promql_series *s, const char *name)
{
    for (int i = 0; i < s->nlabels; i++)
        if (!strcmp(s->labels[i].name, name))
            return s->labels[i].value;
    return "";
}

static void series_del(struct promql_series *s, const char *name)
{
    for (int i = 0; i < s->nlabels; i++)
        if (!strcmp(s->labels[i].name, name)) {
            free(s->labels[i].name);
            free(s->labels[i].value);
            s->labels[i] = s->labels[--s->nlabels];
            return;
        }
}

static int label_cmp(const void *a, const void *b)
{
    return strcmp(((const struct promql_label *)a)->name, ((const struct promql_label *)b)->name);
}

static void series_sort(struct promql_series *s)
{
    qsort(s->labels, (size_t)s->nlabels, sizeof s->labels[0], label_cmp);
}

/* The series' labels (sorted) as one comparable key: name=value pairs, NUL-separated fields. */
static char *series_key(const struct promql_series *s)
{
    struct promql_series t = *s;
    size_t len = 1;
    char *k, *p;

    qsort(t.labels, (size_t)t.nlabels, sizeof t.labels[0], label_cmp);
    for (int i = 0; i < t.nlabels; i++)
        len += strlen(t.labels[i].name) + strlen(t.labels[i].value) + 2;
    p = k = xmalloc(len);
    for (int i = 0; i < t.nlabels; i++)
        p += sprintf(p, "%s=%s%c", t.labels[i].name, t.labels[i].value, 1);
    *p = 0;
    return k;
}

static int in_list(char *const *l, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(l[i], name))
            return 1;
    return 0;
}

/* A copy of s's labels: keep only those in l (keep), or drop those in l and __name__. */
static int series_copy_labels(struct promql_series *dst, const struct promql_series *s,
                              char *const *l, int n, int keep)
{
    for (int i = 0; i < s->nlabels; i++) {
        const char *name = s->labels[i].name;

        if (keep ? !in_list(l, n, name) : in_list(l, n, name) || !strcmp(name, "__name__"))
            continue;
        if (promql_series_set(dst, name, s->labels[i].value) < 0)
            return -1;
    }
    return 0;
}

static int too_many(struct ev *ev)
{
    snprintf(ev->msg, sizeof ev->msg, "the query would produce more than %d series",
             PROMQL_MAX_SERIES);
    return -1;
}

/* ---- selectors ---- */

static int matches(const struct pq_matcher *m, const char *v)
{
    switch (m->op) {
    case PQ_EQ:
        return !strcmp(v, m->value);
    case PQ_NE:
        return strcmp(v, m->value) != 0;
    case PQ_RE:
        return regexec(&m->re, v, 0, NULL, 0) == 0;
    case PQ_NRE:
        return regexec(&m->re, v, 0, NULL, 0) != 0;
    }
    return 0;
}

static int eval_select(struct ev *ev, const struct promql_expr *e, struct val *out)
{
    struct promql_vec all = {0};
    int rc = 0, k = 0;

    out->type = PQ_VECTOR;
    if (ev->fn &&
        (rc = ev->fn(e->metric, e->range_s, &all, ev->msg, sizeof ev->msg, ev->ctx)) < 0) {
        ev->bad = rc == -1;
        promql_vec_release(&all);
        return -1;
    }
    for (int i = 0; i < all.n; i++) {
        int ok = 1;

        for (int j = 0; j < e->nm && ok; j++)
            ok = matches(&e->m[j], promql_series_get(&all.s[i], e->m[j].name));
        if (!ok || (e->range_s == 0 && promql_series_set(&all.s[i], "__name__", e->metric) < 0)) {
            series_release(&all.s[i]);
            continue;
        }
        all.s[k++] = all.s[i];
    }
    all.n = k;
    out->v = all;
    return rc;
}

/* ---- aggregation ---- */

static double agg_step(int agg, double acc, double v, int first)
{
    if (first)
        return agg == PQ_COUNT ? 1 : v;
    switch (agg) {
    case PQ_SUM:
    case PQ_AVG:
        return acc + v;
    case PQ_MIN:
        return v < acc || isnan(acc) ? v : acc;
    case PQ_MAX:
        return v > acc || isnan(acc) ? v : acc;
    default:
        return acc + 1;
    }
}

/* The index of key in groups (a JSON object used as a hash table), or -1 after adding it
 * with index next. */
static int group_of(json_t *groups, const char *key, int next)
{
    json_t *v = json_object_get(groups, key);

    if (v)
        return (int)json_integer_value(v);
    json_object_set_new_nocheck(groups, key, json_integer(next));
    return -1;
}

static int eval_agg(struct ev *ev, const struct promql_expr *e, struct val *in, struct val *out)
{
    int *count = xcalloc((size_t)in->v.n + 1, sizeof *count);
    json_t *groups = json_object();
    int rc = 0;

    out->type = PQ_VECTOR;
    for (int i = 0; i < in->v.n && rc == 0; i++) {
        struct promql_series g = {0}, *s;
        char *key;
        int j;

        series_copy_labels(&g, &in->v.s[i], (char *const *)e->grp, e->ngrp, !e->without);
        key = series_key(&g);
        j = group_of(groups, key, out->v.n);
        free(key);
        if (j >= 0) {
            series_release(&g);
            out->v.s[j].v = agg_step(e->agg, out->v.s[j].v, in->v.s[i].v, 0);
            count[j]++;
        } else if (!(s = promql_vec_push(&out->v, 0))) {
            series_release(&g);
            rc = too_many(ev);
        } else {
            *s = g;
            s->v = agg_step(e->agg, 0, in->v.s[i].v, 1);
            count[out->v.n - 1] = 1;
        }
    }
    for (int j = 0; j < out->v.n && e->agg == PQ_AVG; j++)
        out->v.s[j].v /= count[j];
    json_decref(groups);
    free(count);
    return rc;
}

/* ---- histogram_quantile, as Prometheus' bucketQuantile ---- */

struct bucket {
    double le, count;
};

static int bucket_cmp(const void *a, const void *b)
{
    double x = ((const struct bucket *)a)->le, y = ((const struct bucket *)b)->le;

    return x < y ? -1 : x > y;
}

static double bucket_quantile(double q, struct bucket *b, int n)
{
    double rank, obs, start, end, count;
    int i, k = 0;

    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    if (n < 2)
        return NAN;
    qsort(b, (size_t)n, sizeof *b, bucket_cmp);
    if (!isinf(b[n - 1].le))
        return NAN;
    for (i = 0; i < n; i++) { /* coalesce equal bounds, then force monotonic counts */
        if (k && b[k - 1].le == b[i].le)
            b[k - 1].count += b[i].count;
        else
            b[k++] = b[i];
    }
    n = k;
    for (i = 1; i < n; i++)
        if (b[i].count < b[i - 1].count)
            b[i].count = b[i - 1].count;
    obs = b[n - 1].count;
    if (obs == 0 || isnan(obs))
        return NAN;
    rank = q * obs;
    for (i = 0; i < n - 1 && b[i].count < rank; i++)
        ;
    if (i == n - 1)
        return b[n - 2].le;
    if (i == 0 && b[0].le <= 0)
        return b[0].le;
    start = i ? b[i - 1].le : 0;
    end = b[i].le;
    count = b[i].count;
    if (i) {
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    return start + (end - start) * (rank / count);
}

static int eval_hquantile(double q, struct val *in, struct val *out)
{
    char *grp[] = {"le"};
    int *of = xcalloc((size_t)in->v.n + 1, sizeof *of), *nb;
    struct bucket **b;
    json_t *groups = json_object();

    out->type = PQ_VECTOR;
    for (int i = 0; i < in->v.n; i++) { /* each bucket's group: its labels but le */
        struct promql_series g = {0};
        const char *le = promql_series_get(&in->v.s[i], "le");
        char *end, *key;

        of[i] = -1;
        strtod(le, &end);
        if (!*le || *end) /* no le: not a bucket, ignored as Prometheus does */
            continue;
        series_copy_labels(&g, &in->v.s[i], grp, 1, 0);
        key = series_key(&g);
        of[i] = group_of(groups, key, out->v.n);
        free(key);
        if (of[i] >= 0) {
            series_release(&g);
        } else {
            of[i] = out->v.n;
            *promql_vec_push(&out->v, 0) = g; /* no more groups than input series */
        }
    }
    nb = xcalloc((size_t)out->v.n + 1, sizeof *nb);
    b = xcalloc((size_t)out->v.n + 1, sizeof *b);
    for (int i = 0; i < in->v.n; i++)
        if (of[i] >= 0) {
            int j = of[i];

            b[j] = xrealloc(b[j], (size_t)(nb[j] + 1) * sizeof *b[j]);
            b[j][nb[j]++] =
                (struct bucket){strtod(promql_series_get(&in->v.s[i], "le"), NULL), in->v.s[i].v};
        }
    for (int j = 0; j < out->v.n; j++) {
        out->v.s[j].v = bucket_quantile(q, b[j], nb[j]);
        free(b[j]);
    }
    json_decref(groups);
    free(b);
    free(nb);
    free(of);
    return 0;
}

/* ---- arithmetic ---- */

static double arith(char op, double a, double b)
{
    switch (op) {
    case '+':
        return a + b;
    case '-':
        return a - b;
    case '*':
        return a * b;
    case '/':
        return a / b;
    case '%':
        return fmod(a, b);
    default:
        return pow(a, b);
    }
}

/* The matching signature of s for a vector-vector operation. */
static char *signature(const struct promql_expr *e, const struct promql_series *s)
{
    struct promql_series g = {0};
    char *k;

    series_copy_labels(&g, s, (char *const *)e->grp, e->ngrp, e->matching == 1);
    k = series_key(&g);
    series_release(&g);
    return k;
}

static int eval_vv(struct ev *ev, const struct promql_expr *e, struct val *l, struct val *r,
                   struct val *out)
{
    json_t *right = json_object(), *seen = json_object();
    int rc = 0;

    for (int j = 0; j < r->v.n && rc == 0; j++) {
        char *k = signature(e, &r->v.s[j]);

        if (group_of(right, k, j) >= 0) {
            snprintf(ev->msg, sizeof ev->msg,
                     "found duplicate series for the match group on the right hand-side of the "
                     "operation: many-to-many matching not allowed");
            rc = -1;
        }
        free(k);
    }
    for (int i = 0; i < l->v.n && rc == 0; i++) {
        char *k = signature(e, &l->v.s[i]);
        json_t *m = json_object_get(right, k);
        struct promql_series *s;

        free(k);
        if (!m)
            continue;
        s = promql_vec_push(&out->v, arith(e->op, l->v.s[i].v, r->v.s[json_integer_value(m)].v));
        if (!s) {
            rc = too_many(ev);
            break;
        }
        series_copy_labels(s, &l->v.s[i], (char *const *)e->grp, e->ngrp, e->matching == 1);
        k = series_key(s);
        if (group_of(seen, k, 0) >= 0) { /* one-to-one: two left series met one right one */
            snprintf(ev->msg, sizeof ev->msg,
                     "vector cannot contain metrics with the same labelset");
            rc = -1;
        }
        free(k);
    }
    json_decref(right);
    json_decref(seen);
    return rc;
}

static int eval_bin(struct ev *ev, const struct promql_expr *e, struct val *l, struct val *r,
                    struct val *out)
{
    if (l->type == PQ_SCALAR && r->type == PQ_SCALAR) {
        out->type = PQ_SCALAR;
        out->s = arith(e->op, l->s, r->s);
        return 0;
    }
    out->type = PQ_VECTOR;
    if (l->type == PQ_VECTOR && r->type == PQ_VECTOR)
        return eval_vv(ev, e, l, r, out);
    {
        struct val *v = l->type == PQ_VECTOR ? l : r;

        out->v = v->v;
        memset(&v->v, 0, sizeof v->v);
        for (int i = 0; i < out->v.n; i++) {
            struct promql_series *s = &out->v.s[i];

            s->v = l->type == PQ_VECTOR ? arith(e->op, s->v, r->s) : arith(e->op, l->s, s->v);
            series_del(s, "__name__");
        }
    }
    return 0;
}

/* ---- the walk ---- */

static void val_release(struct val *v)
{
    promql_vec_release(&v->v);
}

static int eval(struct ev *ev, const struct promql_expr *e, struct val *out);

static int eval_call(struct ev *ev, const struct promql_expr *e, struct val *out)
{
    struct val a = {0}, b = {0};
    int rc;

    if ((rc = eval(ev, e->a[0], &a)) < 0 || (e->na > 1 && (rc = eval(ev, e->a[1], &b)) < 0))
        goto out;
    out->type = e->type;
    switch (e->fn) {
    case PQ_RATE:
    case PQ_INCREASE:
        out->v = a.v;
        memset(&a.v, 0, sizeof a.v);
        for (int i = 0; i < out->v.n; i++)
            if (e->fn == PQ_RATE)
                out->v.s[i].v /= e->a[0]->range_s;
        break;
    case PQ_HQUANTILE:
        rc = eval_hquantile(a.s, &b, out);
        break;
    case PQ_SCALARFN:
        out->s = a.v.n == 1 ? a.v.s[0].v : NAN;
        break;
    case PQ_VECTORFN:
        promql_vec_push(&out->v, a.s);
        break;
    case PQ_ABS:
        out->v = a.v;
        memset(&a.v, 0, sizeof a.v);
        for (int i = 0; i < out->v.n; i++) {
            out->v.s[i].v = fabs(out->v.s[i].v);
            series_del(&out->v.s[i], "__name__");
        }
        break;
    }
out:
    val_release(&a);
    val_release(&b);
    return rc;
}

static int eval(struct ev *ev, const struct promql_expr *e, struct val *out)
{
    struct val a = {0}, b = {0};
    int rc = 0;

    memset(out, 0, sizeof *out);
    switch (e->kind) {
    case PQ_NUM:
        out->type = PQ_SCALAR;
        out->s = e->num;
        return 0;
    case PQ_SEL:
        return eval_select(ev, e, out);
    case PQ_CALL:
        return eval_call(ev, e, out);
    case PQ_NEG:
        if ((rc = eval(ev, e->a[0], out)) < 0)
            return rc;
        out->s = -out->s;
        for (int i = 0; i < out->v.n; i++) {
            out->v.s[i].v = -out->v.s[i].v;
            series_del(&out->v.s[i], "__name__");
        }
        return 0;
    case PQ_AGG:
        if ((rc = eval(ev, e->a[0], &a)) == 0)
            rc = eval_agg(ev, e, &a, out);
        break;
    case PQ_BIN:
        if ((rc = eval(ev, e->a[0], &a)) == 0 && (rc = eval(ev, e->a[1], &b)) == 0)
            rc = eval_bin(ev, e, &a, &b, out);
        break;
    }
    val_release(&a);
    val_release(&b);
    return rc;
}

/* ---- answers ---- */

/* A sample value as Prometheus prints one (Go's FormatFloat(v, 'f', -1, 64)). */
static json_t *value_string(double v)
{
    char buf[400];

    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "+Inf" : "-Inf");
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (strchr(buf, 'e')) { /* no exponent: as many decimals as it takes, then trimmed */
        for (int d = 0; d <= 340; d++) {
            snprintf(buf, sizeof buf, "%.*f", d, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
    return json_string(buf);
}

static json_t *metric_json(const struct promql_series *s)
{
    json_t *m = json_object();

    for (int i = 0; i < s->nlabels; i++)
        json_object_set_new(m, s->labels[i].name, json_string(s->labels[i].value));
    return m;
}

static int series_cmp(const void *a, const void *b)
{
    char *x = series_key(a), *y = series_key(b);
    int c = strcmp(x, y);

    free(x);
    free(y);
    return c;
}

static char *answer(const struct val *v, double ts)
{
    json_t *res, *doc;
    char *txt;

    if (v->type == PQ_SCALAR) {
        res = json_pack("[f,o]", ts, value_string(v->s));
    } else {
        res = json_array();
        if (v->v.n > 1)
            qsort(v->v.s, (size_t)v->v.n, sizeof *v->v.s, series_cmp);
        for (int i = 0; i < v->v.n; i++) {
            series_sort(&v->v.s[i]);
            json_array_append_new(res, json_pack("{s:o,s:[f,o]}", "metric", metric_json(&v->v.s[i]),
                                                 "value", ts, value_string(v->v.s[i].v)));
        }
    }
    doc = json_pack("{s:s,s:{s:s,s:o}}", "status", "success", "data", "resultType",
                    v->type == PQ_SCALAR ? "scalar" : "vector", "result", res);
    txt = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(13));
    json_decref(doc);
    return txt;
}

static char *error_doc(const char *type, const char *msg)
{
    char clean[512];
    json_t *doc;
    char *txt;
    size_t i;

    for (i = 0; msg[i] && i < sizeof clean - 1; i++) /* the query's bytes may be any bytes */
        clean[i] = (unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] > 0x7e ? '?' : msg[i];
    clean[i] = 0;
    doc = json_pack("{s:s,s:s,s:s}", "status", "error", "errorType", type, "error", clean);
    txt = json_dumps(doc, JSON_COMPACT);

    json_decref(doc);
    return txt;
}

int promql_query(const char *q, double ts, promql_select_fn *fn, void *ctx, char **body)
{
    struct ev ev = {.fn = fn, .ctx = ctx};
    char msg[512];
    struct promql_expr *e = promql_parse(q, msg, sizeof msg);
    struct val v;
    int rc;

    if (e && e->type == PQ_MATRIX) {
        promql_expr_free(e);
        e = NULL;
        snprintf(msg, sizeof msg,
                 "a range vector is not supported as the answer: wrap it in "
                 "rate() or increase()");
    }
    if (!e) {
        *body = error_doc("bad_data", msg);
        return 400;
    }
    rc = eval(&ev, e, &v);
    promql_expr_free(e);
    if (rc < 0) {
        val_release(&v);
        *body = error_doc(ev.bad ? "bad_data" : "execution", ev.msg);
        return ev.bad ? 400 : 422;
    }
    *body = answer(&v, ts);
    val_release(&v);
    return 200;
}

/* ---- the process-wide source ---- */

static pthread_rwlock_t source_lock = PTHREAD_RWLOCK_INITIALIZER;
static promql_select_fn *source_fn;
static void *source_ctx;

void promql_set_source(promql_select_fn *fn, void *ctx)
{
    pthread_rwlock_wrlock(&source_lock);
    source_fn = fn;
    source_ctx = ctx;
    pthread_rwlock_unlock(&source_lock);
}

int promql_query_default(const char *q, double ts, char **body)
{
    int rc;

    pthread_rwlock_rdlock(&source_lock);
    rc = promql_query(q, ts, source_fn, source_ctx, body);
    pthread_rwlock_unlock(&source_lock);
    return rc;
}
