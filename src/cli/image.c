/* `kroll image import|ls|rm`: manages the local image store of a data directory. */
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

    printf("%-40s %-16s %-10s %s\n", "REPOSITORY", "TAG", "SIZE", "CREATED");
    json_array_foreach(l, i, v) {
        char sz[32], age[32];

        size_human(jx_int(v, "size", 0), sz, sizeof sz);
        time_human(time(NULL) - jx_int(v, "created", 0), age, sizeof age);
        printf("%-40s %-16s %-10s %s ago\n", jx_str(v, "repository"), jx_str(v, "tag"), sz, age);
    }
    json_decref(l);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: kroll image import SRC_DIR NAME[:TAG] [--data-dir DIR]\n"
                    "       kroll image ls [--data-dir DIR]\n"
                    "       kroll image rm NAME[:TAG] [--data-dir DIR]\n");
    return 2;
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
    } else if (!strcmp(argv[1], "import") && argc == 4) {
        if (image_import(dir, argv[2], argv[3], &err) < 0) {
            fprintf(stderr, "kroll image import: %s\n", err.msg);
            rc = 1;
        } else {
            struct image_ref r;

            image_ref_parse(argv[3], &r, &err);
            printf("imported %s:%s from %s\n", r.repo, r.tag, argv[2]);
        }
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
    .usage = "import SRC NAME:TAG | ls | rm NAME:TAG   [--data-dir DIR] manage the image store",
    .run = cmd_image_run,
};
