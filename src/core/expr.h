/* The subset of expr-lang (github.com/expr-lang/expr) that Argo Rollouts' users write in an
 * AnalysisRun's successCondition and failureCondition, evaluated over jansson values:
 *   literals (numbers, 'strings', "strings", true, false, nil, [lists]), `result`,
 *   member and index access (result.a, result["a"], result[0], result[-1], ?.),
 *   arithmetic + - * / % ** (/ is float division), comparisons == != < <= > >=,
 *   && || ! and or not, in, contains, startsWith, endsWith, matches (POSIX ERE, bounded),
 *   c ? a : b, a ?? b,
 *   len all any none one filter map count sum max min abs ceil floor round int float string
 *   and Argo's default(x, fallback) isNil isNaN isInf asInt asFloat; predicates as {# > 1}.
 * Errors never crash: parse errors name the offset, runtime errors the operation. Limits:
 * EXPR_MAX_LEN bytes of source, EXPR_MAX_NODES nodes, EXPR_MAX_DEPTH nesting, EXPR_MAX_STEPS
 * evaluation steps (a predicate over a long list counts each element). */
#ifndef KROLL_CORE_EXPR_H
#define KROLL_CORE_EXPR_H

#include <jansson.h>
#include <stddef.h>

#define EXPR_MAX_LEN 4096
#define EXPR_MAX_NODES 1024
#define EXPR_MAX_DEPTH 64
#define EXPR_MAX_STEPS 200000

enum {
    /* Strings "NaN", "+Inf", "-Inf" inside result are floats: how a Prometheus result, whose
     * samples are all numbers, carries values JSON cannot hold. */
    EXPR_NUMERIC_STRINGS = 1 << 0,
};

/* Parses src only; returns 0, or -1 with the reason in msg (always NUL-terminated). */
int expr_check(const char *src, char *msg, size_t n);

/* Evaluates src with `result` bound to result (borrowed; NULL is nil). On success returns 0
 * and *out is a new reference (nil is json null; NaN and infinities become the strings
 * "NaN", "+Inf", "-Inf"); on error returns -1 with the reason in msg. */
int expr_eval(const char *src, const json_t *result, unsigned flags, json_t **out, char *msg,
              size_t n);

/* Evaluates a condition: 1 true, 0 false, -1 error (also when the value is not a boolean:
 * "expected bool, but got float64"). */
int expr_eval_bool(const char *src, const json_t *result, unsigned flags, char *msg, size_t n);

#endif
