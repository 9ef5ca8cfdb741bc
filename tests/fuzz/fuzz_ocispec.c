/* libFuzzer entry for the OCI spec builder and its only parser of image bytes: the input is
 * "<etc/passwd>\0<etc/group>\0<image User>\0<pod JSON>\0<container JSON>" (missing parts are
 * empty or {}). The passwd and group parts are written into a scratch rootfs, as an image would
 * ship them; the user is resolved (lookups, groups, runAsNonRoot) and config.json built from the
 * result. Crashes, sanitizer reports and leaks are findings.
 * Build: tests/fuzz/run.sh ocispec */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/ocispec.h"

/* Under $TMPDIR (run.sh points it at its work directory, removed even after a crash). */
static char g_root[256];

static void scratch_remove(void)
{
    char path[320];

    snprintf(path, sizeof path, "%s/etc/passwd", g_root);
    unlink(path);
    snprintf(path, sizeof path, "%s/etc/group", g_root);
    unlink(path);
    snprintf(path, sizeof path, "%s/etc", g_root);
    rmdir(path);
    rmdir(g_root);
}

static void part(const char **s, size_t *n, const char **p, size_t *len)
{
    const char *nul = memchr(*s, 0, *n);

    *p = *s;
    *len = nul ? (size_t)(nul - *s) : *n;
    *s += nul ? *len + 1 : *len;
    *n -= nul ? *len + 1 : *len;
}

static void put(const char *file, const char *p, size_t n)
{
    char path[320];
    FILE *f;

    snprintf(path, sizeof path, "%s/etc/%s", g_root, file);
    if ((f = fopen(path, "w"))) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
}

static json_t *js(const char *p, size_t n)
{
    json_t *v = json_loadb(p, n, 0, NULL);

    return json_is_object(v) ? v : (json_decref(v), json_object());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *p[5];
    size_t n = size, len[5];
    json_t *pod, *ctr, *cfg, *argv = json_pack("[s]", "sh"), *env = json_array(), *spec;
    struct ocispec_user u;
    struct err err;
    char user[320];

    if (!g_root[0]) {
        const char *tmp = getenv("TMPDIR");

        snprintf(g_root, sizeof g_root, "%.200s/kroll-fuzz-ocispec.%d", tmp && *tmp ? tmp : "/tmp",
                 (int)getpid());
        mkdir(g_root, 0700);
        snprintf(user, sizeof user, "%s/etc", g_root);
        mkdir(user, 0700);
        atexit(scratch_remove);
    }
    for (int i = 0; i < 5; i++)
        part(&s, &n, &p[i], &len[i]);
    put("passwd", p[0], len[0]);
    put("group", p[1], len[1]);
    snprintf(user, sizeof user, "%.*s", (int)(len[2] < 255 ? len[2] : 255), p[2]);
    pod = js(p[3], len[3]);
    ctr = js(p[4], len[4]);
    cfg = json_pack("{s:s}", "User", user);
    err_init(&err);
    if (ocispec_user_resolve(pod, ctr, cfg, g_root, &u, &err) == 0) {
        struct ocispec_in in = {.pod = pod, .container = ctr, .argv = argv, .env = env,
                                .user = &u, .netns = "/proc/1/ns/net", .pids_limit = 64};

        spec = ocispec_build(&in, &err);
        json_decref(spec);
    }
    ocispec_qos_class(pod);
    err_release(&err);
    json_decref(pod), json_decref(ctr), json_decref(cfg), json_decref(argv), json_decref(env);
    return 0;
}
