/* The cluster DNS answers: one query message in, one reply out, from the proxy's view of the
 * Services (docs/internals/proxy.md, "DNS"). The wire format is parsed and written by ldns
 * (Debian's libldns3), which bounds names (255 bytes, 63-byte labels) and follows compression
 * pointers only backwards; this file only decides the answer. Names served:
 *   <svc>.<ns>.svc.cluster.local             A (clusterIP), SRV (every TCP/UDP port)
 *   _<port>._<proto>.<svc>.<ns>.svc.cluster.local   SRV for a named port
 *   headless Services (clusterIP None)       NOERROR with no records (see below)
 *   other names in cluster.local             NXDOMAIN
 *   names outside cluster.local              REFUSED (nothing is forwarded)
 * A headless Service's pods have addresses (127.78.x.y) that are local to each pod's own
 * network namespace: returned to another pod they would connect it to itself. So a headless
 * name exists (NOERROR) but has no address records (NODATA), and clients fail at once. */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "proxy/dns-int.h"

#define DNS_TTL 5
#define SUFFIX ".svc.cluster.local"

/* The question's name in lower case, without the final dot; -1 if it has characters ldns must
 * escape (no Service name has them). */
static int qname_text(const ldns_rdf *owner, char *out, size_t n)
{
    char *s = ldns_rdf2str(owner);
    size_t len;

    if (!s)
        return -1;
    len = strlen(s);
    if (len && s[len - 1] == '.')
        s[--len] = 0;
    if (len >= n || strchr(s, '\\')) {
        free(s);
        return -1;
    }
    for (size_t i = 0; i <= len; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    free(s);
    return 0;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);

    return a >= b && !strcmp(s + a - b, suf);
}

static ldns_rr *rr_new(const ldns_rdf *owner, ldns_rr_type type)
{
    ldns_rr *rr = ldns_rr_new();

    ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
    ldns_rr_set_type(rr, type);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    ldns_rr_set_ttl(rr, DNS_TTL);
    return rr;
}

static void add_a(ldns_pkt *r, const ldns_rdf *owner, const char *ip)
{
    ldns_rdf *a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, ip);
    ldns_rr *rr;

    if (!a)
        return;
    rr = rr_new(owner, LDNS_RR_TYPE_A);
    ldns_rr_push_rdf(rr, a);
    ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
}

static void add_srv(ldns_pkt *r, const ldns_rdf *owner, int port, const char *target)
{
    ldns_rdf *t = ldns_dname_new_frm_str(target);
    ldns_rr *rr;

    if (!t)
        return;
    rr = rr_new(owner, LDNS_RR_TYPE_SRV);
    ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 0));
    ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 100));
    ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, (uint16_t)port));
    ldns_rr_push_rdf(rr, t);
    ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
}

/* Fills r for name (lower case, no final dot) and type; returns the rcode. */
static int answer_name(const json_t *view, const char *name, ldns_rr_type type,
                       const ldns_rdf *owner, ldns_pkt *r)
{
    char head[256], svckey[256], target[300], pname[64] = "", proto[8] = "";
    const json_t *svc, *ports, *p;
    const char *ip, *dot;
    size_t i;

    if (strcmp(name, "cluster.local") && !ends_with(name, ".cluster.local"))
        return LDNS_RCODE_REFUSED;
    if (!strcmp(name, "cluster.local") || !strcmp(name, "svc.cluster.local"))
        return LDNS_RCODE_NOERROR;
    if (!ends_with(name, SUFFIX))
        return LDNS_RCODE_NXDOMAIN;
    snprintf(head, sizeof head, "%.*s", (int)(strlen(name) - strlen(SUFFIX)), name);
    if (head[0] == '_') { /* _port._proto.svc.ns */
        dot = strchr(head, '.');
        if (!dot || dot - head > 63 || dot[1] != '_' || !strchr(dot + 1, '.'))
            return LDNS_RCODE_NXDOMAIN;
        snprintf(pname, sizeof pname, "%.*s", (int)(dot - head - 1), head + 1);
        snprintf(proto, sizeof proto, "%.*s", (int)(strchr(dot + 1, '.') - dot - 2), dot + 2);
        memmove(head, strchr(dot + 1, '.') + 1, strlen(strchr(dot + 1, '.') + 1) + 1);
    }
    dot = strchr(head, '.');
    if (!dot) { /* "<ns>.svc.cluster.local": exists when a Service lives in ns */
        const char *k;

        json_object_foreach((json_t *)view, k, svc)
        {
            const char *d = strchr(k, '.');

            if (d && !strcmp(d + 1, head))
                return LDNS_RCODE_NOERROR;
        }
        return LDNS_RCODE_NXDOMAIN;
    }
    if (strchr(dot + 1, '.'))
        return LDNS_RCODE_NXDOMAIN;
    snprintf(svckey, sizeof svckey, "%s", head);
    if (!(svc = json_object_get(view, svckey)))
        return LDNS_RCODE_NXDOMAIN;
    ip = jx_str(svc, "ip");
    ports = json_object_get(svc, "ports");
    snprintf(target, sizeof target, "%s%s.", svckey, SUFFIX);
    if (*pname) { /* the named port must exist, with that protocol */
        int found = 0;

        json_array_foreach(ports, i, p)
        {
            const char *pr = jx_str(p, "protocol") ?: "TCP";

            if (strcmp(jx_str(p, "name") ?: "", pname) || strcasecmp(pr, proto))
                continue;
            found = 1;
            if ((type == LDNS_RR_TYPE_SRV || type == LDNS_RR_TYPE_ANY) && ip)
                add_srv(r, owner, (int)jx_int(p, "port", 0), target);
        }
        return found ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN;
    }
    if (!ip) /* headless: the name exists, with no usable address (see the top) */
        return LDNS_RCODE_NOERROR;
    if (type == LDNS_RR_TYPE_A || type == LDNS_RR_TYPE_ANY)
        add_a(r, owner, ip);
    if (type == LDNS_RR_TYPE_SRV)
        json_array_foreach(ports, i, p) add_srv(r, owner, (int)jx_int(p, "port", 0), target);
    return LDNS_RCODE_NOERROR;
}

