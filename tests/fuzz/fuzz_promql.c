/* libFuzzer target for the PromQL subset (src/core/promql.c, promql_eval.c): the input is a
 * query, parsed and evaluated against a small fixed source of counters and buckets. Every
 * answer must be JSON with a status, every error must carry a message, and a query that
 * parses must not be refused as bad_data in evaluation unless the source refused its range.
 * Crashes, sanitizer reports and leaks are findings. Build: see tests/fuzz/run.sh. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/promql.h"

static int source(const char *metric, int range, struct promql_vec *out, char *msg, size_t n,
                  void *ctx)
{
    static const char *const les[] = {"0.1", "1", "+Inf"};

    (void)ctx;
    if (range && range % 30) {
        snprintf(msg, n, "range %ds is not kept", range);
        return -1;
    }
    for (int r = 0; r < 3; r++) {
        struct promql_series *s = promql_vec_push(out, r * 10.0 + range);

        promql_series_set(s, "revision", r ? "a" : "b");
        promql_series_set(s, "code_class", r == 2 ? "5xx" : "2xx");
        promql_series_set(s, "le", les[r]);
        promql_series_set(s, "metric", metric);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = xmalloc(size + 1), *body = NULL, msg[256];
    struct promql_expr *e;
    json_t *doc;
    int status;

    memcpy(q, data, size);
    q[size] = 0;
    e = promql_parse(q, msg, sizeof msg);
    if (!e && !msg[0])
        abort();
    promql_expr_free(e);
    status = promql_query(q, 1, source, NULL, &body);
    doc = body ? json_loads(body, 0, NULL) : NULL;
    if (!doc || !json_is_string(json_object_get(doc, "status")))
        abort();
    if (status != 200 && !json_string_value(json_object_get(doc, "error")))
        abort();
    if (status != 200 && !json_string_value(json_object_get(doc, "error"))[0])
        abort();
    json_decref(doc);
    free(body);
    free(q);
    return 0;
}
