/* Declarations shared between the files of src/resources only: the schema tables, the
 * per-kind hooks, and the small validators (names, labels, selectors, int-or-string)
 * that several kinds use. */
#ifndef KROLL_RESOURCES_RES_INT_H
#define KROLL_RESOURCES_RES_INT_H

#include <jansson.h>

#include "core/err.h"
#include "resources/resources.h"

/* ---- schema (schema.c) ---- */
enum res_vkind {
    RK_STR,  /* string */
    RK_INT,  /* int32 */
    RK_I64,  /* int64 */
    RK_BOOL, /* boolean */
    RK_NUM,  /* any number */
    RK_IOS,  /* intstr.IntOrString */
    RK_QTY,  /* resource.Quantity: string or number, quantity syntax */
    RK_ANY,  /* free-form (RawExtension, FieldsV1, rarely used volume sources) */
    RK_OBJ,  /* struct, see type */
};
enum res_shape { RS_ONE, RS_LIST, RS_MAP };

struct res_type;
struct res_field {
    const char *name;
    unsigned char kind;  /* enum res_vkind */
    unsigned char shape; /* enum res_shape */
    const struct res_type *type;
};
struct res_type {
    const char *name;               /* Go type name, for messages and debugging */
    const struct res_field *fields; /* terminated by {NULL} */
};

extern const struct res_type res__t_namespace, res__t_node, res__t_pod, res__t_service,
    res__t_endpoints, res__t_configmap, res__t_secret, res__t_event, res__t_serviceaccount,
    res__t_deployment, res__t_replicaset, res__t_daemonset, res__t_pdb, res__t_eviction,
    res__t_endpointslice, res__t_scale, res__t_deleteoptions;
extern const struct res_type res__t_job;
extern const struct res_type res__t_hpa;
extern const struct res_type res__t_vpa;
extern const struct res_type res__t_analysistemplate, res__t_clusteranalysistemplate,
    res__t_analysisrun;
extern const struct res_type res__t_rollout, res__t_experiment;
extern const struct res_type res__t_gatewayclass, res__t_gateway, res__t_httproute;

/* Walks v against t. Unknown fields are appended (as path strings) to unknown when it is
 * not NULL; wrong JSON types become causes in err when err is not NULL. Returns the number
 * of type errors found. */
int res__schema_walk(const struct res_type *t, const json_t *v, json_t *unknown, struct err *err);
/* The first wrong JSON type in v, worded as Go's JSON decoder words it, into msg: returns 1
 * when there is one (and it is not a custom-decoded type such as a quantity), else 0. */
int res__schema_decode_error(const struct res_type *t, const json_t *v, char *msg, size_t n);
/* Deletes the fields of v that t does not declare, at every depth. */
void res__schema_prune(const struct res_type *t, json_t *v);

/* ---- names, labels, selectors (meta.c) ---- */
enum res_name_rule { RN_SUBDOMAIN, RN_LABEL, RN_DNS1035, RN_NONE };

/* Each returns 1 when s is valid, else 0 and writes the upstream message to msg. */
int res__is_dns1123_label(const char *s, char *msg, size_t n);
int res__is_dns1123_subdomain(const char *s, char *msg, size_t n);
int res__is_dns1035_label(const char *s, char *msg, size_t n);
int res__is_c_identifier(const char *s);
/* Adds a cause per violation of rule for value at field. */
void res__name_check(struct err *err, const char *field, const char *value,
                     enum res_name_rule rule);
void res__labels_validate(const json_t *labels, const char *field, struct err *err);
/* tolerations.c: scheduling fields of pods and nodes. */
void res__tolerations_validate(const json_t *tols, const char *field, struct err *err);
void res__taints_validate(const json_t *taints, const char *field, struct err *err);
void res__node_affinity_validate(const json_t *na, const char *field, struct err *err);
void res__pod_default_tolerations(json_t *spec);
void res__qualified_name_check(struct err *err, const char *field, const char *key);
void res__selector_validate(const json_t *sel, const char *field, struct err *err);
/* True when the LabelSelector sel matches labels (matchLabels and matchExpressions). */
int res__selector_matches(const json_t *sel, const json_t *labels);
/* ObjectMeta rules; rule says how metadata.name is checked; namespaced says whether
 * metadata.namespace is expected. old (may be NULL) is the stored object. */
void res__meta_validate(const json_t *obj, const json_t *old, enum res_name_rule rule,
                        int namespaced, struct err *err);
