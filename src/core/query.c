/* Typed query parameters as kube-apiserver converts them. */
#include "core/query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int http_query_tribool(struct http_req *req, const char *key)
{
    const char *v = http_req_query(req, key);

    if (!v)
        return -1;
    return !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0);
}

int http_query_bool(struct http_req *req, const char *key)
{
    return http_query_tribool(req, key) == 1;
}

int http_query_int64(struct http_req *req, const char *key, long long *out, struct err *err)
{
    const char *v = http_req_query(req, key), *d;
    char *end;
    long long n;

    if (!v)
        return 0;
    d = v + (*v == '+' || *v == '-');
    /* strtoll alone would take leading blanks, "0x" never (base 10) but "" as 0. */
    if (!*d || strspn(d, "0123456789") != strlen(d))
        return err_set(err, -E_BAD_REQUEST, "strconv.ParseInt: parsing \"%.64s\": invalid syntax", v);
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno == ERANGE)
        return err_set(err, -E_BAD_REQUEST, "strconv.ParseInt: parsing \"%.64s\": value out of range",
                       v);
    *out = n;
    return 1;
}
