/* libFuzzer target for the continue token of paged lists (src/api/continue.c): the input is
 * decoded as a token a client sends back; a token that decodes must encode to one that decodes
 * to the same revision and key, and a token made from the input split into a namespace and a
 * name must decode to them. Crashes, sanitizer reports, leaks and a failed round trip are
 * findings. Build: see tests/fuzz/run.sh (target continue). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/continue.h"
#include "core/log.h"

static void roundtrip(long long rv, const char *ns, const char *name)
{
    struct list_token t;
    struct err err;
    char *tok = list_token_encode(rv, ns, name);

    err_init(&err);
    if (list_token_decode(tok, &t, &err) < 0 || t.rv != rv || strcmp(t.ns, ns) != 0 ||
        strcmp(t.name, name) != 0)
        abort();
    free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1), *slash;
    struct list_token t;
    struct err err;

    memcpy(s, data, size);
    s[size] = 0;
    err_init(&err);
    if (list_token_decode(s, &t, &err) == 0)
        roundtrip(t.rv, t.ns, t.name);
    err_release(&err);
    /* Object keys as the store gives them: a namespace without '/', a non-empty name. */
    slash = strchr(s, '/');
    if (slash && slash[1] && strlen(slash + 1) < 200 && slash - s < 200) {
        json_t *utf8 = json_string(s); /* store keys are UTF-8 (DNS names, in fact) */

        *slash = 0;
        if (utf8)
            roundtrip((long long)size + 1, s, slash + 1);
        json_decref(utf8);
    }
    free(s);
    return 0;
}
