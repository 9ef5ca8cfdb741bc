/* The AnalysisRun decisions of analysis.h: pure functions over metrics and their results. */
#include "controllers/analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dur.h"
#include "core/expr.h"
#include "core/jx.h"

static const char *const phase_names[] = {"Successful",   "Running", "Pending",
                                          "Inconclusive", "Error",   "Failed"};

const char *anl_phase_name(int phase)
{
    return phase >= 0 && phase <= AP_FAILED ? phase_names[phase] : "Pending";
}

int anl_phase_parse(const char *s)
{
    if (!s || !*s)
        return AP_PENDING;
    for (int i = 0; i <= AP_FAILED; i++)
        if (!strcmp(s, phase_names[i]))
            return i;
    return -1;
}

int anl_phase_completed(int phase)
{
    return phase == AP_SUCCESSFUL || phase == AP_INCONCLUSIVE || phase == AP_ERROR ||
           phase == AP_FAILED;
}

/* An IntOrString field: *v unchanged when absent; -1 when not an integer. */
static int ios(const json_t *m, const char *key, long long *v)
{
    const json_t *x = json_object_get(m, key);
    char *end;

    if (!x || json_is_null(x))
        return 0;
    if (json_is_integer(x)) {
        *v = json_integer_value(x);
        return 0;
    }
    if (!json_is_string(x))
        return -1;
    *v = strtoll(json_string_value(x), &end, 10);
    return *json_string_value(x) && !*end ? 0 : -1;
}

static int dur(const json_t *m, const char *key, int64_t *ms)
{
    const char *s = json_string_value(json_object_get(m, key));

    if (!s || !*s)
        return 0;
    return dur_parse(s, ms) < 0 || *ms < 0 ? -1 : 0;
}

int anl_metric_read(const json_t *m, size_t index, struct anl_metric *out, char *msg, size_t n)
{
    static const char *const limits[] = {"count", "failureLimit", "inconclusiveLimit",
                                         "consecutiveErrorLimit", "consecutiveSuccessLimit"};
    long long *dst[] = {&out->count, &out->failure_limit, &out->inconclusive_limit,
                        &out->consecutive_error_limit, &out->consecutive_success_limit};

    memset(out, 0, sizeof *out);
    out->name = json_string_value(json_object_get(m, "name")) ?: "";
    out->interval_ms = -1;
    out->count = -1;
    out->consecutive_error_limit = ANL_DEFAULT_CONSECUTIVE_ERROR_LIMIT;
    out->success = json_string_value(json_object_get(m, "successCondition"));
    out->failure = json_string_value(json_object_get(m, "failureCondition"));
    if (out->success && !*out->success)
        out->success = NULL;
    if (out->failure && !*out->failure)
        out->failure = NULL;
    if (dur(m, "interval", &out->interval_ms) < 0) {
        snprintf(msg, n, "metrics[%zu]: invalid interval string", index);
        return -1;
    }
    if (!json_string_value(json_object_get(m, "interval")))
        out->interval_ms = -1;
    if (dur(m, "initialDelay", &out->initial_delay_ms) < 0) {
        snprintf(msg, n, "metrics[%zu]: invalid startDelay string", index);
        return -1;
    }
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        if (ios(m, limits[i], dst[i]) < 0) {
            snprintf(msg, n, "metrics[%zu]: %s must be an integer", index, limits[i]);
            return -1;
        }
    if (out->count < 0) /* neither: one measurement; interval alone: unbounded */
        out->count = out->interval_ms < 0 ? 1 : 0;
    if (out->count > 1 && out->interval_ms < 0) {
        snprintf(msg, n,
                 "metrics[%zu]: More than one measurement was specified, but no interval was "
                 "specified",
                 index);
        return -1;
    }
    return 0;
}

int anl_evaluate(const struct anl_metric *m, const json_t *result, unsigned flags, char *msg,
                 size_t n)
{
    char err[256];
    int ok = -1, bad = -1;
    int empty =
        !result || json_is_null(result) || (json_is_array(result) && json_array_size(result) == 0);

    if (m->failure && (bad = expr_eval_bool(m->failure, result, flags, err, sizeof err)) < 0) {
        snprintf(msg, n, "could not evaluate failureCondition \"%s\": %s%s", m->failure, err,
                 empty ? ": metric result is nil or empty: no data returned from the metric "
                         "provider"
                       : "");
        return AP_ERROR;
    }
    if (m->success && (ok = expr_eval_bool(m->success, result, flags, err, sizeof err)) < 0) {
        snprintf(msg, n, "could not evaluate successCondition \"%s\": %s%s", m->success, err,
                 empty ? ": metric result is nil or empty: no data returned from the metric "
                         "provider"
                       : "");
        return AP_ERROR;
    }
    if (!m->success && !m->failure)
        return AP_SUCCESSFUL;
    if (m->success && !m->failure)
        return ok ? AP_SUCCESSFUL : AP_FAILED;
    if (!m->success)
        return bad ? AP_FAILED : AP_SUCCESSFUL;
    if (bad)
        return AP_FAILED;
    return ok ? AP_SUCCESSFUL : AP_INCONCLUSIVE;
}

static void bump(json_t *mr, const char *key, int by_reset)
{
    json_int_t v = by_reset ? 0 : jx_int(mr, key, 0) + 1;

    json_object_set_new(mr, key, json_integer(v));
}

