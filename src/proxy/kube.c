/* The proxy's kubeconfig (kube.h): reads the file the server writes (server URL, CA data, bearer
 * token), for the client (client/kc.h) the provider makes from it, trusting that CA alone. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/log.h"
#include "proxy/kube.h"

/* The value after "key:" on the first line that has it (the kubeconfig kroll writes is flat
 * enough for this); NULL when absent. */
static char *conf_value(const char *text, const char *key)
{
    size_t kl = strlen(key);

    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *s = p, *e;

        while (*s == ' ' || *s == '-')
            s++;
        if (strncmp(s, key, kl) || s[kl] != ':')
            continue;
        s += kl + 1;
        while (*s == ' ')
            s++;
        e = s + strcspn(s, "\r\n");
        while (e > s && e[-1] == ' ')
            e--;
        if (e > s && (*s == '"' || *s == '\'') && e[-1] == *s) {
            s++;
            e--;
        }
        return xasprintf("%.*s", (int)(e - s), s);
    }
    return NULL;
}

/* The base64 certificate-authority-data decoded to PEM text (malloc'd), or NULL when it holds
 * no PEM certificate. */
static char *pem_from_ca(const char *ca64)
{
    size_t n = strlen(ca64);
    char *pem = xmalloc(n + 4);
    int len = EVP_DecodeBlock((unsigned char *)pem, (const unsigned char *)ca64, (int)n);

    if (len <= 0 || !memmem(pem, (size_t)len, "-----BEGIN CERTIFICATE-----", 27)) {
        free(pem);
        return NULL;
    }
    pem[len] = 0;
    return pem;
}

int px_kube_config_load(const char *path, struct px_kube *kc, char *msg, size_t msgn)
{
    char *text = file_read_all(path, NULL), *server = NULL, *ca = NULL, *p;
    int rc = -1;

    memset(kc, 0, sizeof *kc);
    if (!text) {
        snprintf(msg, msgn, "cannot read %s", path);
        return -1;
    }
    server = conf_value(text, "server");
    ca = conf_value(text, "certificate-authority-data");
    kc->token = conf_value(text, "token");
    if (!server || strncmp(server, "https://", 8) || !ca || !kc->token) {
        snprintf(msg, msgn,
                 "%s: needs server (https://HOST:PORT), certificate-authority-data "
                 "and token",
                 path);
        goto out;
    }
    p = strrchr(server + 8, ':');
    if (!p || atoi(p + 1) <= 0 || atoi(p + 1) > 65535) {
        snprintf(msg, msgn, "%s: server %s has no port", path, server);
        goto out;
    }
    for (p = server + strlen(server); p > server + 8 && p[-1] == '/';)
        *--p = 0;
    kc->server = xstrdup(server);
    kc->ca_pem = pem_from_ca(ca);
    if (!kc->ca_pem) {
        snprintf(msg, msgn, "%s: certificate-authority-data holds no PEM certificate", path);
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        px_kube_config_free(kc);
    free(text);
    free(server);
    free(ca);
    return rc;
}

void px_kube_config_free(struct px_kube *kc)
{
    free(kc->server);
    free(kc->token);
    free(kc->ca_pem);
    memset(kc, 0, sizeof *kc);
}
