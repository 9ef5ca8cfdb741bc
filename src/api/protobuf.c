/* The protobuf wire walker: reads the "k8s\0" envelope (runtime.Unknown), finds the message
 * descriptor for the kind it names, and turns the raw message into Kubernetes-shaped JSON.
 * Every length is checked against the bytes that remain before it is used, nesting is capped,
 * and any malformed input ends in -E_BAD_REQUEST with a message, never a crash. */
#include "api/protobuf.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/protobuf-int.h"
#include "core/jx.h"
#include "core/log.h"

/* Real objects nest about a dozen deep; the cap only guards against a descriptor mistake. */
#define PB_MAX_DEPTH 32

/* Go's time.Time marshals years 0001..9999 only. */
#define PB_TIME_MIN (-62135596800LL)
#define PB_TIME_MAX 253402300799LL

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct pb_reader {
    const uint8_t *p;
    const uint8_t *end;
};

struct pb_ctx {
    struct err *err;
    int depth;
};

static const uint8_t pb_magic[4] = {0x6b, 0x38, 0x73, 0x00};

static int pb_bad(struct pb_ctx *c, const char *msg, uint32_t num, const char *what)
{
    return err_set(c->err, -E_BAD_REQUEST,
                   "the protobuf body is malformed: %s field %" PRIu32 ": %s", msg, num, what);
}

static int pb_read_varint(struct pb_reader *r, uint64_t *v)
{
    uint64_t x = 0;

    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1; /* more than ten bytes */
}

