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
 * is -E_INVALID (Kubernetes answers 422). */
int patch_json_apply(const json_t *doc, const json_t *ops, json_t **out, struct err *err);

/* Applies an RFC 7386 merge patch. The patch must be a JSON object (Kubernetes answers 400
 * otherwise): -E_BAD_REQUEST. A doc that is not an object is treated as {}. */
int patch_merge_apply(const json_t *doc, const json_t *patch, json_t **out, struct err *err);

/* Applies a strategic merge patch for a built-in kind ("Deployment", "Pod", "Service", ...).
 * Lists merge by the kind's patch merge keys; directives ($patch, $setElementOrder/,
 * $retainKeys, $deleteFromPrimitiveList/) are honoured and never stored. An unknown kind is
 * -E_UNSUPPORTED_MEDIA, a malformed patch -E_BAD_REQUEST, a patch that contradicts its own
 * $retainKeys -E_INVALID. */
int patch_strategic_apply(const json_t *doc, const json_t *patch, const char *kind, json_t **out,
                          struct err *err);

/* Server-side apply of the applied configuration by manager (live may be NULL: create).
 * Returns the new object with metadata.managedFields updated, or -E_CONFLICT with one
 * "FieldManagerConflict" cause per field another manager owns with a different value (unless
 * force, which takes those fields over). -E_BAD_REQUEST when applied is not an object,
 * -E_INVALID for a keyed list item that lacks its key. Unknown kinds apply with every list
 * treated as atomic (as for CRDs without list metadata). */
int patch_ssa_apply(const json_t *live, const json_t *applied, const char *manager, int force,
                    const char *kind, json_t **out, struct err *err);

/* Records a non-apply write (create, update, patch) by manager in newobj's
 * metadata.managedFields (operation "Update"): fields that differ between old (NULL on create)
 * and newobj become owned by manager and are taken from every other manager. newobj is
 * modified in place; old is borrowed. A NULL or empty manager only carries the old entries over. */
void patch_ssa_track_update(json_t *newobj, const json_t *old, const char *manager,
                            const char *kind);

/* Parses YAML 1.2 (or JSON) text into a new jansson value: anchors, aliases and "<<" merge keys
 * are resolved; plain scalars follow the YAML 1.2 core schema. An empty document gives null.
 * Syntax errors are -E_BAD_REQUEST with "line L, column C" (1-based) in the message. */
int patch_parse_yaml(const char *text, size_t len, json_t **out, struct err *err);

#endif
