/* Typed query parameters, converted as kube-apiserver converts them (apimachinery's
 * runtime/conversion.go), so every client's spelling means what it means on a cluster:
 * kubectl sends watch=true, the Python client watch=True, others watch=1 or a bare watch. */
#ifndef KROLL_CORE_QUERY_H
#define KROLL_CORE_QUERY_H

#include "core/err.h"
#include "core/httpd.h"

/* A boolean parameter: absent, "0" or "false" in any case is 0; any other value, the empty
 * one included, is 1 (Convert_Slice_string_To_bool). */
int http_query_bool(struct http_req *req, const char *key);
/* The same with "absent" told apart: -1 absent, else 0 or 1 (the *bool fields such as
 * sendInitialEvents). */
int http_query_tribool(struct http_req *req, const char *key);
/* An integer parameter parsed like Go's strconv.ParseInt(s, 10, 64): an optional sign and
 * decimal digits, nothing else, within int64. Returns 0 and leaves *out alone when absent,
 * 1 when set, or -E_BAD_REQUEST with the message kube-apiserver gives
 * (strconv.ParseInt: parsing "x": invalid syntax | value out of range). */
int http_query_int64(struct http_req *req, const char *key, long long *out, struct err *err);

#endif
