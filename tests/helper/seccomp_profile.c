/* Test helper: prints a seccomp profile as kroll would put it into config.json's
 * linux.seccomp, for hand-made runc bundles (tests/e2e/t0640-seccomp-runc.sh).
 *   kroll-seccomp-profile default [CAP_X ...]             RuntimeDefault for that bounding set
 *   kroll-seccomp-profile localhost DATADIR NAME [CAP...]  DATADIR/seccomp/NAME, converted
 * Exit 1 with the error text on stderr when the profile is refused. */
#include <stdio.h>
#include <string.h>

#include "node/seccomp.h"

static json_t *caps_json(int argc, char **argv, int from)
{
    json_t *caps = json_array();

    for (int i = from; i < argc; i++)
        json_array_append_new(caps, json_string(argv[i]));
    return caps;
}

int main(int argc, char **argv)
{
    json_t *caps, *p = NULL;
    struct err e;
    int rc = 0;

    err_init(&e);
    if (argc >= 2 && strcmp(argv[1], "default") == 0) {
        caps = caps_json(argc, argv, 2);
        p = seccomp_runtime_default(caps);
    } else if (argc >= 4 && strcmp(argv[1], "localhost") == 0) {
        caps = caps_json(argc, argv, 4);
        rc = seccomp_localhost(argv[2], argv[3], caps, &p, &e);
    } else {
        fprintf(stderr, "usage: %s default [CAP...] | localhost DATADIR NAME [CAP...]\n", argv[0]);
        return 2;
    }
    if (rc < 0)
        fprintf(stderr, "%s\n", e.msg);
    else
        json_dumpf(p, stdout, JSON_COMPACT), putchar('\n');
    json_decref(p);
    json_decref(caps);
    err_release(&e);
    return rc < 0;
}
