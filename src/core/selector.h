/* Label and field selectors as the apiserver evaluates them: the labelSelector
 * and fieldSelector query strings of list/watch requests, and
 * metav1.LabelSelector objects (spec.selector). Parsing follows
 * k8s.io/apimachinery's labels.Parse and fields.ParseSelector, including their
 * error texts, so kubectl users see the messages a real cluster prints. */
#ifndef KROLL_CORE_SELECTOR_H
#define KROLL_CORE_SELECTOR_H

#include <jansson.h>

#include "core/err.h"

struct labelsel; /* opaque */

/* Parses a labelSelector query string ("a=b,c==d,e!=f,g in (x,y),h notin
 * (z),i,!j,n>3"). Empty or all-blank text gives a selector that matches
 * everything. On error returns -E_BAD_REQUEST with upstream text in err
 * ("unable to parse requirement: ..."), *out NULL. */
int labelsel_parse(const char *s, struct labelsel **out, struct err *err);
/* Builds a selector from a metav1.LabelSelector object, like
 * LabelSelectorAsSelector: sel NULL (or JSON null) matches nothing, {} matches
 * everything. Bad keys/values/operators give -E_BAD_REQUEST with upstream text;
 * use labelsel_validate() for field-level causes. */
int labelsel_from_object(const json_t *sel, struct labelsel **out, struct err *err);
/* Adds Kubernetes field causes (ValidateLabelSelector) for sel under field
 * prefix `field` (e.g. "spec.selector"): matchLabels keys/values,
 * matchExpressions[i].operator/key/values. Returns the number of causes added
 * (0 = valid). Never fails on odd JSON types. */
int labelsel_validate(const json_t *sel, const char *field, struct err *err);
/* True when s matches the label map (labels may be NULL or a non-object: no
 * labels). */
int labelsel_match(const struct labelsel *s, const json_t *labels);
/* True when s does not restrict the selection (matches everything). */
int labelsel_empty(const struct labelsel *s);
/* Canonical text of a parsed selector (requirements sorted by key, In values
 * sorted). */
char *labelsel_format(const struct labelsel *s);
void labelsel_free(struct labelsel *s);

/* kubectl's/apiserver's string form of a metav1.LabelSelector
 * (selector.String()), e.g. "app=model-serving,pod-template-hash=7897d4cc57",
 * "env in (a,b),!legacy". "" for NULL or {}. Returns NULL when the selector is
 * invalid (callers print "<invalid>" or "<error>"). malloc'd. */
char *labelsel_string(const json_t *sel);
/* Label map -> "app=x,tier=y" (sorted by key), "" for none or a non-object;
 * malloc'd. */
char *labels_string(const json_t *labels);

struct fieldsel; /* opaque */

/* Parses a fieldSelector: comma-separated "field=value", "field==value",
 * "field!=value" terms; values may escape '\\', ',' and '=' with a backslash.
 * Empty text matches everything. Errors: -E_BAD_REQUEST ("invalid selector:
 * '...'; can't understand '...'", escape errors). */
int fieldsel_parse(const char *s, struct fieldsel **out, struct err *err);
/* True when obj satisfies every term. Field values are taken from obj as the
 * apiserver's selectable field sets render them (booleans "true"/"false",
 * integers in decimal, absent ""). */
int fieldsel_match(const struct fieldsel *s, const json_t *obj);
/* 0 when every field of s is metadata.name, metadata.namespace or one of
 * fields (a kind's kind_ops.field_selectors, NULL-terminated; NULL for none),
 * else -E_BAD_REQUEST with "field label not supported: <field>". */
int fieldsel_check(const struct fieldsel *s, const char *const *fields, struct err *err);
/* Value of an equality term on metadata.name / metadata.namespace, or NULL
 * (borrowed; lives as long as s). Lets a caller narrow a list to one key before
 * matching. */
const char *fieldsel_name(const struct fieldsel *s);
const char *fieldsel_namespace(const struct fieldsel *s);
/* True when s has no terms. */
int fieldsel_empty(const struct fieldsel *s);
void fieldsel_free(struct fieldsel *s);

#endif
