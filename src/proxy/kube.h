/* The proxy's view of the kroll API server in API-client mode: the kubeconfig the server writes
 * (server URL, CA data, bearer token) and GET requests over core/httpc's streaming client, whose
 * bodies callers read whole (LIST) or incrementally (watch streams). Blocking; used only by the
 * provider's threads. */
#ifndef KROLL_PROXY_KUBE_H
#define KROLL_PROXY_KUBE_H

#include "core/httpc.h"

struct px_kube {
    char *server; /* https://HOST:PORT from the kubeconfig */
    char *token;
    char *ca_pem; /* the kubeconfig's certificate-authority-data, decoded: trusted alone */
};

/* Reads path (a kubeconfig as kroll writes it). 0, or -1 with msg. */
int px_kube_config_load(const char *path, struct px_kube *kc, char *msg, size_t msgn);
void px_kube_config_free(struct px_kube *kc);
/* Sends GET path with the kubeconfig's token and reads the response head; the open and each
 * httpc_read afterwards wait at most timeout_s seconds. 0 with *out (check httpc_status(*out);
 * free with httpc_close), or -1 with msg. */
int px_kube_get(const struct px_kube *kc, const char *path, int timeout_s, struct httpc_conn **out,
                char *msg, size_t msgn);

#endif
