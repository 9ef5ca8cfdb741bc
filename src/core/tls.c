/* CA, server certificate and token generation with OpenSSL 3, and SSL_CTX setup.
 * Certificates use ECDSA P-256 and are valid for ten years; the server certificate names
 * localhost, 127.0.0.1, ::1 and the in-cluster kubernetes names. */
#include "core/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"

void random_bytes(void *out, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom((char *)out + got, n - got, 0);

        if (r < 0 && errno != EINTR)
            die("getrandom: %s", strerror(errno));
        if (r > 0)
            got += (size_t)r;
    }
}

static EVP_PKEY *key_new(void)
{
    return EVP_EC_gen("P-256");
}

/* Opens path for writing with exactly mode: O_TRUNC keeps an existing file's mode, so a key
 * file left 0644 by an older run is tightened here, and the umask cannot loosen it. */
static FILE *pem_open(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    FILE *f;

    if (fd < 0)
        return NULL;
    if (fchmod(fd, mode) < 0 || !(f = fdopen(fd, "w"))) {
        close(fd);
        return NULL;
    }
    return f;
}

static int pem_write_key(const char *path, EVP_PKEY *k)
{
    FILE *f = pem_open(path, 0600);
    int ok;

    if (!f)
        return -errno;
    ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : -EIO;
}

static int pem_write_cert(const char *path, X509 *c)
{
    FILE *f = pem_open(path, 0644);
    int ok;

    if (!f)
        return -errno;
    ok = PEM_write_X509(f, c);
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : -EIO;
}

static void cert_ext(X509 *issuer, X509 *c, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, c, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext) {
        X509_add_ext(c, ext, -1);
        X509_EXTENSION_free(ext);
    }
}

static X509 *cert_make(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int is_ca,
                       const char *san)
{
    X509 *c = X509_new();
    unsigned char serial[16];
    BIGNUM *bn;

    random_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
    BN_free(bn);
    X509_set_version(c, 2);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 10L * 365 * 24 * 3600);
    X509_set_pubkey(c, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(c));
    if (is_ca) {
        cert_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
        cert_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
        cert_ext(c, c, NID_subject_key_identifier, "hash");
    } else {
        cert_ext(issuer, c, NID_basic_constraints, "critical,CA:FALSE");
        cert_ext(issuer, c, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        cert_ext(issuer, c, NID_ext_key_usage, "serverAuth,clientAuth");
        cert_ext(issuer, c, NID_subject_alt_name, san);
    }
    if (!X509_sign(c, issuer_key, EVP_sha256())) {
        X509_free(c);
        return NULL;
    }
    return c;
}

static int exists(const char *dir, const char *name)
{
    char p[4096];

    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, R_OK) == 0;
}

/* Writes a server certificate and key for dir's CA, naming the host, loopback and the
 * in-cluster names, plus svc_ip (the `kubernetes` Service's cluster IP) when not NULL. */
static int server_cert_issue(const char *dir, X509 *ca, EVP_PKEY *cakey, const char *svc_ip)
{
    char p[4096], host[256] = "localhost", san[1024];
    EVP_PKEY *key = key_new();
    X509 *srv = NULL;
    int rc = -E_INTERNAL;

    gethostname(host, sizeof host - 1);
    snprintf(san, sizeof san,
             "DNS:localhost,DNS:%s,DNS:kubernetes,DNS:kubernetes.default,"
             "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,"
             "IP:127.0.0.1,IP:::1%s%s",
             host, svc_ip ? ",IP:" : "", svc_ip ? svc_ip : "");
    if (!key || !(srv = cert_make(key, "kroll-apiserver", ca, cakey, 0, san)))
        goto out;
    snprintf(p, sizeof p, "%s/server.key", dir);
    if ((rc = pem_write_key(p, key)) < 0)
        goto out;
    snprintf(p, sizeof p, "%s/server.crt", dir);
    rc = pem_write_cert(p, srv);
out:
    X509_free(srv);
    EVP_PKEY_free(key);
    return rc;
}

