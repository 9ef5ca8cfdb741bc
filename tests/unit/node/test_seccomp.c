/* Seccomp profiles: the RuntimeDefault shape and its capability conditionals, the Localhost
 * loader's path rules (relative, no "..", no symlink out, size limit) and the docker-format
 * converter, with every refusal it makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jx.h"
#include "node/seccomp.h"

static char g_dir[256];

/* The first rule that names sc (and has no args when plain), or NULL. */
static const json_t *rule_for(const json_t *p, const char *sc, int with_args)
{
    size_t i, j;
    json_t *r, *n;

    json_array_foreach(json_object_get(p, "syscalls"), i, r)
    {
        if (!!json_object_get(r, "args") != with_args)
            continue;
        json_array_foreach(json_object_get(r, "names"), j,
                           n) if (strcmp(json_string_value(n), sc) == 0) return r;
    }
    return NULL;
}

static int allowed(const json_t *p, const char *sc)
{
    const json_t *r = rule_for(p, sc, 0);

    return r && strcmp(jx_str(r, "action"), "SCMP_ACT_ALLOW") == 0;
}

static void test_default_shape(void **state)
{
    json_t *caps = json_pack("[s,s]", "CAP_CHOWN", "CAP_NET_BIND_SERVICE");
    json_t *p = seccomp_runtime_default(caps);
    const json_t *clone = rule_for(p, "clone", 1), *c3 = rule_for(p, "clone3", 0);
    json_t *arches = json_object_get(p, "architectures");

    assert_string_equal(jx_str(p, "defaultAction"), "SCMP_ACT_ERRNO");
    assert_int_equal(jx_int(p, "defaultErrnoRet", 0), EPERM);
#if defined(__x86_64__)
    assert_int_equal(json_array_size(arches), 3);
    assert_string_equal(json_string_value(json_array_get(arches, 0)), "SCMP_ARCH_X86_64");
    assert_true(allowed(p, "arch_prctl"));
#endif
    assert_true(allowed(p, "read"));
    assert_true(allowed(p, "execve"));
    assert_true(allowed(p, "futex_waitv"));
    assert_true(allowed(p, "ptrace")); /* kernel >= 4.8 on every machine kroll supports */
    /* Without the capabilities: no mount, unshare, reboot, module or clock setting. */
    assert_false(allowed(p, "mount"));
    assert_false(allowed(p, "unshare"));
    assert_false(allowed(p, "reboot"));
    assert_false(allowed(p, "init_module"));
    assert_false(allowed(p, "clock_settime"));
    assert_false(allowed(p, "keyctl"));
    /* clone only without namespace flags; clone3 gets ENOSYS so libc falls back to clone. */
    assert_non_null(clone);
    assert_string_equal(jx_str(json_array_get(json_object_get(clone, "args"), 0), "op"),
                        "SCMP_CMP_MASKED_EQ");
    assert_int_equal(jx_int(json_array_get(json_object_get(clone, "args"), 0), "value", 0),
                     0x7E020000);
    assert_non_null(c3);
    assert_string_equal(jx_str(c3, "action"), "SCMP_ACT_ERRNO");
    assert_int_equal(jx_int(c3, "errnoRet", 0), ENOSYS);
    /* personality: exactly the five personas containerd allows. */
    {
        size_t i, n = 0;
        json_t *r;

        json_array_foreach(json_object_get(p, "syscalls"), i, r) n +=
            strcmp(json_string_value(json_array_get(json_object_get(r, "names"), 0)),
                   "personality") == 0;
        assert_int_equal(n, 5);
    }
    json_decref(p);
    json_decref(caps);
}

