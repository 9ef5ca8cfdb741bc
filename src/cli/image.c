/* `kroll image import|build|pull|ls|rm|inspect`: manages the OCI image store of a data
 * directory (src/node/image.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "core/jx.h"
#include "node/image.h"

static void size_human(long long b, char *out, size_t n)
{
    if (b >= 1000LL * 1000 * 1000)
        snprintf(out, n, "%.3gGB", (double)b / 1e9);
    else if (b >= 1000 * 1000)
        snprintf(out, n, "%.3gMB", (double)b / 1e6);
    else if (b >= 1000)
        snprintf(out, n, "%.3gkB", (double)b / 1e3);
    else
        snprintf(out, n, "%lldB", b);
}

static int image_ls(const char *dir)
{
    json_t *l = image_list(dir), *v;
    size_t i;

    printf("%-40s %-16s %-14s %-10s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "SIZE", "CREATED");
    json_array_foreach(l, i, v) {
        char sz[32], age[32];
        const char *id = jx_str(v, "id");

        size_human(jx_int(v, "size", 0), sz, sizeof sz);
        time_human(time(NULL) - jx_int(v, "created", 0), age, sizeof age);
        printf("%-40s %-16s %-14.12s %-10s %s ago\n", jx_str(v, "repository"), jx_str(v, "tag"),
               id && strlen(id) > 7 ? id + 7 : "", sz, age);
    }
    json_decref(l);
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: kroll image import FILE|DIR [NAME[:TAG]] [--data-dir DIR]\n"
            "         (OCI layout dir, oci-archive or docker-save tar, or a dir with image.json)\n"
            "       kroll image build DIR -t NAME[:TAG] [--output oci-archive:FILE|oci:DIR]\n"
            "       kroll image pull NAME[:TAG] [--authfile FILE]\n"
            "       kroll image ls | rm NAME[:TAG]... | inspect NAME[:TAG]   [--data-dir DIR]\n");
    return 2;
}

/* Removes "--name VALUE" from argv; returns VALUE (borrowed) or NULL. */
static const char *opt_take(int *argc, char **argv, const char *name, const char *alt)
{
    for (int i = 1; i + 1 < *argc; i++) {
        if (strcmp(argv[i], name) && (!alt || strcmp(argv[i], alt)))
            continue;
        const char *v = argv[i + 1];

        memmove(argv + i, argv + i + 2, (size_t)(*argc - i - 2) * sizeof *argv);
        *argc -= 2;
        return v;
    }
    return NULL;
}

static int image_import_cmd(const char *dir, int argc, char **argv, struct err *err)
{
    json_t *tags = NULL, *t;
    size_t i;

    if (argc != 3 && argc != 4)
        return usage();
    if (image_import_names(dir, argv[2], argc == 4 ? argv[3] : NULL, &tags, err) < 0) {
        fprintf(stderr, "kroll image import: %s\n", err->msg);
        return 1;
    }
    json_array_foreach(tags, i, t) {
        struct image_ref r;

        if (image_ref_parse(json_string_value(t), &r, err) == 0)
            printf("imported %s:%s from %s\n", r.repo, r.tag, argv[2]);
    }
    json_decref(tags);
    return 0;
}

static int image_build_cmd(const char *dir, int argc, char **argv, struct err *err)
{
    const char *ref = opt_take(&argc, argv, "-t", "--tag");
    const char *out = opt_take(&argc, argv, "--output", "-o");

    if (argc != 3 || (!ref && !out))
        return usage();
    if (image_build(dir, argv[2], ref, out, err) < 0) {
        fprintf(stderr, "kroll image build: %s\n", err->msg);
        return 1;
    }
    printf("built %s from %s%s%s\n", ref ? ref : "image", argv[2], out ? " into " : "",
           out ? out : "");
    return 0;
}

static int image_pull_cmd(const char *dir, int argc, char **argv, struct err *err)
{
    const char *auth = opt_take(&argc, argv, "--authfile", NULL);

    if (argc != 3)
        return usage();
    if (auth)
        setenv("REGISTRY_AUTH_FILE", auth, 1); /* skopeo reads it */
    if (image_pull(dir, argv[2], err) < 0) {
        fprintf(stderr, "kroll image pull: %s\n", err->msg);
        return 1;
    }
    printf("pulled %s\n", argv[2]);
    return 0;
}

static int image_inspect_cmd(const char *dir, int argc, char **argv, struct err *err)
{
    json_t *out = json_array(), *v;
    int rc = 0;

    if (argc < 3)
        return usage();
    for (int i = 2; i < argc; i++) {
        if ((v = image_inspect(dir, argv[i], err)))
            json_array_append_new(out, v);
        else
            fprintf(stderr, "kroll image inspect: %s\n", err->msg), rc = 1;
    }
    json_dumpf(out, stdout, JSON_INDENT(4));
    printf("\n");
    json_decref(out);
    return rc;
}

static int cmd_image_run(int argc, char **argv)
{
    char *dir = cli_data_dir(&argc, argv);
    struct err err;
    int rc = 0;

    err_init(&err);
    if (argc < 2) {
        rc = usage();
    } else if (!strcmp(argv[1], "ls") || !strcmp(argv[1], "list")) {
        rc = argc == 2 ? image_ls(dir) : usage();
    } else if (!strcmp(argv[1], "import")) {
        rc = image_import_cmd(dir, argc, argv, &err);
    } else if (!strcmp(argv[1], "build")) {
        rc = image_build_cmd(dir, argc, argv, &err);
    } else if (!strcmp(argv[1], "pull")) {
        rc = image_pull_cmd(dir, argc, argv, &err);
    } else if (!strcmp(argv[1], "inspect")) {
        rc = image_inspect_cmd(dir, argc, argv, &err);
    } else if (!strcmp(argv[1], "rm") && argc >= 3) {
        for (int i = 2; i < argc; i++) {
            struct image_ref r;

            if (image_remove(dir, argv[i], &err) < 0) {
                fprintf(stderr, "kroll image rm: %s\n", err.msg);
                rc = 1;
            } else if (image_ref_parse(argv[i], &r, &err) == 0) {
                printf("Untagged: %s:%s\n", r.repo, r.tag);
            }
            err_release(&err);
            err_init(&err);
        }
    } else {
        rc = usage();
    }
    err_release(&err);
    free(dir);
    return rc;
}

const struct cli_cmd cli_cmd_image = {
    .name = "image",
    .usage = "import SRC [NAME:TAG] | build DIR -t NAME:TAG | pull | ls | rm | inspect   "
             "manage the OCI image store",
    .run = cmd_image_run,
};
