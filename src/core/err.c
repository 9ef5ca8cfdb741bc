/* Error text accumulation and the code -> HTTP status / reason table. */
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const struct {
    int http;
    const char *reason;
} err_table[] = {
#define XX(name, http, reason) [E_##name - E_BASE_] = {http, reason},
#include "core/errors.def"
#undef XX
};

void err_init(struct err *e)
{
    e->code = 0;
    e->msg[0] = 0;
    e->causes = NULL;
    e->details = NULL;
}

void err_release(struct err *e)
{
    json_decref(e->causes);
    json_decref(e->details);
    err_init(e);
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

static void cause_add(struct err *e, const char *reason, const char *field, const char *msg)
{
    json_t *c = json_object();

    if (!e->causes)
        e->causes = json_array();
    json_object_set_new(c, "reason", json_string(reason));
    json_object_set_new(c, "message", json_string(msg));
    if (field)
        json_object_set_new(c, "field", json_string(field));
    json_array_append_new(e->causes, c);
}

void err_cause(struct err *e, const char *reason, const char *field, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cause_add(e, reason, field, msg);
}

int err_has_causes(const struct err *e)
{
    return e->causes && json_array_size(e->causes) > 0;
}

/* Renders a value the way Kubernetes prints field values: strings quoted, the rest as JSON. */
static void value_render(const json_t *v, char *out, size_t n)
{
    char *s;

    if (!v) {
        snprintf(out, n, "null");
        return;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, n, "%s", s ? s : "null");
    free(s);
}

void err_field_invalid(struct err *e, const char *field, const json_t *value, const char *fmt, ...)
{
    char val[512], detail[512], msg[1100];
    va_list ap;

    value_render(value, val, sizeof val);
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "Invalid value: %s: %s", val, detail);
    cause_add(e, "FieldValueInvalid", field, msg);
}

void err_field_required(struct err *e, const char *field, const char *detail)
{
    char msg[600];

    if (detail && *detail)
        snprintf(msg, sizeof msg, "Required value: %s", detail);
    else
        snprintf(msg, sizeof msg, "Required value");
    cause_add(e, "FieldValueRequired", field, msg);
}

void err_field_unsupported(struct err *e, const char *field, const json_t *value,
                           const char *const *supported)
{
    char val[512], msg[1100];
    size_t off;

    value_render(value, val, sizeof val);
    off = (size_t)snprintf(msg, sizeof msg, "Unsupported value: %s", val);
    if (supported && *supported && off < sizeof msg) {
        off += (size_t)snprintf(msg + off, sizeof msg - off, ": supported values: ");
        for (int i = 0; supported[i] && off < sizeof msg; i++)
            off += (size_t)snprintf(msg + off, sizeof msg - off, "%s\"%s\"", i ? ", " : "",
                                    supported[i]);
    }
    cause_add(e, "FieldValueNotSupported", field, msg);
}

void err_field_forbidden(struct err *e, const char *field, const char *detail)
{
    char msg[600];

    snprintf(msg, sizeof msg, "Forbidden: %s", detail);
    cause_add(e, "FieldValueForbidden", field, msg);
}

void err_field_duplicate(struct err *e, const char *field, const json_t *value)
{
    char val[512], msg[600];

    value_render(value, val, sizeof val);
    snprintf(msg, sizeof msg, "Duplicate value: %s", val);
    cause_add(e, "FieldValueDuplicate", field, msg);
}

int err_invalid(struct err *e, const char *kind, const char *group, const char *name)
{
    char msg[sizeof e->msg];
    size_t n = json_array_size(e->causes), off;

    name = name ? name : "";
    if (group && *group)
        off = (size_t)snprintf(msg, sizeof msg, "%s.%s \"%s\" is invalid: %s", kind, group, name,
                               n > 1 ? "[" : "");
    else
        off = (size_t)snprintf(msg, sizeof msg, "%s \"%s\" is invalid: %s", kind, name,
                               n > 1 ? "[" : "");
    for (size_t i = 0; i < n && off < sizeof msg; i++) {
        json_t *c = json_array_get(e->causes, i);
        const char *f = json_string_value(json_object_get(c, "field"));
        const char *m = json_string_value(json_object_get(c, "message"));

        off += (size_t)snprintf(msg + off, sizeof msg - off, "%s%s: %s", i ? ", " : "",
                                f ? f : "", m ? m : "");
    }
    if (n > 1 && off < sizeof msg)
        snprintf(msg + off, sizeof msg - off, "]");
    memcpy(e->msg, msg, sizeof msg);
    e->code = -E_INVALID;
    json_decref(e->details);
    e->details = json_pack("{s:s,s:s}", "name", name, "kind", kind);
    if (group && *group)
        json_object_set_new(e->details, "group", json_string(group));
    return -E_INVALID;
}

int err_http_status(int code)
{
    int i = -code - E_BASE_;

    if (i <= 0 || i >= E_MAX_ - E_BASE_)
        return 500;
    return err_table[i].http;
}

const char *err_reason(int code)
{
    int i = -code - E_BASE_;

    if (i <= 0 || i >= E_MAX_ - E_BASE_)
        return "InternalError";
    return err_table[i].reason;
}

json_t *err_status_json(int code, const char *msg, const json_t *details)
{
    json_t *s = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1",
                          "metadata", "status", "Failure", "message", msg, "reason",
                          err_reason(code), "code", err_http_status(code));

    if (details)
        json_object_set(s, "details", (json_t *)details);
    return s;
}

int err_from_http(int status, const char *reason)
{
    static const struct {
        int code, http;
        const char *reason;
    } rows[] = {
#define XX(name, http, reason) {-E_##name, http, reason},
#include "core/errors.def"
#undef XX
    };
    size_t n = sizeof rows / sizeof rows[0];

    for (size_t i = 0; reason && i < n; i++)
        if (strcmp(rows[i].reason, reason) == 0)
            return rows[i].code;
    for (size_t i = 0; i < n; i++)
        if (rows[i].http == status)
            return rows[i].code;
    return status >= 500 ? -E_INTERNAL : -E_BAD_REQUEST;
}
