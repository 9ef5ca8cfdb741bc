/* The CLI's blocking API client (apiclient.h), over core/httpc with the data dir's CA: one TLS
 * connection per request, the answer capped at CLI_API_MAX_BODY, a deadline per request. */
#include "cli/apiclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/file.h"
#include "core/httpc.h"
#include "core/jx.h"
#include "core/log.h"

int cli_api_load(struct cli_api *a, const char *data_dir, struct err *err)
{
    char *kc_path = xasprintf("%s/kubeconfig", data_dir), *pki = xasprintf("%s/pki", data_dir);
    char *kc = file_read_all(kc_path, NULL), *p;
    int rc = -1;

    memset(a, 0, sizeof *a);
    a->timeout_s = 30;
    if (!kc) {
        err_set(err, -E_NOT_FOUND, "%s not found; is `kroll server --data-dir %s` running?",
                kc_path, data_dir);
        goto out;
    }
    p = strstr(kc, "server: https://");
    if (!p || sscanf(p + 16, "%63[^:]:%d", a->host, &a->port) != 2)
        goto bad;
    p = strstr(kc, "token: ");
    if (!p || sscanf(p + 7, "%255s", a->token) != 1)
        goto bad;
    snprintf(a->ca_file, sizeof a->ca_file, "%s/ca.crt", pki);
    if (access(a->ca_file, R_OK) < 0) {
        err_set(err, -E_NOT_FOUND, "cannot read %s", a->ca_file);
        a->ca_file[0] = 0;
        goto out;
    }
    rc = 0;
    goto out;
bad:
    err_set(err, -E_BAD_REQUEST, "%s has no server address or token", kc_path);
out:
    free(kc);
    free(kc_path);
    free(pki);
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
    (void)a;
}

int cli_api_do(struct cli_api *a, const char *method, const char *path, const char *ctype,
               const json_t *body, json_t **out)
{
    char *js = body ? json_dumps(body, JSON_COMPACT) : NULL, errbuf[512];
    char *url = xasprintf("https://%s:%d%s", a->host, a->port, path);
    char *hdrs = xasprintf("Authorization: Bearer %s\r\n%s%s%s", a->token,
                           ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "");
    struct httpc_req req = {.method = method,
                            .url = url,
                            .headers = hdrs,
                            .body = js,
                            .body_len = js ? strlen(js) : 0,
                            .timeout_ms = (a->timeout_s > 0 ? a->timeout_s : 30) * 1000,
                            .ca_file = a->ca_file,
                            .max_body = CLI_API_MAX_BODY,
                            .user_agent = "kroll-cli"};
    struct httpc_resp resp;
    int code = -1;

    *out = NULL;
    if (a->ca_file[0] && httpc_do(&req, &resp, errbuf, sizeof errbuf) == 0) {
        code = resp.status;
        if (resp.body_len)
            *out = json_loadb(resp.body, resp.body_len, 0, NULL);
        free(resp.body);
    }
    free(url);
    free(hdrs);
    free(js);
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
