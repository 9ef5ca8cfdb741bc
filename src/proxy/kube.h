/* The proxy's view of the kroll API server in API-client mode: the kubeconfig the server writes
 * (server URL, CA data, bearer token), from which the provider makes its client. */
#ifndef KROLL_PROXY_KUBE_H
#define KROLL_PROXY_KUBE_H

#include <stddef.h>

struct px_kube {
    char *server; /* https://HOST:PORT from the kubeconfig */
    char *token;
    char *ca_pem; /* the kubeconfig's certificate-authority-data, decoded: trusted alone */
};

/* Reads path (a kubeconfig as kroll writes it). 0, or -1 with msg. */
int px_kube_config_load(const char *path, struct px_kube *kc, char *msg, size_t msgn);
void px_kube_config_free(struct px_kube *kc);

#endif
