/* The HTTP side of the generic verbs: request parsing (query options, JSON/YAML/protobuf
 * bodies, DeleteOptions), label/field selector filters, deletecollection, the pods/eviction
 * and pods/binding subresources, and dispatch of /api and /apis resource paths to lists
 * (list.c), watches (watch.c) and the verbs in verbs.c, which do every write. */
#include "api/api-int.h"
#include "api/kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/patch.h"
#include "api/protobuf.h"
#include "api/table.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/query.h"
#include "core/selector.h"

/* ---- HTTP side ---- */

struct api_filter {
    struct labelsel *ls;
    struct fieldsel *fs;
};

struct api_filter *api__filter_new(struct http_req *req, const struct resource *r, struct err *err)
{
    struct api_filter *f = xcalloc(1, sizeof *f);
    const char *l = http_req_query(req, "labelSelector"),
               *fl = http_req_query(req, "fieldSelector");

    if (l && *l && labelsel_parse(l, &f->ls, err) < 0)
        goto fail;
    if (fl && *fl &&
        (fieldsel_parse(fl, &f->fs, err) < 0 ||
         fieldsel_check(f->fs, api_kind(r->id)->field_selectors, err) < 0))
        goto fail;
    return f;
fail:
    if (!err->code)
        err->code = -E_BAD_REQUEST;
    api__filter_free(f);
    return NULL;
}

int api__filter_match(const struct api_filter *f, const json_t *obj)
{
    if (f->ls && !labelsel_match(f->ls, jx_get(obj, "metadata.labels")))
        return 0;
    if (f->fs && !fieldsel_match(f->fs, obj))
        return 0;
    return 1;
}

void api__filter_free(struct api_filter *f)
{
    if (!f)
        return;
    if (f->ls)
        labelsel_free(f->ls);
    if (f->fs)
        fieldsel_free(f->fs);
    free(f);
}

static void send_object(struct api *api, struct http_req *req, const struct resource *r, int alt,
                        json_t *obj, int status, const json_t *warnings)
{
    if (api__wants_table(req)) {
        json_t *items = json_pack("[O]", obj);
        json_t *t = table_build(api_kind(r->id), items, jx_str(obj, "metadata.resourceVersion"),
                                http_req_query(req, "includeObject"), 1, time(NULL));

        api__respond_json_warn(req, status, t, warnings);
        json_decref(t);
        json_decref(items);
        return;
    }
    obj = kind_served(r, alt, obj);
    api__respond_json_warn(req, status, obj, warnings);
    json_decref(obj);
}

/* A write in the kind's other version (kind.h alt_version): the body converted to the stored
 * version; a PATCH is applied to the object as that version serves it, then stored as an
 * update. */
static int alt_write(struct api *api, struct http_req *req, struct api_target *t, json_t *body,
                     struct api_wopts *o, json_t **out, struct err *err)
{
    const struct kind_ops *k = api_kind(t->r->id);
    const char *ctype = http_req_header(req, "Content-Type");
    json_t *in = NULL, *cur, *view, *patched = NULL;
    int rc;

    if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        in = k->alt_in(body);
        rc = strcmp(req->method, "POST") == 0
                 ? api_create(api, t->r, t->ns, in, o, out, err)
                 : api_update(api, t->r, t->ns, t->name, in, o, out, err);
        json_decref(in);
        return rc;
    }
    if (!(cur = api_get(api, t->r, t->ns, t->name))) {
        api__not_found(err, t->r, t->name);
        api__details_set(err, t->r, t->name);
        return -E_NOT_FOUND;
    }
    view = k->alt_out(cur);
    rc = api__apply_patch(ctype, view, body, k->merge, o, 0, &patched, err);
    json_decref(view);
    if (rc < 0)
        return rc;
    in = k->alt_in(patched);
    json_decref(patched);
    rc = api_update(api, t->r, t->ns, t->name, in, o, out, err);
    json_decref(in);
    return rc;
}

