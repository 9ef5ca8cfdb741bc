/* `kroll lint -f FILE...`: the tutorial's common mistakes (resources/lint.h) found offline in
 * manifests, before they reach a cluster: the same rules the API server warns with. Files are
 * split into documents as kubectl splits them (a line starting with "---"); `kind: List`
 * items count; each Deployment or Rollout is defaulted and validated as the server would, and a
 * PodDisruptionBudget of the same files and namespace counts as covering it. Exit 0 when
 * nothing was found, 1 with findings or invalid objects, 2 when a file cannot be read or
 * parsed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/patch.h"
#include "core/selector.h"
#include "cli/cli.h"
#include "core/jx.h"
#include "core/log.h"
#include "resources/lint.h"
#include "resources/resources.h"

#define LINT_MAX_FILE (8u << 20) /* bytes per manifest file */

struct doc {
    const char *file;
    json_t *obj;
};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    char *buf;

    if (!f)
        return NULL;
    buf = xmalloc(LINT_MAX_FILE + 1);
    *len = fread(buf, 1, LINT_MAX_FILE + 1, f);
    if (f != stdin)
        fclose(f);
    if (*len > LINT_MAX_FILE) {
        free(buf);
        return NULL;
    }
    buf[*len] = 0;
    return buf;
}

static void add_obj(json_t *obj, const char *file, struct doc **docs, size_t *n)
{
    const json_t *items = json_object_get(obj, "items");
    size_t i;
    json_t *it;

    if (!json_is_object(obj))
        return;
    if (strcmp(jx_str(obj, "kind") ?: "", "List") == 0 && json_is_array(items)) {
        json_array_foreach(items, i, it) add_obj(it, file, docs, n);
        return;
    }
    *docs = xrealloc(*docs, (*n + 1) * sizeof **docs);
    (*docs)[(*n)++] = (struct doc){file, json_incref(obj)};
}

/* Splits at lines that start with "---", as kubectl's YAML reader does. */
static int load(const char *path, struct doc **docs, size_t *n)
{
    size_t len;
    char *text = slurp(path, &len), *p;

    if (!text) {
        fprintf(stderr, "kroll lint: cannot read %s (missing, unreadable or over %u bytes)\n", path,
                LINT_MAX_FILE);
        return -1;
    }
    for (p = text; p && *p;) {
        char *end = p, *next = NULL;
        json_t *obj;
        struct err err;

        while ((end = strstr(end, "---"))) {
            if (end == text || end[-1] == '\n')
                break;
            end += 3;
        }
        if (end) {
            next = strchr(end, '\n');
            next = next ? next + 1 : end + strlen(end);
        }
        err_init(&err);
        if (jx_parse_yaml(p, end ? (size_t)(end - p) : strlen(p), &obj, &err) < 0) {
            fprintf(stderr, "kroll lint: %s: %s\n", path, err.msg);
            err_release(&err);
            free(text);
            return -1;
        }
        add_obj(obj, path, docs, n);
        json_decref(obj);
        p = next;
    }
    free(text);
    return 0;
}

static const char *ns_of(const json_t *o)
{
    const char *ns = jx_str(o, "metadata.namespace");

    return ns && *ns ? ns : "default";
}

static int covered(const struct doc *docs, size_t n, const json_t *d)
{
    for (size_t i = 0; i < n; i++) {
        struct labelsel *ls;
        struct err err;
        int hit = 0;

        if (strcmp(jx_str(docs[i].obj, "kind") ?: "", "PodDisruptionBudget") != 0 ||
            strcmp(ns_of(docs[i].obj), ns_of(d)) != 0)
            continue;
        err_init(&err);
        if (labelsel_from_object(jx_get(docs[i].obj, "spec.selector"), &ls, &err) == 0) {
            hit = labelsel_match(ls, jx_get(d, "spec.template.metadata.labels"));
            labelsel_free(ls);
        }
        err_release(&err);
        if (hit)
            return 1;
    }
    return 0;
}

/* The workloads linted: apps/v1 Deployment and Argo's Rollout. */
static const struct res_kind *workload_kind(const json_t *obj)
{
    const char *kind = jx_str(obj, "kind") ?: "", *av = jx_str(obj, "apiVersion") ?: "";

    if (!strcmp(kind, "Deployment") && !strcmp(av, "apps/v1"))
        return &res_kind_deployment;
    if (!strcmp(kind, "Rollout") && !strcmp(av, "argoproj.io/v1alpha1"))
        return &res_kind_rollout;
    return NULL;
}

/* Lints one Deployment or Rollout; returns the number of findings and errors printed. */
static int lint_one(const struct doc *docs, size_t n, const struct doc *d)
{
    const struct res_kind *k = workload_kind(d->obj);
    const char *kind = jx_str(d->obj, "kind");
    json_t *obj = json_deep_copy(d->obj), *out = json_array(), *f;
    const char *name = jx_str(obj, "metadata.name") ?: "";
    struct lint_ctx ctx = {.pdb_covers = covered(docs, n, d->obj)};
    struct err err;
    size_t i;
    int found;

    err_init(&err);
    jx_set(obj, "metadata.namespace", json_string(ns_of(d->obj))); /* as the server sets it */
    res_default(k, obj);
    if (res_validate(k, obj, NULL, &err) < 0) {
        json_array_foreach(err.causes, i, f)
            printf("%s: %s/%s: error: %s: %s\n", d->file, kind, name, jx_str(f, "field") ?: "",
                   jx_str(f, "message") ?: "");
        found = (int)json_array_size(err.causes);
    } else {
        found = lint_workload(k, obj, &ctx, out);
        json_array_foreach(out, i, f)
        {
            char *t = lint_text(f);

            printf("%s: %s/%s: Warning: %s\n", d->file, kind, name, t);
            free(t);
        }
    }
    err_release(&err);
    json_decref(out);
    json_decref(obj);
    return found;
}

static int cmd_lint_run(int argc, char **argv)
{
    struct doc *docs = NULL;
    size_t n = 0, deployments = 0;
    int found = 0, files = 0, rc = 0;

    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--filename") == 0) && i + 1 < argc) {
            files++;
            if (load(argv[++i], &docs, &n) < 0)
                rc = 2;
        } else {
            fprintf(stderr, "usage: kroll lint -f FILE [-f FILE]...   (FILE - reads stdin)\n");
            return 2;
        }
    }
    if (!files) {
        fprintf(stderr, "usage: kroll lint -f FILE [-f FILE]...   (FILE - reads stdin)\n");
        return 2;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!workload_kind(docs[i].obj))
            continue;
        deployments++;
        found += lint_one(docs, n, &docs[i]);
    }
    if (rc == 0)
        fprintf(stderr, "kroll lint: %zu workload%s, %d finding%s\n", deployments,
                deployments == 1 ? "" : "s", found, found == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
        json_decref(docs[i].obj);
    free(docs);
    return rc ? rc : found ? 1 : 0;
}

const struct cli_cmd cli_cmd_lint = {
    .name = "lint",
    .usage = "-f FILE...                  the tutorial's common mistakes in manifests, offline",
    .run = cmd_lint_run,
};