static int pb_read_bytes(struct pb_reader *r, const uint8_t **data, size_t *n)
{
    uint64_t len;

    if (pb_read_varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
        return -1;
    *data = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

static int pb_read_tag(struct pb_reader *r, uint32_t *num, int *wt)
{
    uint64_t tag;

    if (pb_read_varint(r, &tag) < 0 || tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
        return -1;
    *num = (uint32_t)(tag >> 3);
    *wt = (int)(tag & 7);
    return 0;
}

/* Skips a field this decoder does not model; groups (wire types 3 and 4) are long obsolete and
 * never produced by Kubernetes, so they count as malformed. */
static int pb_skip(struct pb_reader *r, int wt)
{
    uint64_t v;
    const uint8_t *d;
    size_t n;

    switch (wt) {
    case WT_VARINT:
        return pb_read_varint(r, &v);
    case WT_LEN:
        return pb_read_bytes(r, &d, &n);
    case WT_I64:
    case WT_I32: {
        size_t w = wt == WT_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < w)
            return -1;
        r->p += w;
        return 0;
    }
    default:
        return -1;
    }
}

/* One field a small message is read into: a varint (varint set) or bytes (bytes, len set);
 * seen, when set, becomes 1 once the field was read. */
struct pb_slot {
    uint32_t num;
    uint64_t *varint;
    const uint8_t **bytes;
    size_t *len;
    int *seen;
};

/* Reads a small message's fields into slots (a repeated field: the last one), skipping the
 * others and those of another wire type. 0, -1 for a bad tag, -2 when truncated. */
static int pb_read_small(const uint8_t *d, size_t n, const struct pb_slot *slots, int nslots)
{
    struct pb_reader r = {d, d + n};

    while (r.p < r.end) {
        const struct pb_slot *s = NULL;
        uint32_t num;
        int wt, rc;

        if (pb_read_tag(&r, &num, &wt) < 0)
            return -1;
        for (int i = 0; i < nslots && !s; i++)
            if (slots[i].num == num && wt == (slots[i].varint ? WT_VARINT : WT_LEN))
                s = &slots[i];
        if (!s)
            rc = pb_skip(&r, wt);
        else if (s->varint)
            rc = pb_read_varint(&r, s->varint);
        else
            rc = pb_read_bytes(&r, s->bytes, s->len);
        if (rc < 0)
            return -2;
        if (s && s->seen)
            *s->seen = 1;
    }
    return 0;
}

int pb_has_magic(const void *buf, size_t len)
{
    return buf && len >= sizeof pb_magic && memcmp(buf, pb_magic, sizeof pb_magic) == 0;
}

/* ---- values ---- */

static json_t *pb_base64(const uint8_t *d, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc((n + 2) / 3 * 4 + 1);
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    json_t *s = json_stringn(out, o);
    free(out);
    return s;
}

static json_t *pb_string(struct pb_ctx *c, const struct pb_msg *m, const struct pb_field *f,
                         const uint8_t *d, size_t n)
{
    /* jansson refuses invalid UTF-8; Go would substitute U+FFFD, but no client sends it. */
    json_t *s = json_stringn((const char *)d, n);

    if (!s)
        pb_bad(c, m->name, f->num, "string is not valid UTF-8");
    return s;
}

/* meta/v1 Time: an empty message is the zero time (NULL here); seconds are kept and nanos
 * dropped, exactly as apimachinery's Time.Unmarshal does. */
static int pb_time(struct pb_ctx *c, const struct pb_msg *m, const struct pb_field *f,
                   const uint8_t *d, size_t n, json_t **out)
{
    struct pb_reader r = {d, d + n};
    int64_t secs = 0;
    char buf[32];

    *out = NULL;
    if (n == 0)
        return 0;
    while (r.p < r.end) {
        uint32_t num;
        int wt;
        uint64_t v;
        if (pb_read_tag(&r, &num, &wt) < 0)
            return pb_bad(c, m->name, f->num, "bad tag in Time");
        if (num == 1 && wt == WT_VARINT) {
            if (pb_read_varint(&r, &v) < 0)
                return pb_bad(c, m->name, f->num, "truncated Time.seconds");
            secs = (int64_t)v;
        } else if (pb_skip(&r, wt) < 0) {
            return pb_bad(c, m->name, f->num, "truncated Time");
        }
    }
    if (secs < PB_TIME_MIN || secs > PB_TIME_MAX)
        return pb_bad(c, m->name, f->num, "Time is outside years 1-9999");
    time_rfc3339((time_t)secs, buf);
    *out = json_string(buf);
    return 0;
}

/* intstr.IntOrString {1 type, 2 intVal, 3 strVal}: type 0 is a number, 1 a string. */
static int pb_intorstr(struct pb_ctx *c, const struct pb_msg *m, const struct pb_field *f,
                       const uint8_t *d, size_t n, json_t **out)
{
    uint64_t type = 0, ival = 0;
    const uint8_t *s = (const uint8_t *)"";
    size_t slen = 0;
    const struct pb_slot slots[] = {
        {1, &type, NULL, NULL, NULL}, {2, &ival, NULL, NULL, NULL}, {3, NULL, &s, &slen, NULL}};
    int rc = pb_read_small(d, n, slots, 3);

    if (rc < 0)
        return pb_bad(c, m->name, f->num,
                      rc == -1 ? "bad tag in IntOrString" : "truncated IntOrString");
    if (type == 0) {
        *out = json_integer((int32_t)(uint32_t)ival);
        return 0;
    }
    if (type != 1)
        return pb_bad(c, m->name, f->num, "IntOrString type is neither 0 nor 1");
    *out = pb_string(c, m, f, s, slen);
    return *out ? 0 : c->err->code;
}

/* resource.Quantity {1 string}. The text is passed through; validation parses it later. A Go
 * client never sends the zero quantity as "", but if one did it would mean "0". */
static int pb_quantity(struct pb_ctx *c, const struct pb_msg *m, const struct pb_field *f,
                       const uint8_t *d, size_t n, json_t **out)
{
    const uint8_t *s = NULL;
    size_t slen = 0;
    const struct pb_slot slot = {1, NULL, &s, &slen, NULL};
    int rc = pb_read_small(d, n, &slot, 1);

    if (rc < 0)
        return pb_bad(c, m->name, f->num, rc == -1 ? "bad tag in Quantity" : "truncated Quantity");
    if (!s || slen == 0) {
        *out = json_string("0");
        return 0;
    }
    *out = pb_string(c, m, f, s, slen);
    return *out ? 0 : c->err->code;
}

/* One map entry {1 key, 2 value}; the value's shape depends on the map kind. */
static int pb_map_entry(struct pb_ctx *c, const struct pb_msg *m, const struct pb_field *f,
                        const uint8_t *d, size_t n, json_t *map)
{
    const uint8_t *k = d, *v = d;
    size_t klen = 0, vlen = 0;
    int have_v = 0, rc;
    json_t *key = NULL, *val = NULL;
    const struct pb_slot slots[] = {{1, NULL, &k, &klen, NULL}, {2, NULL, &v, &vlen, &have_v}};

    if ((rc = pb_read_small(d, n, slots, 2)) < 0)
        return pb_bad(c, m->name, f->num,
                      rc == -1 ? "bad tag in map entry" : "truncated map entry");
    if (memchr(k, 0, klen))
        return pb_bad(c, m->name, f->num, "map key contains a NUL byte");
    if (!(key = pb_string(c, m, f, k, klen)))
        return c->err->code;
    if (f->kind == PB_MAP_STR)
        val = pb_string(c, m, f, v, vlen);
    else if (f->kind == PB_MAP_BYTES)
        val = pb_base64(v, vlen);
    else if ((rc = pb_quantity(c, m, f, v, have_v ? vlen : 0, &val)) < 0)
        goto out;
    if (!val) {
        rc = c->err->code;
        goto out;
    }
    json_object_set_new(map, json_string_value(key), val);
    rc = 0;
out:
    json_decref(key);
    return rc;
}

/* ---- messages ---- */

static int pb_decode_msg(struct pb_ctx *c, const struct pb_msg *m, const uint8_t *d, size_t n,
                         json_t *obj);

static const struct pb_field *pb_field_find(const struct pb_msg *m, uint32_t num)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].num == num)
            return &m->fields[i];
    return NULL;
}

