/* The patch engine: JSON Patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch
 * for built-in kinds, server-side apply with managedFields, and YAML/JSON body parsing.
 * All functions are pure on jansson values: inputs are borrowed and never modified, outputs are
 * new references. Errors return a negative -E_<NAME> code with text (and causes) in struct err. */
#ifndef KROLL_API_PATCH_H
#define KROLL_API_PATCH_H

#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

/* Applies the RFC 6902 operation array ops to a deep copy of doc and stores the result in *out.
 * ops that is not an array of objects is -E_BAD_REQUEST (Kubernetes: 400). An operation that
 * cannot be applied (failed "test", missing path, bad pointer, index out of range, unknown op)
 * is -E_INVALID (Kubernetes answers 422). The limits below are checked after every operation:
 * more than JSON_PATCH_MAX_OPS operations, a document larger than the object limit, or copies
 * beyond the copy budget are -E_TOO_LARGE (413); nesting deeper than PATCH_MAX_DEPTH is
 * -E_INVALID (422). */
int patch_json_apply(const json_t *doc, const json_t *ops, json_t **out, struct err *err);

/* Applies an RFC 7386 merge patch. The patch must be a JSON object (Kubernetes answers 400
 * otherwise): -E_BAD_REQUEST. A doc that is not an object is treated as {}. */
int patch_merge_apply(const json_t *doc, const json_t *patch, json_t **out, struct err *err);

/* How a list merges. ATOMIC lists are replaced whole; MAP lists merge items by key; SET lists
 * are sets of primitives merged by value (metadata.finalizers). */
enum patch_list_type { PATCH_LIST_ATOMIC, PATCH_LIST_MAP, PATCH_LIST_SET };

#define PATCH_MAX_KEYS 3

struct patch_list_rule {
    enum patch_list_type type;
    /* keys[0] is the strategic merge patch key; server-side apply uses all keys (its
     * listMapKeys), filling an absent key from defaults[i] when that is not NULL. */
    const char *keys[PATCH_MAX_KEYS];
    const char *defaults[PATCH_MAX_KEYS];
};

/* A row of a kind's list schema: the list at path (fields joined by '.', "[]" for a list item:
 * "spec.ports", "status.conditions") merges by rule. */
struct patch_merge_row {
    const char *path;
    struct patch_list_rule rule;
};

/* A built-in kind's strategic-merge metadata (its kind_ops.merge). Lists not named here are
 * atomic, except metadata.ownerReferences (by uid) and metadata.finalizers (a set). */
struct patch_schema {
    const char *pod_spec;               /* where the kind keeps a PodSpec, or NULL */
    const struct patch_merge_row *rows; /* the kind's other lists; NULL-path terminated, or NULL */
};

/* The metadata of built-in types without lists of their own (ConfigMap, autoscaling Scale). */
extern const struct patch_schema patch_schema_plain;

#define PATCH_MAP1(k)                                                                              \
    {                                                                                              \
        PATCH_LIST_MAP, {k},                                                                       \
        {                                                                                          \
            NULL                                                                                   \
        }                                                                                          \
    }
#define PATCH_ATOMIC                                                                               \
    {                                                                                              \
        PATCH_LIST_ATOMIC, {NULL},                                                                 \
        {                                                                                          \
            NULL                                                                                   \
        }                                                                                          \
    }
#define PATCH_SET                                                                                  \
    {                                                                                              \
        PATCH_LIST_SET, {NULL},                                                                    \
        {                                                                                          \
            NULL                                                                                   \
        }                                                                                          \
    }

/* Applies a strategic merge patch for a built-in kind of the given schema (a kind_ops.merge).
 * Lists merge by the kind's patch merge keys; directives ($patch, $setElementOrder/,
 * $retainKeys, $deleteFromPrimitiveList/) are honoured and never stored. A NULL schema is
 * -E_UNSUPPORTED_MEDIA, a malformed patch -E_BAD_REQUEST, a patch that contradicts its own
 * $retainKeys -E_INVALID. */