/* Parses the request body by Content-Type: JSON, YAML, or Kubernetes protobuf. */
int api__body_parse(struct http_req *req, json_t **out, struct err *err)
{
    const char *ct = http_req_header(req, "Content-Type");
    json_error_t je;

    if (!req->body.len)
        return err_set(err, -E_BAD_REQUEST, "the request body is empty");
    if (ct && strncmp(ct, "application/vnd.kubernetes.protobuf", 35) == 0)
        return pb_decode_object(req->body.data, req->body.len, out, err);
    if (ct && (strstr(ct, "yaml") != NULL))
        return jx_parse_yaml(req->body.data, req->body.len, out, err);
    if (ct && *ct && !strstr(ct, "json"))
        return err_set(err, -E_UNSUPPORTED_MEDIA,
                       "the body of the request was in an unknown format - accepted media types "
                       "include: application/json, application/yaml, "
                       "application/vnd.kubernetes.protobuf");
    *out = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return err_set(err, -E_BAD_REQUEST, "error decoding request body: %s (line %d, column %d)",
                       je.text, je.line, je.column);
    return 0;
}

static void wopts_from_req(struct http_req *req, struct api_wopts *o)
{
    const char *dry = http_req_query(req, "dryRun"), *fv = http_req_query(req, "fieldValidation");

    memset(o, 0, sizeof *o);
    o->grace = -1;
    o->dry_run = dry && strcmp(dry, "All") == 0;
    o->manager = http_req_query(req, "fieldManager");
    o->strict = fv && strcmp(fv, "Strict") == 0;
    o->warn = !fv || strcmp(fv, "Warn") == 0; /* Warn is kube-apiserver's default */
    o->prune = !o->strict;
    if (http_query_bool(req, "force"))
        o->propagation = "force";
}

/* DeleteOptions from the body (JSON or protobuf) and the query. */
static int delete_opts(struct http_req *req, struct api_wopts *o, json_t **keep, struct err *err)
{
    const char *pp = http_req_query(req, "propagationPolicy");
    json_t *body = NULL;
    long long g;

    if (http_query_int64(req, "gracePeriodSeconds", &g, err) < 0)
        return err->code;
    if (http_req_query(req, "gracePeriodSeconds"))
        o->grace = g;
    if (pp)
        o->propagation = pp;
    if (req->body.len) {
        if (api__body_parse(req, &body, err) < 0)
            return err->code;
        if (json_is_integer(json_object_get(body, "gracePeriodSeconds")))
            o->grace = json_integer_value(json_object_get(body, "gracePeriodSeconds"));
        if (jx_str(body, "propagationPolicy"))
            o->propagation = jx_str(body, "propagationPolicy");
        if (json_is_array(json_object_get(body, "dryRun")) &&
            json_array_size(json_object_get(body, "dryRun")))
            o->dry_run = 1;
        o->preconditions = json_object_get(body, "preconditions");
        if (json_is_true(json_object_get(body, "orphanDependents")))
            o->propagation = "Orphan";
    }
    *keep = body;
    return 0;
}

static void do_write(struct api *api, struct http_req *req, struct api_target *t)
{
    struct api_wopts o;
    struct err err;
    json_t *body = NULL, *out = NULL;
    int rc = 0, created = 0;

    err_init(&err);
    wopts_from_req(req, &o);
    o.warnings = json_array();
    if (strcmp(req->method, "DELETE") == 0) {
        if ((rc = delete_opts(req, &o, &body, &err)) == 0)
            rc = api_delete(api, t->r, t->ns, t->name, &o, &out, &err);
        goto done;
    }
    if ((rc = api__body_parse(req, &body, &err)) < 0)
        goto done;
    if (t->sub && strcmp(t->sub, "status") == 0)
        o.status = 1;
    else if (t->sub && strcmp(t->sub, "scale") == 0 && (t->r->flags & RF_SCALE))
        o.status = 2;
    else if (t->sub) {
        rc = err_set(&err, -E_NOT_FOUND, "the server could not find the requested resource");
        goto done;
    }
    if (t->alt) {
        created = strcmp(req->method, "POST") == 0;
        rc = alt_write(api, req, t, body, &o, &out, &err);
    } else if (strcmp(req->method, "POST") == 0) {
        rc = api_create(api, t->r, t->ns, body, &o, &out, &err);
        created = 1;
    } else if (strcmp(req->method, "PUT") == 0) {
        if (o.status == 2) {
            json_t *p = json_pack("{s:{s:O}}", "spec", "replicas",
                                  jx_get(body, "spec.replicas") ?: json_null());

            rc = api_patch(api, t->r, t->ns, t->name, "application/merge-patch+json", p, &o, &out,
                           &err);
            json_decref(p);
        } else {
            rc = api_update(api, t->r, t->ns, t->name, body, &o, &out, &err);
        }
    } else {
        int existed = api_get(api, t->r, t->ns, t->name) != NULL;

        rc = api_patch(api, t->r, t->ns, t->name, http_req_header(req, "Content-Type"), body, &o,
                       &out, &err);
        created = !existed;
    }
done:
    if (rc < 0) {
        if (!err.code)
            err.code = rc;
        api__fail(req, &err);
    } else {
        send_object(api, req, t->r, t->alt, out, created ? 201 : 200, o.warnings);
    }
    json_decref(out);
    json_decref(body);
    json_decref(o.warnings);
    err_release(&err);
}