static int pb_is_varint_kind(int kind)
{
    return kind == PB_I32 || kind == PB_I64 || kind == PB_BOOL;
}

static int pb_is_map_kind(int kind)
{
    return kind == PB_MAP_STR || kind == PB_MAP_BYTES || kind == PB_MAP_QTY;
}

/* Stores v (taken) under f's name: appended for repeated fields, replacing otherwise (the last
 * occurrence of a singular field wins, as in protobuf). */
static void pb_store(json_t *obj, const struct pb_field *f, json_t *v)
{
    if (f->flags & PB_REP) {
        json_t *a = json_object_get(obj, f->json);
        if (!json_is_array(a)) {
            a = json_array();
            json_object_set_new(obj, f->json, a);
        }
        json_array_append_new(a, v);
        return;
    }
    json_object_set_new(obj, f->json, v);
}

static json_t *pb_varint_json(int kind, uint64_t v)
{
    if (kind == PB_BOOL)
        return json_boolean(v != 0);
    if (kind == PB_I32)
        return json_integer((int32_t)(uint32_t)v);
    return json_integer((json_int_t)(int64_t)v);
}

static int pb_field_varint(struct pb_ctx *c, const struct pb_msg *m, const struct pb_field *f,
                           struct pb_reader *r, int wt, json_t *obj)
{
    uint64_t v;
    const uint8_t *d;
    size_t n;

    if (wt == WT_VARINT) {
        if (pb_read_varint(r, &v) < 0)
            return pb_bad(c, m->name, f->num, "truncated varint");
        pb_store(obj, f, pb_varint_json(f->kind, v));
        return 0;
    }
    if (wt != WT_LEN || !(f->flags & PB_REP))
        return pb_bad(c, m->name, f->num, "wrong wire type");
    /* A packed repeated scalar: a run of varints inside one length-delimited value. */
    if (pb_read_bytes(r, &d, &n) < 0)
        return pb_bad(c, m->name, f->num, "truncated packed field");
    struct pb_reader in = {d, d + n};
    while (in.p < in.end) {
        if (pb_read_varint(&in, &v) < 0)
            return pb_bad(c, m->name, f->num, "truncated packed varint");
        pb_store(obj, f, pb_varint_json(f->kind, v));
    }
    return 0;
}

static int pb_field_msg(struct pb_ctx *c, const struct pb_field *f, const uint8_t *d, size_t n,
                        json_t *obj)
{
    json_t *sub;
    int rc;

    if (f->flags & PB_INLINE)
        return pb_decode_msg(c, f->msg, d, n, obj);
    if (f->flags & PB_REP) {
        sub = json_object();
        if ((rc = pb_decode_msg(c, f->msg, d, n, sub)) < 0) {
            json_decref(sub);
            return rc;
        }
        pb_store(obj, f, sub);
        return 0;
    }
    /* A repeated occurrence of a singular message merges into the first, per protobuf. */
    sub = json_object_get(obj, f->json);
    if (!json_is_object(sub)) {
        sub = json_object();
        json_object_set_new(obj, f->json, sub);
    }
    return pb_decode_msg(c, f->msg, d, n, sub);
}

static int pb_field_len(struct pb_ctx *c, const struct pb_msg *m, const struct pb_field *f,
                        struct pb_reader *r, int wt, json_t *obj)
{
    const uint8_t *d;
    size_t n;
    json_t *v = NULL;
    int rc = 0;