int patch_strategic_apply(const json_t *doc, const json_t *patch, const struct patch_schema *schema,
                          json_t **out, struct err *err);

/* Server-side apply of the applied configuration by manager (live may be NULL: create).
 * Returns the new object with metadata.managedFields updated, or -E_CONFLICT with one
 * "FieldManagerConflict" cause per field another manager owns with a different value (unless
 * force, which takes those fields over). -E_BAD_REQUEST when applied is not an object,
 * -E_INVALID for a keyed list item that lacks its key. A NULL schema applies with every list
 * but metadata's treated as atomic (as for CRDs without list metadata). */
int patch_ssa_apply(const json_t *live, const json_t *applied, const char *manager, int force,
                    const struct patch_schema *schema, json_t **out, struct err *err);

/* Records a non-apply write (create, update, patch) by manager in newobj's
 * metadata.managedFields (operation "Update"): fields that differ between old (NULL on create)
 * and newobj become owned by manager and are taken from every other manager. newobj is
 * modified in place; old is borrowed. A NULL or empty manager only carries the old entries over. */
void patch_ssa_track_update(json_t *newobj, const json_t *old, const char *manager,
                            const struct patch_schema *schema);


/* ---- limits -------------------------------------------------------------------------------
 * Every decoded object and every patch result is checked against these before anything else
 * walks it (validation, merge, serialization), and a JSON patch is checked after every
 * operation, so no request can build a huge or deep document inside the server. */

/* The largest object, as compact JSON: etcd's default request limit (1.5 MiB), which is what
 * bounds a Kubernetes object. Env KROLL_MAX_OBJECT_BYTES overrides it (4096 .. 4 GiB).
 * Exceeded: 413 RequestEntityTooLarge. */
#define PATCH_OBJECT_MAX_BYTES 1572864
/* The deepest nesting of objects/arrays: the bound jansson's JSON parser already enforces
 * (JSON_PARSER_MAX_DEPTH), so a patch cannot build what a body could not carry.
 * Exceeded: 422 Invalid. */
#define PATCH_MAX_DEPTH 2048
/* Kubernetes refuses JSON patches with more operations than this (maxJSONPatchOperations): 413. */
#define JSON_PATCH_MAX_OPS 10000
/* Bytes one JSON patch may duplicate with "copy" or re-measure for a "move" that deepens the
 * document, in total: twice the object limit. Bounds the work of one request; 413. */
#define JSON_PATCH_MAX_COPY_FACTOR 2

/* The object size limit in effect (PATCH_OBJECT_MAX_BYTES unless KROLL_MAX_OBJECT_BYTES). */
size_t patch_object_max_bytes(void);

enum { PATCH_OVER_SIZE = 1, PATCH_OVER_DEPTH = 2 };

struct patch_measure {
    size_t max_bytes; /* in */
    int max_depth;    /* in */
    size_t bytes;     /* in/out: compact JSON bytes, added to what is there */
    int depth;        /* in/out: deepest container level seen, raised */
    int over;         /* out: 0, PATCH_OVER_SIZE or PATCH_OVER_DEPTH */
};

/* Measures v as compact JSON placed under base levels of containers (0 for a whole document):
 * adds its size to m->bytes and raises m->depth. Stops as soon as m->max_bytes or
 * m->max_depth is passed (m->over says which; returns -1), so it never recurses deeper than
 * max_depth + 1 nor walks more than about max_bytes. Returns 0 within both limits. */
int patch_measure(const json_t *v, int base, struct patch_measure *m);

/* 0 when obj fits the object limits; else -E_TOO_LARGE (size, 413) or -E_INVALID (depth, 422)
 * with a message naming the limit and one cause. what names the thing in the message
 * ("the object", "the patched object"). */
int patch_check_object(const json_t *obj, const char *what, struct err *err);

#endif