static void test_default_caps(void **state)
{
    json_t *caps =
        json_pack("[s,s,s,s]", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_MODULE", "CAP_SYS_TIME");
    json_t *p = seccomp_runtime_default(caps), *none = seccomp_runtime_default(NULL);

    assert_true(allowed(p, "mount"));
    assert_true(allowed(p, "unshare"));
    assert_true(allowed(p, "clone")); /* unfiltered with CAP_SYS_ADMIN */
    assert_true(allowed(p, "clone3"));
    assert_null(rule_for(p, "clone", 1));
    assert_true(allowed(p, "reboot"));
    assert_true(allowed(p, "finit_module"));
    assert_true(allowed(p, "clock_settime"));
    assert_false(allowed(p, "process_vm_readv")); /* CAP_SYS_PTRACE not given */
    assert_false(allowed(p, "acct"));
    /* NULL caps is the empty bounding set. */
    assert_false(allowed(none, "mount"));
    assert_non_null(rule_for(none, "clone", 1));
    json_decref(p);
    json_decref(none);
    json_decref(caps);
}

static int convert(const char *text, const json_t *caps, json_t **out, char *msg)
{
    struct err e;
    int rc;

    err_init(&e);
    rc = seccomp_profile_convert(text, strlen(text), caps, out, &e);
    snprintf(msg, 1024, "%.1000s", e.msg);
    err_release(&e);
    return rc;
}

static void test_convert_docker_format(void **state)
{
    const char *text =
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
        "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":"
        "[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]},{\"architecture\":\"SCMP_ARCH_AARCH64\","
        "\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],"
        "\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
        "{\"name\":\"mount\",\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":"
        "[\"CAP_SYS_ADMIN\"]}},"
        "{\"name\":\"kill\",\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13,\"excludes\":"
        "{\"caps\":[\"CAP_KILL\"]}},"
        "{\"name\":\"personality\",\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
        "\"value\":8,\"op\":\"SCMP_CMP_EQ\"}],\"comment\":\"x\"},"
        "{\"name\":\"arch_prctl\",\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":"
        "[\"s390x\"]}},"
        "{\"name\":\"uname\",\"action\":\"SCMP_ACT_LOG\",\"includes\":{\"minKernel\":\"3.0\"}}]}";
    json_t *caps = json_pack("[s]", "CAP_KILL"), *p = NULL, *r;
    char msg[1024];

    assert_int_equal(convert(text, caps, &p, msg), 0);
    assert_string_equal(jx_str(p, "defaultAction"), "SCMP_ACT_ERRNO");
    assert_int_equal(jx_int(p, "defaultErrnoRet", 0), 1);
#if defined(__x86_64__)
    assert_int_equal(json_array_size(json_object_get(p, "architectures")), 3);
#endif
    /* read+write; mount left out (no CAP_SYS_ADMIN); kill left out (excluded by CAP_KILL);
     * personality with its argument; arch_prctl left out (s390x only); uname kept. */
    assert_int_equal(json_array_size(json_object_get(p, "syscalls")), 3);
    assert_true(allowed(p, "write"));
    assert_null(rule_for(p, "mount", 0));
    assert_null(rule_for(p, "kill", 0));
    r = (json_t *)rule_for(p, "personality", 1);
    assert_non_null(r);
    assert_null(json_object_get(r, "comment"));
    assert_string_equal(jx_str(json_array_get(json_object_get(r, "args"), 0), "op"), "SCMP_CMP_EQ");
    assert_string_equal(jx_str(rule_for(p, "uname", 0), "action"), "SCMP_ACT_LOG");
    json_decref(p);
    json_decref(caps);
}

static void test_convert_refusals(void **state)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[]", "not a JSON object"},
        {"{\"defaultAction\":1}", "must be a string"},
        {"{}", "defaultAction is required"},
        {"{\"defaultAction\":\"SCMP_ACT_NOPE\"}", "unknown action \"SCMP_ACT_NOPE\""},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_Z80\"]}",
         "unknown architecture \"SCMP_ARCH_Z80\""},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86\"],"
         "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86\"}]}",
         "use either"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"flags\":[\"SECCOMP_FILTER_FLAG_X\"]}",
         "unknown flag"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"listenerPath\":\"/run/x.sock\"}",
         "listeners are not supported"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],"
         "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
         "syscalls[0].action: unknown action "
         "\"SCMP_ACT_NOTIFY\""},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"name\":\"a\",\"names\":"
         "[\"b\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
         "use either 'name' or 'names'"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"action\":\"SCMP_ACT_ALLOW\"}]}",
         "names no syscall"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"name\":\"read\",\"action\":"
         "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
         "index must be an argument index"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"name\":\"read\",\"action\":"
         "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ABOUT\"}]}]}",
         "unknown operator \"SCMP_CMP_ABOUT\""},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"name\":\"read\",\"action\":"
         "\"SCMP_ACT_ERRNO\",\"errnoRet\":-1}]}",
         "errnoRet must be an errno"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"name\":\"read\",\"action\":"
         "\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"five\"}}]}",
         "minKernel"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":{}}", "syscalls must be a list"},
    };
    char msg[1024];
    json_t *p;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = (json_t *)1;
        assert_true(convert(bad[i].text, NULL, &p, msg) < 0);
        assert_null(p);
        if (!strstr(msg, bad[i].want))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, msg, bad[i].want);
    }
}