/* A reply with only a header (for a query ldns could not parse): FORMERR with its id. */
static int reply_formerr(const uint8_t *q, size_t n, uint8_t **out, size_t *outn)
{
    uint8_t *b;

    if (n < 12 || (q[2] & 0x80)) /* too short to answer, or a response: dropped */
        return -1;
    b = calloc(1, 12);
    if (!b)
        return -1;
    b[0] = q[0];
    b[1] = q[1];
    b[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, the opcode and RD copied */
    b[3] = LDNS_RCODE_FORMERR;
    *out = b;
    *outn = 12;
    return 0;
}

int px_dns_answer(const json_t *view, const uint8_t *q, size_t n, size_t max, uint8_t **out,
                  size_t *outn, int *rcode)
{
    ldns_pkt *qp = NULL, *r = NULL;
    ldns_rr *qrr;
    char name[256];
    int rc = -1, code = LDNS_RCODE_FORMERR;

    *out = NULL;
    *rcode = -1;
    if (n > PX_DNS_MAX_MSG || ldns_wire2pkt(&qp, q, n) != LDNS_STATUS_OK) {
        rc = reply_formerr(q, n, out, outn);
        *rcode = rc ? -1 : LDNS_RCODE_FORMERR;
        return rc;
    }
    if (ldns_pkt_qr(qp))
        goto out; /* a response sent to us: never answered (reflection loops) */
    r = ldns_pkt_new();
    ldns_pkt_set_id(r, ldns_pkt_id(qp));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_opcode(r, ldns_pkt_get_opcode(qp));
    ldns_pkt_set_rd(r, ldns_pkt_rd(qp));
    if (ldns_pkt_get_opcode(qp) != LDNS_PACKET_QUERY) {
        code = LDNS_RCODE_NOTIMPL;
    } else if (ldns_pkt_qdcount(qp) == 1) {
        qrr = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
        ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
        if (ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN)
            code = LDNS_RCODE_REFUSED;
        else if (qname_text(ldns_rr_owner(qrr), name, sizeof name) < 0)
            code = LDNS_RCODE_NXDOMAIN;
        else
            code = answer_name(view, name, ldns_rr_get_type(qrr), ldns_rr_owner(qrr), r);
        ldns_pkt_set_aa(r, code != LDNS_RCODE_REFUSED);
    }
    ldns_pkt_set_rcode(r, (uint8_t)code);
    if (ldns_pkt2wire(out, r, outn) != LDNS_STATUS_OK)
        goto out;
    if (*outn > max) { /* UDP over 512 bytes: truncated, the client retries over TCP */
        free(*out);
        *out = NULL;
        ldns_rr_list_deep_free(ldns_pkt_answer(r));
        ldns_pkt_set_answer(r, ldns_rr_list_new());
        ldns_pkt_set_ancount(r, 0);
        ldns_pkt_set_tc(r, true);
        if (ldns_pkt2wire(out, r, outn) != LDNS_STATUS_OK || *outn > max)
            goto out;
    }
    *rcode = code;
    rc = 0;
out:
    if (rc && *out) {
        free(*out);
        *out = NULL;
    }
    ldns_pkt_free(qp);
    ldns_pkt_free(r);
    return rc;
}
