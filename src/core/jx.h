/* Small jansson helpers: dotted-path access, RFC 3339 times, and Kubernetes quantities.
 * Getters borrow (never allocate); setters take ownership of the value they store. */
#ifndef KROLL_CORE_JX_H
#define KROLL_CORE_JX_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

/* Dotted paths are program text, never data: every key on a path is split at its dots, so a
 * label, annotation or data key ("app.kubernetes.io/name") must be looked up with
 * json_object_get (or jx_label / jx_annotation), never pasted into a path. A path longer than
 * 512 bytes matches nothing: jx_get/jx_str/jx_int/jx_bool find nothing, jx_obj returns NULL,
 * jx_set drops v, jx_del does nothing. */

/* Returns the value at a dotted path ("metadata.labels"), or NULL. */
json_t *jx_get(const json_t *o, const char *path);
/* String at path, or NULL when absent or not a string. */
const char *jx_str(const json_t *o, const char *path);
/* Integer at path, or def when absent or not an integer. */
json_int_t jx_int(const json_t *o, const char *path, json_int_t def);
/* True when path holds JSON true. */
int jx_bool(const json_t *o, const char *path);
/* Object at path, created (with any missing parents) when absent or not an object; NULL when o
 * is not an object or the path is too long. */
json_t *jx_obj(json_t *o, const char *path);
/* Stores v (taken) at path, creating parents; v is released when it cannot be stored. */
void jx_set(json_t *o, const char *path, json_t *v);
/* Removes the key at path if present. */
void jx_del(json_t *o, const char *path);
/* Annotation / label value or NULL. */
const char *jx_annotation(const json_t *obj, const char *key);
const char *jx_label(const json_t *obj, const char *key);
/* Compact JSON text of v (malloc'd; never NULL for valid v). */
char *jx_dump(const json_t *v);
/* Deep equality that treats null, absent, "", [] and {} alike (Kubernetes' semantic equality
 * for templates: kubectl sends "creationTimestamp": null). */
int jx_equal_semantic(const json_t *a, const json_t *b);
/* Drops null values and empty objects/arrays/strings recursively; returns o. */
json_t *jx_prune(json_t *o);

/* "2026-11-27T01:57:03Z" for t (UTC). out must hold 32 bytes. */
void time_rfc3339(time_t t, char *out);
/* RFC 3339 with microseconds, for MicroTime fields. out must hold 40 bytes. */
void time_rfc3339_micro(const struct timespec *ts, char *out);
/* Parses RFC 3339 (Z or offset, optional fraction); returns -1 when invalid. */
time_t time_parse(const char *s);
/* Seconds from the monotonic clock, and milliseconds. */
double time_mono(void);
int64_t time_mono_ms(void);
/* Kubernetes' human duration as kubectl prints AGE: "4s", "3m2s", "5h", "2d", "3y". */
void time_human(int64_t seconds, char *out, size_t n);

/* A duration as Argo Rollouts takes it (DurationString): a JSON integer of seconds, or a
 * string of digits (seconds) or Go's time.ParseDuration units ("10s", "1m30s", "500ms",
 * "1h"). Writes whole milliseconds, at most about 10 years. Returns 0, or -1 when invalid. */
int duration_parse_ms(const json_t *v, int64_t *ms);

/* Parses a Kubernetes quantity ("100m", "1Gi", "2", "1.5", "1e3") into milli-units.
 * Returns 0, or -1 when the text is not a quantity. */
int quantity_parse_milli(const char *s, int64_t *milli);
/* The same for a quantity as JSON may carry it: a string, or a bare number from YAML. */
int quantity_json_milli(const json_t *v, int64_t *milli);
/* Formats milli-units as the VPA recommender writes quantities: millicores ("250m") when cpu,
 * else whole units with the largest exact decimal suffix ("128M", "1500"). */
void quantity_fmt_milli(int64_t milli, int cpu, char *out, size_t n);

struct err;
/* Parses YAML 1.2 (or JSON) text into a new jansson value: anchors, aliases and "<<" merge keys
 * are resolved; plain scalars follow the YAML 1.2 core schema. Only the first document counts;
 * an empty one gives null. Syntax errors, repeated keys and recursive or unknown aliases are
 * -E_BAD_REQUEST with "line L, column C" (1-based) in the message; more than 512 nested
 * collections or aliases expanding past 1,000,000 values are -E_TOO_LARGE (jx_yaml.c). */
int jx_parse_yaml(const char *text, size_t len, json_t **out, struct err *err);

#endif
