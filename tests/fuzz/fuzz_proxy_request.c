/* libFuzzer target for the proxy's request path: the input is a client byte stream, split at
 * a position taken from its first byte (as two socket reads), parsed by llhttp with the proxy's
 * head callbacks under small limits, classified (smuggling shapes) and, when accepted, rewritten
 * into the upstream head. Crashes, leaks, a rewritten head that llhttp cannot parse back, or one
 * that carries a hop-by-hop header are findings. Build: clang -g -fsanitize=fuzzer,address,undefined
 * -D_GNU_SOURCE -Isrc -I/usr/share/include/llhttp tests/fuzz/fuzz_proxy_request.c
 * src/proxy/http.c src/core/{buf,err,log}.c /usr/share/llhttp/{llhttp,api,http}.c -ljansson */
#include <llhttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "proxy/proxy-int.h"

static int on_url(llhttp_t *p, const char *at, size_t n) { return px_head_url(p->data, at, n); }
static int on_field(llhttp_t *p, const char *at, size_t n) { return px_head_field(p->data, at, n); }
static int on_value(llhttp_t *p, const char *at, size_t n) { return px_head_value(p->data, at, n); }
static int on_headers(llhttp_t *p) { return HPE_PAUSED; }

static void check_rewritten(const struct buf *out)
{
    llhttp_settings_t s;
    llhttp_t p;
    struct px_head back;

    llhttp_settings_init(&s);
    s.on_url = on_url;
    s.on_header_field = on_field;
    s.on_header_value = on_value;
    s.on_headers_complete = on_headers;
    px_head_init(&back, 1 << 20, 10000);
    llhttp_init(&p, HTTP_REQUEST, &s);
    p.data = &back;
    if (llhttp_execute(&p, out->data, out->len) != HPE_PAUSED)
        abort(); /* the proxy produced a head that does not parse */
    for (int i = 0; i < back.n; i++)
        if (px_head_is(&back, i, "keep-alive") || px_head_is(&back, i, "te") ||
            px_head_is(&back, i, "proxy-connection"))
            abort(); /* a hop-by-hop header went through */
    px_head_release(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    llhttp_settings_t s;
    llhttp_t p;
    struct px_head hd;
    struct buf out;
    size_t cut = size ? data[0] % (size + 1) : 0;
    llhttp_errno_t e;

    llhttp_settings_init(&s);
    s.on_url = on_url;
    s.on_header_field = on_field;
    s.on_header_value = on_value;
    s.on_headers_complete = on_headers;
    px_head_init(&hd, 2048, 32);
    llhttp_init(&p, HTTP_REQUEST, &s);
    p.data = &hd;
    e = llhttp_execute(&p, (const char *)data, cut);
    if (e == HPE_OK)
        e = llhttp_execute(&p, (const char *)data + cut, size - cut);
    if (e == HPE_PAUSED) {
        struct px_req_info ri = {.method = llhttp_method_name(llhttp_get_method(&p)),
                                 .major = 1, .minor = 1, .client_ip = "127.0.0.1",
                                 .host_fallback = "127.0.0.1:80", .upgrade = 0};

        px_head_finish(&hd, 1);
        buf_init(&out, 1 << 20);
        /* The worker refuses bad heads and non-HTTP methods before rewriting (400). */
        if (!(hd.flags & PX_H_BAD) && px_method_is_http(llhttp_get_method(&p)) &&
            px_head_build_request(&hd, &ri, &out) == 0)
            check_rewritten(&out);
        buf_release(&out);
    }
    px_head_release(&hd);
    return 0;
}