static void do_deletecollection(struct api *api, struct http_req *req, struct api_target *t)
{
    struct err err;
    struct api_filter *f;
    struct api_wopts o;
    json_t *m = store_map(api->store, t->r->key), *names = json_array(), *items = json_array(), *v,
           *body = NULL;
    const char *k;
    char kind[96];

    err_init(&err);
    wopts_from_req(req, &o);
    f = api__filter_new(req, t->r, &err);
    if (!f || delete_opts(req, &o, &body, &err) < 0) {
        api__fail(req, &err);
        goto out;
    }
    if (m)
        json_object_foreach(
            m, k, v) if ((!t->ns || strcmp(jx_str(v, "metadata.namespace") ?: "", t->ns) == 0) &&
                         api__filter_match(f, v))
            json_array_append_new(names, json_string(jx_str(v, "metadata.name")));
    for (size_t i = 0; i < json_array_size(names); i++) {
        json_t *out = NULL;
        struct err e2;

        err_init(&e2);
        if (api_delete(api, t->r, t->ns, json_string_value(json_array_get(names, i)), &o, &out,
                       &e2) == 0)
            json_array_append_new(items, out);
        err_release(&e2);
    }
    snprintf(kind, sizeof kind, "%sList", t->r->kind);
    {
        json_t *doc = json_pack("{s:s,s:s,s:{},s:O}", "kind", kind, "apiVersion", t->r->api_version,
                                "metadata", "items", items);

        api__respond_json(req, 200, doc);
        json_decref(doc);
    }
out:
    api__filter_free(f);
    json_decref(body);
    json_decref(names);
    json_decref(items);
    err_release(&err);
}

/* 404 for the target's object, with its name, group and kind in the details. */
static void fail_not_found(struct http_req *req, const struct api_target *t)
{
    struct err err;

    err_init(&err);
    api__not_found(&err, t->r, t->name);
    api__details_set(&err, t->r, t->name);
    api__fail(req, &err);
    err_release(&err);
}

/* The Status a created eviction or binding answers with. */
static void respond_created(struct http_req *req)
{
    static const char ok[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                             "\"status\":\"Success\",\"code\":201}";

    http_respond(req, 201, "application/json", ok, sizeof ok - 1, NULL);
}

static void do_eviction(struct api *api, struct http_req *req, struct api_target *t)
{
    struct err err;
    json_t *body = NULL, *pod = api_get(api, t->r, t->ns, t->name);
    int rc, dry = 0;

    err_init(&err);
    if (!pod) {
        api__not_found(&err, t->r, t->name);
        api__fail(req, &err);
        return;
    }
    if (api__body_parse(req, &body, &err) < 0) {
        api__fail(req, &err);
        err_release(&err);
        return;
    }
    dry = json_array_size(jx_get(body, "deleteOptions.dryRun")) > 0 ||
          (http_req_query(req, "dryRun") && strcmp(http_req_query(req, "dryRun"), "All") == 0);
    json_incref(pod);
    if (api->evict_fn) {
        rc = api->evict_fn(api, pod, body, dry, &err, api->evict_ctx);
    } else {
        struct api_wopts o = {.grace = -1, .dry_run = dry};
        json_t *out = NULL;

        rc = api_delete(api, t->r, t->ns, t->name, &o, &out, &err);
        json_decref(out);
    }
    if (rc < 0) {
        api__fail(req, &err);
    } else {
        respond_created(req);
    }
    json_decref(pod);
    json_decref(body);
    err_release(&err);
}

static void do_binding(struct api *api, struct http_req *req, struct api_target *t)
{
    struct err err;
    json_t *body = NULL;
    const char *node;

    err_init(&err);
    if (api__body_parse(req, &body, &err) < 0 || !(node = jx_str(body, "target.name"))) {
        if (!err.code)
            err_set(&err, -E_BAD_REQUEST, "binding requires target.name");
        api__fail(req, &err);
    } else if (api_bind(api, t->ns, t->name, node, &err) < 0) {
        api__fail(req, &err);
    } else {
        respond_created(req);
    }
    json_decref(body);
    err_release(&err);
}

/* pods/exec, pods/attach, pods/portforward: GET (WebSocket) or POST (SPDY), served by the
 * node's hook. */
static int stream_sub(const struct api_target *t)
{
    return t->name && t->sub && (t->r->flags & RF_LOG) &&
           (strcmp(t->sub, "exec") == 0 || strcmp(t->sub, "attach") == 0 ||
            strcmp(t->sub, "portforward") == 0);
}

static void do_stream(struct api *api, struct http_req *req, struct api_target *t)
{
    json_t *obj;

    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
        api__fail_code(req, -E_METHOD,
                       "the server does not allow this method on the requested resource");
        return;
    }
    if (!api->stream_fn) {
        api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
        return;
    }
    if (!(obj = api_get(api, t->r, t->ns, t->name))) {
        fail_not_found(req, t);
        return;
    }
    api->stream_fn(req, obj, t->sub, api->stream_ctx);
}