static void write_file(const char *rel, const char *text, size_t len)
{
    char path[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", g_dir, rel);
    assert_non_null(f = fopen(path, "w"));
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static int localhost(const char *name, json_t **out, char *msg)
{
    struct err e;
    int rc;

    err_init(&e);
    rc = seccomp_localhost(g_dir, name, NULL, out, &e);
    snprintf(msg, 1024, "%.1000s", e.msg);
    err_release(&e);
    return rc;
}

static void test_localhost_paths(void **state)
{
    const char *ok = "{\"defaultAction\":\"SCMP_ACT_LOG\"}";
    char path[PATH_MAX], msg[1024], *big;
    json_t *p = NULL;

    snprintf(path, sizeof path, "%s/seccomp/profiles", g_dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file("seccomp/profiles/audit.json", ok, strlen(ok));
    write_file("outside.json", ok, strlen(ok));
    assert_int_equal(localhost("profiles/audit.json", &p, msg), 0);
    assert_string_equal(jx_str(p, "defaultAction"), "SCMP_ACT_LOG");
    json_decref(p);
    assert_true(localhost("/etc/passwd", &p, msg) < 0);
    assert_non_null(strstr(msg, "must be a relative path"));
    assert_true(localhost("profiles/../../outside.json", &p, msg) < 0);
    assert_non_null(strstr(msg, "must not contain '..'"));
    assert_true(localhost("", &p, msg) < 0);
    assert_true(localhost("profiles/missing.json", &p, msg) < 0);
    assert_non_null(strstr(msg, "No such file"));
    /* A symlink that leads out of <data-dir>/seccomp is refused, one inside is followed. */
    snprintf(path, sizeof path, "%s/seccomp/escape.json", g_dir);
    assert_int_equal(symlink("../outside.json", path), 0);
    assert_true(localhost("escape.json", &p, msg) < 0);
    assert_null(p);
    assert_non_null(strstr(msg, "out of the profile directory"));
    snprintf(path, sizeof path, "%s/seccomp/inside.json", g_dir);
    assert_int_equal(symlink("profiles/audit.json", path), 0);
    assert_int_equal(localhost("inside.json", &p, msg), 0);
    json_decref(p);
    /* Size limit, and a bad profile's message names the file. */
    big = malloc(SECCOMP_PROFILE_MAX_BYTES + 2);
    memset(big, ' ', SECCOMP_PROFILE_MAX_BYTES + 1);
    write_file("seccomp/big.json", big, SECCOMP_PROFILE_MAX_BYTES + 1);
    free(big);
    assert_true(localhost("big.json", &p, msg) < 0);
    assert_non_null(strstr(msg, "larger than"));
    write_file("seccomp/bad.json", "{\"defaultAction\":\"SCMP_ACT_X\"}", 30);
    assert_true(localhost("bad.json", &p, msg) < 0);
    assert_string_equal(msg, "seccomp: localhost profile \"bad.json\": defaultAction: unknown "
                             "action \"SCMP_ACT_X\"");
}

static int setup(void **state)
{
    char path[PATH_MAX];

    snprintf(g_dir, sizeof g_dir, "%s/kroll-seccomp.XXXXXX", getenv("TMPDIR") ?: "/tmp");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(path, sizeof path, "%s/seccomp", g_dir);
    return mkdir(path, 0755);
}

static int teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_shape),         cmocka_unit_test(test_default_caps),
        cmocka_unit_test(test_convert_docker_format), cmocka_unit_test(test_convert_refusals),
        cmocka_unit_test(test_localhost_paths),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
