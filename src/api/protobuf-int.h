/* Private to the protobuf decoder: the message descriptors (protobuf-schema.c) that the wire
 * walker (protobuf.c) follows. A descriptor lists, per field number, the JSON name and enough
 * of the Go type (pointer or not, omitempty, inlined) to reproduce Kubernetes' JSON output. */
#ifndef KROLL_API_PROTOBUF_INT_H
#define KROLL_API_PROTOBUF_INT_H

#include <stddef.h>
#include <stdint.h>

enum pb_kind {
    PB_STR,       /* string */
    PB_BYTES,     /* bytes, written as base64 like Go's []byte */
    PB_I32,       /* int32 varint (negative values arrive sign-extended to 64 bits) */
    PB_I64,       /* int64 varint */
    PB_BOOL,      /* bool varint */
    PB_MSG,       /* nested message described by .msg */
    PB_TIME,      /* meta/v1 Time {1 seconds, 2 nanos} -> RFC 3339 string */
    PB_IOS,       /* intstr.IntOrString {1 type, 2 intVal, 3 strVal} -> number or string */
    PB_QTY,       /* resource.Quantity {1 string} -> string */
    PB_MAP_STR,   /* map<string, string> */
    PB_MAP_BYTES, /* map<string, bytes> -> base64 values */
    PB_MAP_QTY,   /* map<string, Quantity> (ResourceList) */
};

enum {
    PB_REP = 1 << 0,    /* repeated: a JSON array */
    PB_OMIT = 1 << 1,   /* json:",omitempty": zero scalars and empty lists/maps are left out */
    PB_PTR = 1 << 2,    /* Go pointer: kept whenever present on the wire, even if zero */
    PB_INLINE = 1 << 3, /* embedded Go struct: its fields land in the parent JSON object */
};

struct pb_msg;

struct pb_field {
    uint32_t num;
    const char *json;
    uint8_t kind;
    uint8_t flags;
    const struct pb_msg *msg; /* PB_MSG only */
};

struct pb_msg {
    const char *name;
    const struct pb_field *fields;
    size_t nfields;
};

/* A kind this decoder accepts: apiVersion NULL matches any (DeleteOptions is registered in
 * every group version). */
struct pb_kind_entry {
    const char *api_version;
    const char *kind;
    const struct pb_msg *msg;
};

extern const struct pb_kind_entry pb_kinds[];
extern const size_t pb_nkinds;

#endif