void api__resource(struct api *api, struct http_req *req, struct api_target *t)
{
    const char *m = req->method;

    if (stream_sub(t)) {
        do_stream(api, req, t);
        return;
    }

    if (!api__accepts_json(req)) {
        api__fail_code(req, -E_NOT_ACCEPTABLE,
                       "only the following media types are accepted: "
                       "application/json, application/yaml");
        return;
    }
    if (t->r->namespaced && !t->ns && t->name) {
        api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
        return;
    }
    if (strcmp(m, "GET") == 0) {
        json_t *obj;

        if (!t->name) {
            struct api_listopts o;
            struct err err;

            err_init(&err);
            if (api__listopts(req, &o, &err) < 0)
                api__fail(req, &err);
            else if (o.watch)
                api__watch(api, req, t, &o);
            else
                api__list(api, req, t, &o);
            err_release(&err);
            return;
        }
        obj = api_get(api, t->r, t->ns, t->name);
        if (!obj) {
            fail_not_found(req, t);
            return;
        }
        if (!t->sub || strcmp(t->sub, "status") == 0) {
            send_object(api, req, t->r, t->alt, obj, 200, NULL);
        } else if (strcmp(t->sub, "scale") == 0 && (t->r->flags & RF_SCALE)) {
            json_t *s = scheme_scale_of(obj);

            api__respond_json(req, 200, s);
            json_decref(s);
        } else if (strcmp(t->sub, "log") == 0 && (t->r->flags & RF_LOG) && api->log_fn) {
            api->log_fn(req, obj, http_req_query(req, "container"), api->log_ctx);
        } else {
            api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
        }
        return;
    }
    if (strcmp(m, "POST") == 0 && t->name) {
        if (t->sub && strcmp(t->sub, "eviction") == 0 && (t->r->flags & RF_EVICTION))
            do_eviction(api, req, t);
        else if (t->sub && strcmp(t->sub, "binding") == 0 && (t->r->flags & RF_BINDING))
            do_binding(api, req, t);
        else if (t->sub && strcmp(t->sub, "token") == 0 && (t->r->flags & RF_TOKEN))
            api__token_request(api, req, t);
        else
            api__fail_code(req, -E_METHOD,
                           "the server does not allow this method on the requested resource");
        return;
    }
    if (strcmp(m, "POST") == 0 || ((strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) && t->name) ||
        (strcmp(m, "DELETE") == 0 && t->name && !t->sub)) {
        if (strcmp(m, "POST") == 0 && !t->ns && t->r->namespaced) {
            api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
            return;
        }
        do_write(api, req, t);
        return;
    }
    if (strcmp(m, "DELETE") == 0 && !t->name) {
        do_deletecollection(api, req, t);
        return;
    }
    api__fail_code(req, -E_METHOD,
                   "the server does not allow this method on the requested resource");
}