/* snprintf for field paths (truncation is acceptable there). */
void res__path(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Checks an int field (absent is fine) for >= 0 with Kubernetes' message. */
void res__nonneg(const json_t *o, const char *key, const char *field, struct err *err);
/* The immutable-field rule: adds `Invalid value: <new>: field is immutable` when a and b
 * differ semantically. */
void res__immutable(const json_t *a, const json_t *b, const char *field, struct err *err);
/* Config keys of ConfigMap/Secret data. */
void res__config_key_check(struct err *err, const char *field, const char *key);

/* ---- defaulting helpers (meta.c) ---- */
/* Child object at key, created when absent or null; NULL when parent is not an object or
 * the child has another type (left for validation to report). */
json_t *res__dobj(json_t *parent, const char *key);
/* Sets key to v (taken) when absent or null; otherwise drops v. */
void res__dset(json_t *parent, const char *key, json_t *v);

/* ---- int-or-string (deployment.c) ---- */
/* Parses an IntOrString that may be a percent: returns 0 and sets *val and *pct, or -1. */
int res__intstr_parse(const json_t *v, long long *val, int *pct);
/* Validates a non-negative int or percent string at field. */
void res__intstr_nonneg(const json_t *v, const char *field, struct err *err);
void res__intstr_le100pct(const json_t *v, const char *field, struct err *err);
/* `Invalid value: v1.LabelSelector{...}: msg` at field, the selector printed as Go prints it. */
void res__selector_invalid(struct err *err, const char *field, const json_t *sel,
                           const char *msg);

/* ---- workloads (deployment.c) ---- */
/* Selector required, non-empty, matching the template's labels; then the template (what
 * names the kind in the empty-selector message). */
void res__workload_selector_template(const json_t *spec, const char *what, struct err *err);
/* spec.selector of obj equals old's (the immutable-field rule). */
void res__selector_immutable(const json_t *obj, const json_t *old, struct err *err);

/* ---- pods (pod.c) ---- */
/* is_pod: Pod object (not a template): requests from limits, enableServiceLinks. */
void res__podspec_default(json_t *spec, int is_pod);
void res__podtemplate_default(json_t *tmpl);
void res__podspec_validate(const json_t *spec, const json_t *old_spec, const char *field,
                           struct err *err);
/* Template of a workload: metadata labels, spec, restartPolicy Always, no deadline. */
void res__podtemplate_validate(const json_t *tmpl, const char *field, struct err *err);
void res__pod_default(json_t *obj);
void res__pod_validate(const json_t *obj, const json_t *old, struct err *err);

/* ---- the kind descriptor (resources.c) ---- */
typedef void res_default_fn(json_t *obj);
typedef void res_validate_fn(const json_t *obj, const json_t *old, struct err *err);

struct res_kind {
    const char *group, *kind, *version;
    const struct res_type *schema;
    res_default_fn *def;
    res_validate_fn *validate;
};

/* ---- per-kind hooks ---- */
void res__deployment_default(json_t *obj);
void res__deployment_validate(const json_t *obj, const json_t *old, struct err *err);
void res__replicaset_default(json_t *obj);
void res__replicaset_validate(const json_t *obj, const json_t *old, struct err *err);
void res__daemonset_default(json_t *obj);
void res__daemonset_validate(const json_t *obj, const json_t *old, struct err *err);
void res__scale_validate(const json_t *obj, const json_t *old, struct err *err);
void res__service_default(json_t *obj);
void res__service_validate(const json_t *obj, const json_t *old, struct err *err);
void res__endpoints_default(json_t *obj);
void res__endpoints_validate(const json_t *obj, const json_t *old, struct err *err);
void res__endpointslice_default(json_t *obj);
void res__endpointslice_validate(const json_t *obj, const json_t *old, struct err *err);
void res__namespace_default(json_t *obj);
void res__node_default(json_t *obj);
void res__node_validate(const json_t *obj, const json_t *old, struct err *err);
void res__configmap_validate(const json_t *obj, const json_t *old, struct err *err);
void res__secret_default(json_t *obj);
void res__secret_validate(const json_t *obj, const json_t *old, struct err *err);
void res__pdb_validate(const json_t *obj, const json_t *old, struct err *err);
void res__event_validate(const json_t *obj, const json_t *old, struct err *err);
void res__rollout_default(json_t *obj);
void res__rollout_validate(const json_t *obj, const json_t *old, struct err *err);
void res__deleteoptions_validate(const json_t *obj, const json_t *old, struct err *err);
void res__eviction_validate(const json_t *obj, const json_t *old, struct err *err);
void res__job_default(json_t *obj);
void res__job_validate(const json_t *obj, const json_t *old, struct err *err);
void res__hpa_default(json_t *obj);
void res__hpa_validate(const json_t *obj, const json_t *old, struct err *err);
void res__vpa_validate(const json_t *obj, const json_t *old, struct err *err);
void res__analysistemplate_validate(const json_t *obj, const json_t *old, struct err *err);
void res__clusteranalysistemplate_validate(const json_t *obj, const json_t *old, struct err *err);
void res__analysisrun_validate(const json_t *obj, const json_t *old, struct err *err);

#endif
