/* The CLI's one HTTPS client to this data dir's API server (kroll rollouts, the demo's reads): address and bearer token from the data dir's kubeconfig, CA
 * from its pki dir, one connection per request, bounded bodies and timeouts. */
#ifndef KROLL_CLI_APICLIENT_H
#define KROLL_CLI_APICLIENT_H

#include <jansson.h>

struct cli_api {
    char host[64];
    int port;
    char token[256];
    char ca_file[512]; /* the data dir's CA, which the server's certificate must chain to */
    int timeout_s;     /* of each whole request; cli_api_load sets 30 */
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
