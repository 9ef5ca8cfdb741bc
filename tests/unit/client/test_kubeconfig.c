/* The client's kubeconfig reader (client/kubeconfig.c): the current context's cluster and user,
 * inline or beside the file, and a clear error naming the field for each thing a kubeconfig can
 * get wrong; a one-shot request to a server that is not there fails with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/kubeconfig.h"
#include "core/file.h"
#include "core/log.h"

/* base64 of "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" */
#define CA64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="

static char dir[64];

static char *put(const char *name, const char *text)
{
    char *p = xasprintf("%s/%s", dir, name);

    assert_int_equal(file_write_atomic(p, text, strlen(text), 0600), 0);
    return p;
}

static char *config(const char *server, const char *cluster_extra, const char *user,
                    const char *current)
{
    char *text = xasprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n"
                           "    server: %s\n%s"
                           "users:\n- name: u1\n  user:\n%s"
                           "contexts:\n- name: other\n  context: {cluster: nope, user: u1}\n"
                           "- name: ctx\n  context:\n    cluster: c1\n    user: u1\n"
                           "    namespace: models\n"
                           "current-context: %s\n",
                           server, cluster_extra, user, current);
    char *p = put("config", text);

    free(text);
    return p;
}

static void expect_error(const char *path, const char *needle)
{
    struct kc_config c;
    struct err err;

    err_init(&err);
    assert_int_equal(kc_config_load(path, &c, &err), -1);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" does not name \"%s\"", err.msg, needle);
    assert_null(c.server);
    err_release(&err);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kroll-kubeconfig-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);

    (void)state;
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return 0;
}

static void test_inline(void **state)
{
    char *p = config("https://127.0.0.1:6443/", "    certificate-authority-data: " CA64 "\n",
                     "    token: abc.def\n", "ctx");
    struct kc_config c;
    struct err err;

    (void)state;
    err_init(&err);
    assert_int_equal(kc_config_load(p, &c, &err), 0);
    assert_string_equal(c.server, "https://127.0.0.1:6443");
    assert_string_equal(c.host, "127.0.0.1");
    assert_int_equal(c.port, 6443);
    assert_string_equal(c.token, "abc.def");
    assert_string_equal(c.namespace, "models");
    assert_non_null(strstr(c.ca_pem, "-----BEGIN CERTIFICATE-----"));
    kc_config_free(&c);
    err_release(&err);
    free(p);
}

static void test_files_beside(void **state)
{
    char *ca = put("ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    char *tok = put("token", "t0ken\n");
    char *p = config("https://[::1]:8443", "    certificate-authority: ca.crt\n",
                     "    tokenFile: token\n", "ctx");
    struct kc_config c;
    struct err err;

    (void)state;
    err_init(&err);
    assert_int_equal(kc_config_load(p, &c, &err), 0);
    assert_string_equal(c.host, "::1");
    assert_int_equal(c.port, 8443);
    assert_string_equal(c.token, "t0ken");
    kc_config_free(&c);
    err_release(&err);
    free(p);
    free(ca);
    free(tok);
}

static void test_errors(void **state)
{
    static const char ca[] = "    certificate-authority-data: " CA64 "\n";
    static const char tok[] = "    token: abc\n";
    char *p, *big;

    (void)state;
    expect_error("/nonexistent/kubeconfig", "cannot read");
    p = config("https://127.0.0.1:6443", ca, tok, "missing");
    expect_error(p, "current-context \"missing\" names no context");
    free(p);
    p = config("https://127.0.0.1:6443", ca, tok, "other");
    expect_error(p, "names no cluster");
    free(p);
    p = config("http://127.0.0.1:6443", ca, tok, "ctx");
    expect_error(p, "is not https://HOST:PORT");
    free(p);
    p = config("https://127.0.0.1", ca, tok, "ctx");
    expect_error(p, "has no port");
    free(p);
    p = config("https://127.0.0.1:99999", ca, tok, "ctx");
    expect_error(p, "no valid port");
    free(p);
    p = config("https://127.0.0.1:6443", "    certificate-authority-data: bm90IGEgY2VydA==\n", tok,
               "ctx");
    expect_error(p, "holds no PEM certificate");
    free(p);
    p = config("https://127.0.0.1:6443", "", tok, "ctx");
    expect_error(p, "neither certificate-authority-data");
    free(p);
    p = config("https://127.0.0.1:6443", "    certificate-authority: /nonexistent/ca\n", tok,
               "ctx");
    expect_error(p, "cannot read /nonexistent/ca");
    free(p);
    p = config("https://127.0.0.1:6443", ca, "    username: admin\n", "ctx");
    expect_error(p, "has no bearer token");
    free(p);
    p = put("config", "clusters: [\n");
    expect_error(p, "config");
    free(p);
    big = xmalloc(KC_CONFIG_MAX_BYTES + 2);
    memset(big, '#', KC_CONFIG_MAX_BYTES + 1);
    big[KC_CONFIG_MAX_BYTES + 1] = 0;
    p = put("config", big);
    expect_error(p, "larger than");
    free(p);
    free(big);
}

static void test_rest_unreachable(void **state)
{
    char *p = config("https://127.0.0.1:1", "    certificate-authority-data: " CA64 "\n",
                     "    token: abc\n", "ctx");
    struct kc_config c;
    struct err err;
    json_t *out = (json_t *)1;

    (void)state;
    err_init(&err);
    assert_int_equal(kc_config_load(p, &c, &err), 0);
    assert_int_equal(kc_rest_do(&c, "GET", "/version", NULL, NULL, 0, 2000, &out, &err), -1);
    assert_null(out);
    assert_non_null(strstr(err.msg, "GET /version"));
    kc_config_free(&c);
    err_release(&err);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_files_beside),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_rest_unreachable),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
