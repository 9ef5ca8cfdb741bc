/* libFuzzer target for the cluster DNS (src/proxy/dns.c): the input is a query message as a pod
 * sends it over UDP or TCP. Every reply must fit the size asked for (512 bytes over UDP) and
 * carry the query's id; crashes, sanitizer reports and leaks are findings. Build: see
 * tests/fuzz/run.sh (target dns). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "proxy/dns-int.h"

static json_t *view;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *out;
    size_t outn, max = size && (data[0] & 1) ? PX_DNS_MAX_MSG : PX_DNS_UDP_MAX;
    int rcode;

    if (!view) /* headless, two ports, one named, many ports (truncation over UDP) */
        view = json_pack("{s:{s:s,s:[{s:s,s:i,s:s},{s:s,s:i,s:s}]},s:{s:[{s:s,s:i}]},"
                         "s:{s:s,s:o}}",
                         "web.default", "ip", "127.77.1.2", "ports", "name", "http", "port", 80,
                         "protocol", "TCP", "name", "", "port", 81, "protocol", "UDP", "db.default",
                         "ports", "name", "pg", "port", 5432, "big.x", "ip", "127.77.1.3", "ports",
                         json_array());
    if (json_array_size(json_object_get(json_object_get(view, "big.x"), "ports")) == 0)
        for (int i = 0; i < 100; i++)
            json_array_append_new(
                json_object_get(json_object_get(view, "big.x"), "ports"),
                json_pack("{s:s,s:i,s:s}", "name", "p", "port", 1000 + i, "protocol", "TCP"));
    if (px_dns_answer(view, data, size, max, &out, &outn, &rcode) < 0)
        return 0;
    if (outn > max || outn < 12 || size < 2 || out[0] != data[0] || out[1] != data[1])
        abort();
    free(out);
    return 0;
}
