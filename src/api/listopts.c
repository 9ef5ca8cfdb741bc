/* List and watch options from the query, converted and checked as kube-apiserver does
 * (apimachinery's conversion of ListOptions and ValidateListOptions), so clients other than
 * kubectl mean what they mean on a cluster: the Python client's watch=True watches, a bad
 * timeoutSeconds is a 400 naming it, and resourceVersionMatch / sendInitialEvents follow the
 * upstream rules (422 ListOptions.meta.k8s.io, one cause per rule broken). */
#include "api/api-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/query.h"

static int rv_parse(const char *s, long long *out, struct err *err)
{
    *out = 0;
    if (!s || !*s)
        return 0;
    if (strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
        return err_set(err, -E_BAD_REQUEST, "invalid resource version: \"%.64s\"", s);
    *out = atoll(s);
    return 0;
}

static void check_list(const struct api_listopts *o, const char *cont, struct err *err)
{
    static const char *const list_matches[] = {"Exact", "NotOlderThan", "", NULL};
    const char *m = o->rv_match;

    if (m && *m) {
        if (!o->rv || !*o->rv)
            err_field_forbidden(err, "resourceVersionMatch",
                                "resourceVersionMatch is forbidden unless resourceVersion is provided");
        if (cont && *cont)
            err_field_forbidden(err, "resourceVersionMatch",
                                "resourceVersionMatch is forbidden when continue is provided");
        if (strcmp(m, "Exact") != 0 && strcmp(m, "NotOlderThan") != 0) {
            json_t *v = json_string(m);

            err_field_unsupported(err, "resourceVersionMatch", v, list_matches);
            json_decref(v);
        }
        if (strcmp(m, "Exact") == 0 && o->rv && strcmp(o->rv, "0") == 0)
            err_field_forbidden(err, "resourceVersionMatch",
                                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"");
    }
    if (o->send_initial >= 0)
        err_field_forbidden(err, "sendInitialEvents", "sendInitialEvents is forbidden for list");
}

static void check_watch(const struct api_listopts *o, const char *cont, struct err *err)
{
    static const char *const watch_matches[] = {"NotOlderThan", NULL};
    const char *m = o->rv_match;

    if (o->send_initial >= 0 && (!m || strcmp(m, "NotOlderThan") != 0))
        err_field_forbidden(err, "resourceVersionMatch",
                            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
    if (m && *m) {
        if (o->send_initial < 0)
            err_field_forbidden(err, "resourceVersionMatch", "resourceVersionMatch is forbidden for "
                                                             "watch unless sendInitialEvents is provided");
        if (strcmp(m, "NotOlderThan") != 0) {
            json_t *v = json_string(m);

            err_field_unsupported(err, "resourceVersionMatch", v, watch_matches);
            json_decref(v);
        }
        if (cont && *cont)
            err_field_forbidden(err, "resourceVersionMatch",
                                "resourceVersionMatch is forbidden when continue is provided");
    }
}

int api__listopts(struct http_req *req, struct api_listopts *o, struct err *err)
{
    const char *cont = http_req_query(req, "continue");

    memset(o, 0, sizeof *o);
    o->cont = cont;
    o->watch = http_query_bool(req, "watch");
    o->bookmarks = http_query_bool(req, "allowWatchBookmarks");
    o->send_initial = http_query_tribool(req, "sendInitialEvents");
    o->rv = http_req_query(req, "resourceVersion");
    o->rv_match = http_req_query(req, "resourceVersionMatch");
    if (http_query_int64(req, "timeoutSeconds", &o->timeout, err) < 0 ||
        http_query_int64(req, "limit", &o->limit, err) < 0 ||
        rv_parse(o->rv, &o->rv_n, err) < 0)
        return err->code;
    if (o->watch)
        check_watch(o, cont, err);
    else
        check_list(o, cont, err);
    if (err_has_causes(err))
        return err_invalid(err, "ListOptions", "meta.k8s.io", "");
    return 0;
}

int api__rv_too_large(struct err *err, long long want, long long current)
{
    err_set(err, -E_TIMEOUT, "Timeout: Too large resource version: %lld, current: %lld", want,
            current);
    err_cause(err, "ResourceVersionTooLarge", NULL, "Too large resource version");
    json_decref(err->details);
    err->details = json_pack("{s:i}", "retryAfterSeconds", 1);
    return err->code;
}
