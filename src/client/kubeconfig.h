/* A kubeconfig file, read as kubectl reads it (the current context's cluster and user), and one
 * request at a time to the server it names: for the commands that ask once and exit (the CLI's
 * `kroll rollouts ...`, the demo's samples) beside the informers of kc_https. */
#ifndef KROLL_CLIENT_KUBECONFIG_H
#define KROLL_CLIENT_KUBECONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

#define KC_CONFIG_MAX_BYTES (1u << 20) /* a kubeconfig larger than this is refused */

struct kc_config {
    char *server;    /* "https://host:port", no trailing slash */
    char *host;      /* host part of server (brackets removed from an IPv6 literal) */
    int port;        /* port of server */
    char *token;     /* bearer token */
    char *ca_pem;    /* the CA the server's certificate must chain to */
    char *namespace; /* the context's namespace ("default" when it names none) */
};

/* Reads path: current-context, its cluster's server and certificate-authority-data (or
 * certificate-authority, a file relative to the kubeconfig's folder), its user's token (or
 * tokenFile). 0, or -1 with err saying which field is missing or wrong. */
int kc_config_load(const char *path, struct kc_config *cfg, struct err *err);
/* The same for a kubeconfig's text in memory; path names it in errors and is where files it
 * names relative to it are found. */
int kc_config_parse(const char *text, size_t len, const char *path, struct kc_config *cfg,
                    struct err *err);
void kc_config_free(struct kc_config *cfg);

/* One request to cfg's server: method, path ("/api/v1/..."), Content-Type and body (NULL for
 * none), the answer capped at max_body bytes, a deadline of timeout_ms for the whole request.
 * Returns the HTTP status with the answer in *out (new reference; NULL when empty or not
 * JSON), or -1 with err set when the server cannot be reached or answers nothing whole. */
int kc_rest_do(const struct kc_config *cfg, const char *method, const char *path, const char *ctype,
               const json_t *body, size_t max_body, int timeout_ms, json_t **out, struct err *err);

#endif
