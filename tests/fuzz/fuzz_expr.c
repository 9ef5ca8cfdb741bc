/* libFuzzer target for the AnalysisRun condition language (src/core/expr.c, expr_eval.c): the
 * input is "EXPRESSION\nRESULT-JSON" (no newline: the expression alone, result nil). The
 * expression is checked and evaluated as a condition and as a value, with and without
 * Prometheus' numeric strings. A parse that expr_check accepts must not fail in evaluation
 * with a parse error, and every error must carry a message. Crashes, sanitizer reports and
 * leaks are findings. Build: see tests/fuzz/run.sh (target expr). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/expr.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1), *nl, msg[256];
    json_t *result = NULL, *out = NULL;
    int checked, rc;

    memcpy(s, data, size);
    s[size] = 0;
    nl = strchr(s, '\n');
    if (nl) {
        *nl = 0;
        result = json_loads(nl + 1, JSON_DECODE_ANY, NULL);
    }
    checked = expr_check(s, msg, sizeof msg);
    if (checked < 0 && !msg[0])
        abort();
    for (unsigned flags = 0; flags <= EXPR_NUMERIC_STRINGS; flags++) {
        rc = expr_eval_bool(s, result, flags, msg, sizeof msg);
        if ((rc < 0 && !msg[0]) || (checked < 0 && rc >= 0))
            abort();
        rc = expr_eval(s, result, flags, &out, msg, sizeof msg);
        if ((rc < 0) != (out == NULL) || (checked < 0 && rc == 0))
            abort();
        json_decref(out);
        out = NULL;
    }
    json_decref(result);
    free(s);
    return 0;
}
