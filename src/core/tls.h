/* TLS for the API server: a CA and a server certificate generated on first start under
 * <data-dir>/pki/, a bearer token, and the OpenSSL server context. */
#ifndef KROLL_CORE_TLS_H
#define KROLL_CORE_TLS_H

#include <openssl/ssl.h>

#include "core/err.h"

/* Creates pki_dir/{ca.crt,ca.key,server.crt,server.key,token} when missing (keys 0600).
 * Existing files are kept, so kubeconfigs stay valid across restarts. */
int tls_pki_ensure(const char *pki_dir, struct err *err);
/* Server context using pki_dir's server certificate; NULL with err set on failure. */
SSL_CTX *tls_server_ctx(const char *pki_dir, struct err *err);
/* Client context trusting pki_dir's CA (for kroll's own API clients: the proxy, tests). */
SSL_CTX *tls_client_ctx(const char *pki_dir, struct err *err);
/* Fills out with n random bytes from getrandom(). */
void random_bytes(void *out, size_t n);

#endif
