/* Error codes and the error-text out-parameter.
 * Every int function returns 0 or a negative code: -errno or -E_<NAME> from errors.def.
 * Text travels in a struct err and becomes Status.message / details.causes. */
#ifndef KROLL_CORE_ERR_H
#define KROLL_CORE_ERR_H

#include <jansson.h>
#include <stdarg.h>

enum {
    E_BASE_ = 10000,
#define XX(name, http, reason) E_##name,
#include "core/errors.def"
#undef XX
    E_MAX_
};

struct err {
    int code;      /* -E_xxx or 0 */
    char msg[1024];
    json_t *causes; /* NULL or array of {"reason","message","field"} */
    json_t *details; /* NULL or Status.details without causes ({name, group, kind}) */
};

void err_init(struct err *e);
void err_release(struct err *e);
/* Sets code and message; returns code (negative) so callers can `return err_set(...)`. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends one cause. reason is a Kubernetes CauseType such as "FieldValueInvalid". */
void err_cause(struct err *e, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int err_has_causes(const struct err *e);

/* Field errors as Kubernetes' field.ErrorList renders them (message is the ErrorBody):
 * invalid:     "Invalid value: <value>: <detail>"            reason FieldValueInvalid
 * required:    "Required value" or "Required value: <detail>" reason FieldValueRequired
 * unsupported: "Unsupported value: <value>: supported values: \"a\", \"b\"" FieldValueNotSupported
 * forbidden:   "Forbidden: <detail>"                           reason FieldValueForbidden
 * duplicate:   "Duplicate value: <value>"                      reason FieldValueDuplicate
 * Values are rendered as Kubernetes prints them: strings quoted, numbers bare, objects as JSON.
 * value may be NULL (rendered as "null"). */
void err_field_invalid(struct err *e, const char *field, const json_t *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void err_field_required(struct err *e, const char *field, const char *detail);
void err_field_unsupported(struct err *e, const char *field, const json_t *value,
                           const char *const *supported);
void err_field_forbidden(struct err *e, const char *field, const char *detail);
void err_field_duplicate(struct err *e, const char *field, const json_t *value);

/* Turns the causes gathered so far into kube-apiserver's 422 Invalid (errors.NewInvalid):
 * message `<Kind>[.<group>] "<name>" is invalid: <field>: <detail>` (several causes in
 * brackets, comma-separated), details {name, group, kind}. Returns -E_INVALID. */
int err_invalid(struct err *e, const char *kind, const char *group, const char *name);

/* HTTP status and Status.reason for a code; unknown codes map to 500 InternalError. */
int err_http_status(int code);
const char *err_reason(int code);
/* The code of an HTTP answer: by its Status reason when known, else by the status code. */
int err_from_http(int status, const char *reason);
/* A Kubernetes Status object (kind Status, status Failure) for code and msg, with details
 * (borrowed, may be NULL) as its details: new reference. */
json_t *err_status_json(int code, const char *msg, const json_t *details);

#endif