    if (wt != WT_LEN)
        return pb_bad(c, m->name, f->num, "wrong wire type");
    if (pb_read_bytes(r, &d, &n) < 0)
        return pb_bad(c, m->name, f->num, "length runs past the end of the message");
    switch (f->kind) {
    case PB_MSG:
        return pb_field_msg(c, f, d, n, obj);
    case PB_MAP_STR:
    case PB_MAP_BYTES:
    case PB_MAP_QTY:
        v = json_object_get(obj, f->json);
        if (!json_is_object(v)) {
            v = json_object();
            json_object_set_new(obj, f->json, v);
        }
        return pb_map_entry(c, m, f, d, n, v);
    case PB_STR:
        v = pb_string(c, m, f, d, n);
        rc = v ? 0 : c->err->code;
        break;
    case PB_BYTES:
        v = pb_base64(d, n);
        break;
    case PB_TIME:
        /* A present-but-zero pointer Time is Go's non-nil zero time: JSON null. */
        if ((rc = pb_time(c, m, f, d, n, &v)) == 0 && !v && (f->flags & PB_PTR))
            v = json_null();
        break;
    case PB_IOS:
        rc = pb_intorstr(c, m, f, d, n, &v);
        break;
    case PB_QTY:
        rc = pb_quantity(c, m, f, d, n, &v);
        break;
    }
    if (rc < 0)
        return rc;
    if (v)
        pb_store(obj, f, v);
    else
        json_object_del(obj, f->json); /* a later zero Time replaces an earlier one */
    return 0;
}

static int pb_is_zero(const json_t *v)
{
    if (json_is_string(v))
        return json_string_length(v) == 0;
    if (json_is_integer(v))
        return json_integer_value(v) == 0;
    return json_is_false(v);
}

/* Fills in what Go's encoder writes for fields absent from the wire, and drops the zero
 * scalars gogo-protobuf always writes but omitempty leaves out. */
static int pb_finish_field(struct pb_ctx *c, const struct pb_field *f, json_t *obj)
{
    json_t *v = json_object_get(obj, f->json);

    if (f->flags & PB_INLINE)
        return 0;
    if (v) {
        if (!(f->flags & PB_PTR) && (f->flags & PB_OMIT) && !(f->flags & PB_REP) &&
            (f->kind == PB_STR || f->kind == PB_BYTES || pb_is_varint_kind(f->kind)) &&
            pb_is_zero(v))
            json_object_del(obj, f->json);
        return 0;
    }
    if (f->flags & PB_PTR)
        return 0;
    if ((f->flags & PB_REP) || pb_is_map_kind(f->kind)) {
        if (!(f->flags & PB_OMIT))
            json_object_set_new(obj, f->json, json_null());
        return 0;
    }
    switch (f->kind) {
    case PB_MSG: /* a Go struct value is always written, omitempty or not */
        v = json_object();
        json_object_set_new(obj, f->json, v);
        return pb_decode_msg(c, f->msg, NULL, 0, v);
    case PB_IOS:
        json_object_set_new(obj, f->json, json_integer(0));
        return 0;
    case PB_QTY:
        json_object_set_new(obj, f->json, json_string("0"));
        return 0;
    case PB_TIME: /* the zero time is omitted (omitzero, Kubernetes >= 1.33) */
        return 0;
    }
    if (!(f->flags & PB_OMIT))
        json_object_set_new(obj, f->json,
                            f->kind == PB_STR || f->kind == PB_BYTES ? json_string("")
                            : f->kind == PB_BOOL                     ? json_false()
                                                                     : json_integer(0));
    return 0;
}

static int pb_decode_msg(struct pb_ctx *c, const struct pb_msg *m, const uint8_t *d, size_t n,
                         json_t *obj)
{
    static const uint8_t empty[1];
    struct pb_reader r;
    int rc = 0;

    if (!d) { /* absent messages decode as empty; no arithmetic on NULL */
        d = empty;
        n = 0;
    }
    r.p = d;
    r.end = d + n;
    if (++c->depth > PB_MAX_DEPTH) {
        rc = err_set(c->err, -E_BAD_REQUEST, "the protobuf body nests too deeply");
        goto out;
    }
    while (r.p < r.end) {
        uint32_t num;
        int wt;
        if (pb_read_tag(&r, &num, &wt) < 0) {
            rc = err_set(c->err, -E_BAD_REQUEST,
                         "the protobuf body is malformed: bad field tag in %s", m->name);
            goto out;
        }
        const struct pb_field *f = pb_field_find(m, num);
        if (!f) {
            if (pb_skip(&r, wt) < 0) {
                rc = pb_bad(c, m->name, num, "cannot skip unknown field");
                goto out;
            }
            continue;
        }
        rc = pb_is_varint_kind(f->kind) ? pb_field_varint(c, m, f, &r, wt, obj)
                                        : pb_field_len(c, m, f, &r, wt, obj);
        if (rc < 0)
            goto out;
    }
    for (size_t i = 0; i < m->nfields && rc == 0; i++)
        rc = pb_finish_field(c, &m->fields[i], obj);
out:
    c->depth--;
    return rc;
}

