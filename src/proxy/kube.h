/* The proxy's HTTPS client for the kroll API server (API-client mode): kubeconfig loading and
 * GET requests whose body is read whole (LIST) or incrementally (watch streams). Blocking;
 * used only by the provider's threads. */
#ifndef KROLL_PROXY_KUBE_H
#define KROLL_PROXY_KUBE_H

#include <openssl/ssl.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"

struct px_kube {
    char *host; /* numeric address from the kubeconfig's server URL */
    int port;
    char *token;
    SSL_CTX *ctx; /* trusts the kubeconfig's certificate-authority-data only */
};

struct px_kube_conn {
    int fd;
    SSL *ssl;
    int status;
    int chunked, chunk_seen, done;
    int64_t clen, chunk_left; /* clen -1: read until close */
    char in[32768];
    size_t off, len;
};

/* Reads path (a kubeconfig as kroll writes it). 0, or -1 with msg. */
int px_kube_config_load(const char *path, struct px_kube *kc, char *msg, size_t msgn);
void px_kube_config_free(struct px_kube *kc);
/* Sends GET path and reads the response head; reads block at most timeout_s seconds each.
 * 0 with *out (check (*out)->status), or -1 with msg. */
int px_kube_get(struct px_kube *kc, const char *path, int timeout_s, struct px_kube_conn **out,
                char *msg, size_t msgn);
/* Decoded body bytes: > 0, 0 at the end of the body, -1 on error or timeout. */
ssize_t px_kube_read(struct px_kube_conn *c, char *out, size_t n);
/* The whole body into out; 0 or -1. */
int px_kube_read_all(struct px_kube_conn *c, struct buf *out);
void px_kube_close(struct px_kube_conn *c);

#endif
