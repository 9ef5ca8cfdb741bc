/* Unit tests for the cluster DNS answers (src/proxy/dns.c), queries made with ldns: A for a
 * Service's full name, SRV for a named port and for the Service, NODATA for AAAA and for a
 * headless Service, NXDOMAIN for unknown names in cluster.local, REFUSED outside it, FORMERR
 * for garbage, no reply to a response, truncation over UDP. */
#include <jansson.h>
#include <ldns/ldns.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "proxy/dns-int.h"

static json_t *view(void)
{
    json_t *v = json_pack("{s:{s:s,s:[{s:s,s:i,s:s},{s:s,s:i,s:s}]},s:{s:[{s:s,s:i,s:s}]}}",
                          "web.default", "ip", "127.77.1.2", "ports", "name", "http", "port", 80,
                          "protocol", "TCP", "name", "metrics", "port", 9090, "protocol", "TCP",
                          "db.default", "ports", "name", "pg", "port", 5432, "protocol", "TCP");
    json_t *big = json_array();

    for (int i = 0; i < 60; i++)
        json_array_append_new(
            big, json_pack("{s:s,s:i,s:s}", "name", "", "port", 1000 + i, "protocol", "TCP"));
    json_object_set_new(v, "big.default", json_pack("{s:s,s:o}", "ip", "127.77.1.3", "ports", big));
    return v;
}

/* Asks name/type; returns the reply (caller frees) and its rcode in *rcode. */
static ldns_pkt *ask(const char *name, ldns_rr_type type, size_t max, int *rcode)
{
    ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, LDNS_RD);
    json_t *v = view();
    uint8_t *wire, *out;
    size_t n, outn;
    ldns_pkt *r = NULL;

    ldns_pkt_set_id(q, 4242);
    assert_int_equal(ldns_pkt2wire(&wire, q, &n), LDNS_STATUS_OK);
    assert_int_equal(px_dns_answer(v, wire, n, max, &out, &outn, rcode), 0);
    assert_true(outn <= max);
    assert_int_equal(ldns_wire2pkt(&r, out, outn), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_id(r), 4242);
    assert_true(ldns_pkt_qr(r));
    assert_int_equal(ldns_pkt_get_rcode(r), *rcode);
    free(wire);
    free(out);
    ldns_pkt_free(q);
    json_decref(v);
    return r;
}

static char *rdata(ldns_pkt *r, int i)
{
    return ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), (size_t)i), 0));
}

static void test_a_and_nodata(void **state)
{
    int rc;
    ldns_pkt *r = ask("web.default.svc.cluster.local.", LDNS_RR_TYPE_A, 512, &rc);
    char *s;

    assert_int_equal(rc, LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(r), 1);
    s = rdata(r, 0);
    assert_string_equal(s, "127.77.1.2");
    assert_true(ldns_pkt_aa(r));
    free(s);
    ldns_pkt_free(r);
    r = ask("WEB.Default.svc.cluster.local.", LDNS_RR_TYPE_A, 512, &rc); /* case-insensitive */
    assert_int_equal(ldns_pkt_ancount(r), 1);
    ldns_pkt_free(r);
    r = ask("web.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA, 512, &rc);
    assert_int_equal(rc, LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(r), 0);
    ldns_pkt_free(r);
    r = ask("db.default.svc.cluster.local.", LDNS_RR_TYPE_A, 512, &rc); /* headless */
    assert_int_equal(rc, LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(r), 0);
    ldns_pkt_free(r);
    r = ask("default.svc.cluster.local.", LDNS_RR_TYPE_A, 512, &rc);
    assert_int_equal(rc, LDNS_RCODE_NOERROR);
    ldns_pkt_free(r);
}

static void test_srv(void **state)
{
    int rc;
    ldns_pkt *r = ask("_http._tcp.web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, 512, &rc);
    char *s;

    assert_int_equal(rc, LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(r), 1);
    s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 2));
    assert_string_equal(s, "80");
    free(s);
    s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 3));
    assert_string_equal(s, "web.default.svc.cluster.local.");
    free(s);
    ldns_pkt_free(r);
    r = ask("_nope._tcp.web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, 512, &rc);
    assert_int_equal(rc, LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(r);
    r = ask("_http._udp.web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, 512, &rc);
    assert_int_equal(rc, LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(r);
    r = ask("web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, 512, &rc);
    assert_int_equal(ldns_pkt_ancount(r), 2);
    ldns_pkt_free(r);
}

static void test_unknown_and_outside(void **state)
{
    int rc;
    ldns_pkt *r = ask("nosuch.default.svc.cluster.local.", LDNS_RR_TYPE_A, 512, &rc);

    assert_int_equal(rc, LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(r);
    r = ask("web.default.svc.cluster.local.default.svc.cluster.local.", LDNS_RR_TYPE_A, 512, &rc);
    assert_int_equal(rc, LDNS_RCODE_NXDOMAIN); /* a search-path candidate */
    ldns_pkt_free(r);
    r = ask("nosuchns.svc.cluster.local.", LDNS_RR_TYPE_A, 512, &rc);
    assert_int_equal(rc, LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(r);
    r = ask("example.com.", LDNS_RR_TYPE_A, 512, &rc);
    assert_int_equal(rc, LDNS_RCODE_REFUSED);
    assert_false(ldns_pkt_aa(r));
    ldns_pkt_free(r);
}

static void test_truncated_over_udp(void **state)
{
    int rc;
    ldns_pkt *r = ask("big.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, 512, &rc);

    assert_true(ldns_pkt_tc(r));
    assert_int_equal(ldns_pkt_ancount(r), 0);
    ldns_pkt_free(r);
    r = ask("big.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, PX_DNS_MAX_MSG, &rc);
    assert_false(ldns_pkt_tc(r));
    assert_int_equal(ldns_pkt_ancount(r), 60);
    ldns_pkt_free(r);
}

static void test_garbage(void **state)
{
    json_t *v = view();
    uint8_t *out, hdr[12] = {0xab, 0xcd, 0x01, 0x00, 0, 1}; /* claims a question, has none */
    uint8_t loop[18] = {0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    size_t outn;
    int rc;

    assert_int_equal(px_dns_answer(v, hdr, sizeof hdr, 512, &out, &outn, &rc), 0);
    assert_int_equal(rc, LDNS_RCODE_FORMERR);
    assert_int_equal(outn, 12);
    assert_int_equal(out[0], 0xab);
    assert_int_equal(out[1], 0xcd);
    free(out);
    /* a name that points at itself */
    assert_int_equal(px_dns_answer(v, loop, sizeof loop, 512, &out, &outn, &rc), 0);
    assert_int_equal(rc, LDNS_RCODE_FORMERR);
    free(out);
    assert_int_equal(px_dns_answer(v, hdr, 5, 512, &out, &outn, &rc), -1); /* no id */
    hdr[2] = 0x81; /* a response: never answered */
    assert_int_equal(px_dns_answer(v, hdr, sizeof hdr, 512, &out, &outn, &rc), -1);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_and_nodata),
        cmocka_unit_test(test_srv),
        cmocka_unit_test(test_unknown_and_outside),
        cmocka_unit_test(test_truncated_over_udp),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