/* ---- envelope ---- */

struct pb_envelope {
    const uint8_t *api_version, *kind, *raw, *encoding;
    size_t api_version_len, kind_len, raw_len, encoding_len;
};

static int pb_type_meta(const uint8_t *d, size_t n, struct pb_envelope *e)
{
    const struct pb_slot slots[] = {{1, NULL, &e->api_version, &e->api_version_len, NULL},
                                    {2, NULL, &e->kind, &e->kind_len, NULL}};

    return pb_read_small(d, n, slots, 2) < 0 ? -1 : 0;
}

/* runtime.Unknown {1 typeMeta, 2 raw, 3 contentEncoding, 4 contentType}. */
static int pb_envelope_parse(const uint8_t *d, size_t n, struct pb_envelope *e)
{
    const uint8_t *tm = NULL;
    size_t tmlen = 0;
    int have_tm = 0;
    const struct pb_slot slots[] = {{1, NULL, &tm, &tmlen, &have_tm},
                                    {2, NULL, &e->raw, &e->raw_len, NULL},
                                    {3, NULL, &e->encoding, &e->encoding_len, NULL}};

    memset(e, 0, sizeof *e);
    if (pb_read_small(d, n, slots, 3) < 0)
        return -1;
    return have_tm ? pb_type_meta(tm, tmlen, e) : 0;
}

static int pb_eq(const char *s, const uint8_t *b, size_t n)
{
    return strlen(s) == n && memcmp(s, b, n) == 0;
}

/* The message for the envelope's TypeMeta: a served kind's (its kind_ops entry), else one of
 * the request-only kinds (Eviction, DeleteOptions). */
static const struct pb_msg *pb_kind_find(const struct pb_envelope *e)
{
    for (int i = 0; i < RES_COUNT; i++) {
        const struct resource *r = scheme_resource((enum res_id)i);
        const struct pb_msg *m = api_kind((enum res_id)i)->pb;

        if (m && pb_eq(r->kind, e->kind, e->kind_len) &&
            pb_eq(r->api_version, e->api_version, e->api_version_len))
            return m;
    }
    for (size_t i = 0; i < pb_nkinds; i++) {
        const struct pb_kind_entry *k = &pb_kinds[i];

        if (pb_eq(k->kind, e->kind, e->kind_len) &&
            (!k->api_version || pb_eq(k->api_version, e->api_version, e->api_version_len)))
            return k->msg;
    }
    return NULL;
}

int pb_decode_object(const void *buf, size_t len, json_t **out, struct err *err)
{
    struct pb_ctx c = {err, 0};
    struct pb_envelope e;
    const struct pb_msg *m;
    json_t *obj = NULL, *kind = NULL, *api = NULL;
    int rc;

    *out = NULL;
    if (!pb_has_magic(buf, len))
        return err_set(err, -E_BAD_REQUEST,
                       "the protobuf body does not start with the Kubernetes magic \"k8s\\x00\"");
    if (pb_envelope_parse((const uint8_t *)buf + 4, len - 4, &e) < 0)
        return err_set(err, -E_BAD_REQUEST, "the protobuf body is malformed: bad envelope");
    if (e.encoding_len > 0)
        return err_set(err, -E_UNSUPPORTED_MEDIA,
                       "the protobuf body uses a content encoding; only plain bodies are "
                       "accepted");
    kind = e.kind ? json_stringn((const char *)e.kind, e.kind_len) : NULL;
    api = e.api_version ? json_stringn((const char *)e.api_version, e.api_version_len)
                        : json_string("");
    if (!kind || !api || e.kind_len == 0) {
        rc = err_set(err, -E_BAD_REQUEST, "the protobuf body names no valid kind");
        goto out;
    }
    if (!(m = pb_kind_find(&e))) {
        rc = err_set(err, -E_UNSUPPORTED_MEDIA,
                     "the body of the request was in an unknown format - accepted media types "
                     "include: application/json, application/yaml (protobuf is not supported "
                     "for %s %s)",
                     json_string_value(api), json_string_value(kind));
        goto out;
    }
    obj = json_object();
    json_object_set(obj, "kind", kind);
    json_object_set(obj, "apiVersion", api);
    if ((rc = pb_decode_msg(&c, m, e.raw, e.raw_len, obj)) < 0)
        goto out;
    if (json_string_length(api) == 0)
        json_object_del(obj, "apiVersion");
    *out = obj;
    obj = NULL;
out:
    json_decref(obj);
    json_decref(kind);
    json_decref(api);
    return rc;
}
