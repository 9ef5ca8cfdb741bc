/* The CLI's blocking API access (apiclient.h): the client layer's kubeconfig reader and one-shot
 * requests, the answer capped at CLI_API_MAX_BODY, a deadline per request. */
#include "cli/apiclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"

int cli_api_load(struct cli_api *a, const char *data_dir, struct err *err)
{
    char *kc_path = xasprintf("%s/kubeconfig", data_dir);
    int rc;

    memset(a, 0, sizeof *a);
    a->timeout_s = 30;
    if (access(kc_path, F_OK) < 0) {
        err_set(err, -E_NOT_FOUND, "%s not found; is `kroll server --data-dir %s` running?",
                kc_path, data_dir);
        free(kc_path);
        return -1;
    }
    rc = kc_config_load(kc_path, &a->cfg, err);
    snprintf(a->ca_file, sizeof a->ca_file, "%s/pki/ca.crt", data_dir);
    free(kc_path);
    return rc;
}

int cli_api_open(struct cli_api *a, const char *data_dir)
{
    struct err err;
    int rc;

    err_init(&err);
    rc = cli_api_load(a, data_dir, &err);
    if (rc < 0)
        fprintf(stderr, "Error: %s\n", err.msg);
    err_release(&err);
    return rc;
}

void cli_api_close(struct cli_api *a)
{
    kc_config_free(&a->cfg);
}

int cli_api_do(struct cli_api *a, const char *method, const char *path, const char *ctype,
               const json_t *body, json_t **out)
{
    struct err err;
    int code;

    *out = NULL;
    if (!a->cfg.server)
        return -1;
    err_init(&err);
    code = kc_rest_do(&a->cfg, method, path, ctype, body, CLI_API_MAX_BODY,
                      (a->timeout_s > 0 ? a->timeout_s : 30) * 1000, out, &err);
    err_release(&err);
    return code;
}

const char *cli_api_msg(const json_t *status, int code, char *buf, size_t n)
{
    const char *m = jx_str(status, "message");

    if (m)
        return m;
    if (code < 0)
        snprintf(buf, n, "the server cannot be reached");
    else
        snprintf(buf, n, "the server answered %d", code);
    return buf;
}
