/* libFuzzer target for the client's kubeconfig reader (src/client/kubeconfig.c): the input is a
 * kubeconfig's text. Whatever it holds, the reader returns 0 with every field set (an https
 * server with a port in range, a CA in PEM, a token without whitespace, a namespace) or -1 with
 * a message and nothing set. Crashes, sanitizer reports, leaks and a half-filled config are
 * findings. Files it names are looked up beside a folder that does not exist. Build: see
 * tests/fuzz/run.sh (target kubeconfig). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kc_config c;
    struct err err;

    err_init(&err);
    if (kc_config_parse((const char *)data, size, "/nonexistent/kubeconfig", &c, &err) == 0) {
        if (!c.server || strncmp(c.server, "https://", 8) || c.port <= 0 || c.port > 65535 ||
            !c.host || !c.token || !*c.token || strpbrk(c.token, " \t\r\n") || !c.ca_pem ||
            !strstr(c.ca_pem, "-----BEGIN CERTIFICATE-----") || !c.namespace)
            abort();
        kc_config_free(&c);
    } else if (c.server || c.token || c.ca_pem || !err.msg[0]) {
        abort();
    }
    err_release(&err);
    return 0;
}
