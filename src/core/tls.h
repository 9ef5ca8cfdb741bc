/* TLS for the API server: a CA and a server certificate generated on first start under
 * <data-dir>/pki/, a bearer token, and the OpenSSL server context. */
#ifndef KROLL_CORE_TLS_H
#define KROLL_CORE_TLS_H

#include <openssl/ssl.h>

#include "core/err.h"

/* Creates pki_dir/{ca.crt,ca.key,server.crt,server.key,token,sa.key} when missing (keys
 * 0600; sa.key signs ServiceAccount tokens). Existing files are kept, so kubeconfigs stay valid
 * across restarts; a server certificate without svc_ip (the `kubernetes` Service's cluster IP,
 * may be NULL) among its SANs is reissued from the CA. */
int tls_pki_ensure(const char *pki_dir, const char *svc_ip, struct err *err);
/* The private key in pki_dir/name (PEM), or NULL. */
EVP_PKEY *tls_key_load(const char *pki_dir, const char *name);
/* Server context using pki_dir's server certificate; NULL with err set on failure. */
SSL_CTX *tls_server_ctx(const char *pki_dir, struct err *err);
/* Client context trusting pki_dir's CA (for kroll's own API clients: the proxy, tests). */
SSL_CTX *tls_client_ctx(const char *pki_dir, struct err *err);
/* Fills out with n random bytes from getrandom(). */
void random_bytes(void *out, size_t n);

#endif