void anl_count(json_t *mr, int phase)
{
    if (phase != AP_ERROR)
        bump(mr, "count", 0);
    switch (phase) {
    case AP_SUCCESSFUL:
        bump(mr, "successful", 0);
        break;
    case AP_FAILED:
        bump(mr, "failed", 0);
        break;
    case AP_INCONCLUSIVE:
        bump(mr, "inconclusive", 0);
        break;
    case AP_ERROR:
        bump(mr, "error", 0);
        break;
    default:
        break;
    }
    bump(mr, "consecutiveError", phase != AP_ERROR);
    if (phase != AP_ERROR)
        bump(mr, "consecutiveSuccess", phase != AP_SUCCESSFUL);
}

int anl_assess(const struct anl_metric *m, const json_t *mr, char *msg, size_t n)
{
    long long failed = jx_int(mr, "failed", 0), inconc = jx_int(mr, "inconclusive", 0),
              cerr = jx_int(mr, "consecutiveError", 0), count = jx_int(mr, "count", 0),
              csucc = jx_int(mr, "consecutiveSuccess", 0);

    msg[0] = 0;
    if (m->failure_limit >= 0 && failed > m->failure_limit) {
        snprintf(msg, n, "Metric \"%s\" assessed Failed due to failed (%lld) > failureLimit (%lld)",
                 m->name, failed, m->failure_limit);
        return AP_FAILED;
    }
    if (inconc > m->inconclusive_limit) {
        snprintf(msg, n,
                 "Metric \"%s\" assessed Inconclusive due to inconclusive (%lld) > "
                 "inconclusiveLimit (%lld)",
                 m->name, inconc, m->inconclusive_limit);
        return AP_INCONCLUSIVE;
    }
    if (cerr > m->consecutive_error_limit) {
        snprintf(msg, n,
                 "Metric \"%s\" assessed Error due to consecutiveErrors (%lld) > "
                 "consecutiveErrorLimit (%lld)",
                 m->name, cerr, m->consecutive_error_limit);
        return AP_ERROR;
    }
    if (m->consecutive_success_limit > 0 && csucc >= m->consecutive_success_limit)
        return AP_SUCCESSFUL;
    if (m->count > 0 && count >= m->count) {
        if (m->consecutive_success_limit > 0) {
            snprintf(msg, n,
                     "Metric \"%s\" assessed %s due to consecutiveSuccess (%lld) < "
                     "consecutiveSuccessLimit (%lld) after %lld measurements",
                     m->name, m->failure_limit < 0 ? "Failed" : "Inconclusive", csucc,
                     m->consecutive_success_limit, count);
            return m->failure_limit < 0 ? AP_FAILED : AP_INCONCLUSIVE;
        }
        return AP_SUCCESSFUL;
    }
    return AP_RUNNING;
}

int64_t anl_next_due(const struct anl_metric *m, const json_t *mr, int64_t started_ms)
{
    const json_t *ms = json_object_get(mr, "measurements");
    const json_t *last = json_array_get(ms, json_array_size(ms) - 1);
    int64_t wait;
    time_t fin;

    if (!last)
        return started_ms + m->initial_delay_ms;
    fin = time_parse(jx_str(last, "finishedAt"));
    if (fin < 0)
        return 0;
    if (!strcmp(jx_str(last, "phase") ?: "", "Error")) {
        wait = ANL_ERROR_RETRY_MS;
        if (m->interval_ms >= 0 && m->interval_ms < wait)
            wait = m->interval_ms;
    } else if (m->interval_ms >= 0) {
        wait = m->interval_ms;
    } else {
        return -1;
    }
    return (int64_t)fin * 1000 + wait;
}

static void tally(json_t *sum, int phase)
{
    static const char *const keys[] = {[AP_SUCCESSFUL] = "successful",
                                       [AP_FAILED] = "failed",
                                       [AP_INCONCLUSIVE] = "inconclusive",
                                       [AP_ERROR] = "error"};

    json_object_set_new(sum, "count", json_integer(jx_int(sum, "count", 0) + 1));
    if (phase != AP_RUNNING && phase != AP_PENDING)
        json_object_set_new(sum, keys[phase], json_integer(jx_int(sum, keys[phase], 0) + 1));
}

int anl_run_phase(const json_t *results, int terminate, char *msg, size_t n, json_t *summary,
                  json_t *dry)
{
    int worst = AP_SUCCESSFUL, running = 0;
    const json_t *mr;
    size_t i;

    msg[0] = 0;
    json_array_foreach(results, i, mr)
    {
        int p = anl_phase_parse(jx_str(mr, "phase"));

        if (p < 0)
            p = AP_PENDING;
        if (terminate && !anl_phase_completed(p))
            p = AP_SUCCESSFUL;
        if (jx_bool(mr, "dryRun")) { /* never decides the phase, but the run waits for it */
            tally(dry, p);
            running |= !anl_phase_completed(p);
            continue;
        }
        tally(summary, p);
        if (!anl_phase_completed(p)) {
            running = 1;
            continue;
        }
        if (p > worst) {
            worst = p;
            snprintf(msg, n, "%s", jx_str(mr, "message") ?: "");
        }
    }
    if (worst != AP_SUCCESSFUL)
        return worst;
    if (running)
        return AP_RUNNING;
    if (terminate)
        snprintf(msg, n, "Run Terminated");
    return AP_SUCCESSFUL;
}