static void *pem_load(const char *dir, const char *name, int is_key)
{
    char p[4096];
    FILE *f;
    void *v;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (!(f = fopen(p, "re")))
        return NULL;
    v = is_key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
               : (void *)PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return v;
}

EVP_PKEY *tls_key_load(const char *dir, const char *name)
{
    return pem_load(dir, name, 1);
}

/* A server certificate from an older kroll lacks the Service IP: reissue it from the CA. */
static int server_cert_update(const char *dir, const char *svc_ip)
{
    X509 *srv = pem_load(dir, "server.crt", 0), *ca = NULL;
    EVP_PKEY *cakey = NULL;
    int rc = 0;

    if (srv && X509_check_ip_asc(srv, svc_ip, 0) == 1)
        goto out;
    ca = pem_load(dir, "ca.crt", 0);
    cakey = pem_load(dir, "ca.key", 1);
    if (!ca || !cakey) {
        log_warn("tls",
                 "msg=\"server certificate lacks the kubernetes Service IP and the CA key "
                 "is unreadable: in-cluster clients will not verify it\" ip=%s",
                 svc_ip);
        goto out;
    }
    rc = server_cert_issue(dir, ca, cakey, svc_ip);
out:
    X509_free(srv);
    X509_free(ca);
    EVP_PKEY_free(cakey);
    return rc;
}

static int sa_key_ensure(const char *dir)
{
    char p[4096];
    EVP_PKEY *k;
    int rc;

    if (exists(dir, "sa.key"))
        return 0;
    if (!(k = key_new()))
        return -E_INTERNAL;
    snprintf(p, sizeof p, "%s/sa.key", dir);
    rc = pem_write_key(p, k);
    EVP_PKEY_free(k);
    return rc;
}

int tls_pki_ensure(const char *dir, const char *svc_ip, struct err *err)
{
    char p[4096], tok[33];
    unsigned char raw[16];
    EVP_PKEY *cakey = NULL;
    X509 *ca = NULL;
    int rc = 0;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return err_set(err, -errno, "mkdir %s: %s", dir, strerror(errno));
    if (!exists(dir, "token")) {
        random_bytes(raw, sizeof raw);
        for (int i = 0; i < 16; i++)
            sprintf(tok + 2 * i, "%02x", raw[i]);
        snprintf(p, sizeof p, "%s/token", dir);
        if ((rc = file_write_atomic(p, tok, 32, 0600)) < 0)
            return err_set(err, rc, "write %s: %s", p, strerror(-rc));
    }
    if ((rc = sa_key_ensure(dir)) < 0)
        return err_set(err, rc, "generating the ServiceAccount signing key %s/sa.key failed", dir);
    if (exists(dir, "ca.crt") && exists(dir, "server.crt") && exists(dir, "server.key")) {
        if (svc_ip && (rc = server_cert_update(dir, svc_ip)) < 0)
            return err_set(err, rc, "reissuing %s/server.crt failed", dir);
        return 0;
    }
    cakey = key_new();
    if (!cakey)
        goto fail;
    ca = cert_make(cakey, "kroll-ca", NULL, cakey, 1, NULL);
    if (!ca)
        goto fail;
    snprintf(p, sizeof p, "%s/ca.key", dir);
    if ((rc = pem_write_key(p, cakey)) < 0)
        goto fail;
    snprintf(p, sizeof p, "%s/ca.crt", dir);
    if ((rc = pem_write_cert(p, ca)) < 0)
        goto fail;
    if ((rc = server_cert_issue(dir, ca, cakey, svc_ip)) < 0)
        goto fail;
    goto out;
fail:
    rc = err_set(err, rc ? rc : -E_INTERNAL, "generating certificates in %s failed", dir);
out:
    X509_free(ca);
    EVP_PKEY_free(cakey);
    return rc;
}

SSL_CTX *tls_server_ctx(const char *dir, struct err *err)
{
    char crt[4096], key[4096];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    snprintf(crt, sizeof crt, "%s/server.crt", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        err_set(err, -E_INTERNAL, "loading %s: %s", crt, ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *tls_client_ctx(const char *dir, struct err *err)
{
    char ca[4096];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        err_set(err, -E_INTERNAL, "loading %s failed", ca);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}
