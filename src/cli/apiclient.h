/* The CLI's HTTPS access to this data dir's API server (kroll rollouts, the demo's reads): the
 * data dir's kubeconfig read by the client layer (client/kubeconfig.h), one request at a time
 * through it, bounded bodies and timeouts. */
#ifndef KROLL_CLI_APICLIENT_H
#define KROLL_CLI_APICLIENT_H

#include <jansson.h>

#include "client/kubeconfig.h"

struct cli_api {
    struct kc_config cfg; /* server, host, port, token, ca_pem from the kubeconfig */
    char ca_file[512];    /* the data dir's CA file (the dashboard tells browsers to trust it) */
    int timeout_s;        /* of each whole request; cli_api_load sets 30 */
};

#define CLI_API_MAX_BODY (64u << 20) /* bytes of one answer */

/* 0, or -1 when the kubeconfig or CA cannot be read (the message is printed). */
int cli_api_open(struct cli_api *a, const char *data_dir);
/* The same without printing: -1 with err set. */
struct err;
int cli_api_load(struct cli_api *a, const char *data_dir, struct err *err);
void cli_api_close(struct cli_api *a);
/* One request: method, path, Content-Type and body (both NULL for none). Returns the HTTP
 * status (-1 when the server cannot be reached) and the parsed JSON answer in *out (new
 * reference, NULL when none or not JSON). */
int cli_api_do(struct cli_api *a, const char *method, const char *path, const char *ctype,
               const json_t *body, json_t **out);
/* The message of a Status answer, or a fallback naming the HTTP status. */
const char *cli_api_msg(const json_t *status, int code, char *buf, size_t n);

#endif
