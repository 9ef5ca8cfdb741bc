/* The proxy's cluster DNS (dns.c answers, dns_server.c serves): see docs/internals/proxy.md. */
#ifndef KROLL_PROXY_DNS_INT_H
#define KROLL_PROXY_DNS_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define PX_DNS_UDP_MAX 512  /* reply size over UDP (no EDNS); larger answers are truncated */
#define PX_DNS_MAX_MSG 4096 /* queries, and replies over TCP */
#define PX_DNS_MAX_TCP 64   /* open TCP connections, all namespaces */
#define PX_DNS_TCP_IDLE_MS 5000

/* Answers the query q (n bytes) from view, an object "svc.ns" -> {"ip": clusterIP (absent for a
 * headless Service), "ports": [{"name", "port", "protocol"}]}. The reply, at most max bytes
 * (truncated with TC set when the answers do not fit), goes to *out (caller frees with free())
 * and *outn; *rcode gets its rcode. Returns 0, or -1 when nothing must be sent (a response,
 * a message too short to carry an id). */
int px_dns_answer(const json_t *view, const uint8_t *q, size_t n, size_t max, uint8_t **out,
                  size_t *outn, int *rcode);

struct px_dns;

/* Starts the DNS thread; NULL with a message on stderr when it cannot. */
struct px_dns *px_dns_start(void);
/* Stops and joins the thread, closes every socket. NULL is a no-op. */
void px_dns_stop(struct px_dns *d);
/* Replaces the view (takes the caller's reference). Thread-safe. */
void px_dns_set_view(struct px_dns *d, json_t *view);
/* Hands a bound UDP socket and a listening TCP socket (either may be -1) to the thread under
 * tag; px_dns_remove closes both. Thread-safe. */
void px_dns_add(struct px_dns *d, uint64_t tag, int udp_fd, int tcp_fd);
void px_dns_remove(struct px_dns *d, uint64_t tag);
/* Queries answered so far, by rcode 0..5 (others in [6]). */
void px_dns_counts(struct px_dns *d, uint64_t out[7]);

#endif
