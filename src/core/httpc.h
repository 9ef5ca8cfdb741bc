/* A small blocking HTTP/1.1 client for worker threads (never the loop's thread): one request
 * per connection to an http:// or https:// URL (certificates verified against the system's CAs
 * and the host name unless insecure), a deadline over the whole exchange, a cap on the answer,
 * chunked and Content-Length bodies. Used by the AnalysisRun providers (web, prometheus) and
 * the CLI's API client (cli/apiclient.c, with the data dir's CA). */
#ifndef KROLL_CORE_HTTPC_H
#define KROLL_CORE_HTTPC_H

#include <stddef.h>

#define HTTPC_MAX_BODY (1u << 20)   /* bytes of a response body kept; more is an error */
#define HTTPC_MAX_HEAD (32u * 1024) /* bytes of status line and headers */
#define HTTPC_MAX_URL 2048

struct httpc_req {
    const char *method;  /* "GET", "POST", "PUT" */
    const char *url;     /* http[s]://host[:port][/path][?query] */
    const char *headers; /* extra header lines, each ending in "\r\n", or NULL */
    const char *body;    /* or NULL */
    size_t body_len;
    int timeout_ms; /* the whole exchange: resolve, connect, send, receive */
    int insecure;   /* https: do not verify the server's certificate */
    const char *ca_file;    /* https: trust this CA (PEM) instead of the system's; or NULL */
    size_t max_body;        /* bytes of the answer kept (0: HTTPC_MAX_BODY) */
    const char *user_agent; /* or NULL: "kroll" */
};

struct httpc_resp {
    int status; /* HTTP status code */
    char *body; /* malloc'd, NUL-terminated (free it) */
    size_t body_len;
};

/* Performs req. Returns 0 with resp filled (any status code), or -1 with a message in err
 * ("dial tcp 127.0.0.1:1: connect: connection refused", "tls: failed to verify certificate:
 * ...", "timeout awaiting response headers"). */
int httpc_do(const struct httpc_req *req, struct httpc_resp *resp, char *err, size_t n);

/* Percent-encodes s for a query parameter into a new malloc'd string. */
char *httpc_query_escape(const char *s);

#endif
