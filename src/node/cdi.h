/* CDI (Container Device Interface, cncf-tags/container-device-interface SPEC.md, cdiVersion
 * 0.3.0 to 0.8.0): a registry of the devices that spec files (JSON or YAML) in a list of spec
 * directories describe, the merge of their containerEdits into an OCI runtime spec, and the
 * allocation of concrete devices for an extended resource named like a CDI kind
 * ("example.com/gpu" -> "example.com/gpu=gpu0"). Pure data: no loop; loading reads files. */
#ifndef KROLL_NODE_CDI_H
#define KROLL_NODE_CDI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Limits: a spec file's size, the spec files read per directory, the spec directories, the
 * devices in the whole registry, and a device name's length. */
#define CDI_SPEC_MAX_BYTES (1 << 20)
#define CDI_MAX_SPEC_FILES 256
#define CDI_MAX_DIRS 16
#define CDI_MAX_DEVICES 4096
#define CDI_NAME_MAX 253

/* The spec directories when none are given, lowest priority first (a device defined in both
 * is the one from /var/run/cdi, as in the CDI library's cache). */
extern const char *const cdi_default_dirs[];
extern const size_t cdi_n_default_dirs;

struct cdi_registry;

/* Parses and validates one spec from bytes (JSON, or YAML when yaml is set) into a new
 * reference: the spec object as written. Returns 0, or a negative code with err's message
 * naming the problem (path is only used in messages). */
int cdi_spec_parse(const char *text, size_t len, int yaml, const char *path, json_t **out,
                   struct err *err);

/* Loads every *.json, *.yaml and *.yml spec of dirs (later directories take priority; a
 * missing directory is empty). *out is always set (free it with cdi_registry_free). Returns 0,
 * or a negative code when some spec files or devices were refused: err then says which (the
 * first problem and a count); the valid ones are in the registry all the same. A device that
 * two specs of the same directory define is dropped, as the CDI library does. */
int cdi_registry_load(const char *const *dirs, size_t n, struct cdi_registry **out,
                      struct err *err);
void cdi_registry_free(struct cdi_registry *reg);

/* Devices of kind ("vendor.com/class"); 0 when the kind is unknown. */
size_t cdi_kind_count(const struct cdi_registry *reg, const char *kind);
/* Every kind with its device count: a new JSON object, kind -> integer. */
json_t *cdi_kinds(const struct cdi_registry *reg);
/* True when name ("vendor.com/class=dev") is a device of the registry. */
int cdi_has_device(const struct cdi_registry *reg, const char *name);

/* Applies, for the fully-qualified devices ("vendor.com/class=name", borrowed), the edits of
 * each device and, once per spec, the spec's edits, to the OCI runtime spec oci (config.json
 * as JSON): process.env (set or replaced), linux.devices and linux.resources.devices allow
 * rules (type/major/minor read from the host node when the spec leaves them out), mounts
 * (ordered parents first), hooks.<hookName>, process.user.additionalGids. Returns 0; on any
 * error (an unknown device, a host node that is not there) a negative code, err set, and oci
 * unchanged. */
int cdi_apply(const struct cdi_registry *reg, const char *const *devices, size_t n, json_t *oci,
              struct err *err);

/* Picks count devices of kind for one container, lowest names first (natural order: gpu2
 * before gpu10), skipping those in in_use (a JSON array of fully-qualified names, borrowed,
 * may be NULL). Returns 0 and *out (a new array of fully-qualified names), or a negative code
 * with err set when the kind is unknown or fewer than count are free. */
int cdi_allocate(const struct cdi_registry *reg, const char *kind, int64_t count,
                 const json_t *in_use, json_t **out, struct err *err);

/* Allocation bookkeeping of one node: owner (e.g. "<pod uid>/<container>") -> its devices. */
struct cdi_alloc;
struct cdi_alloc *cdi_alloc_new(void);
void cdi_alloc_free(struct cdi_alloc *a);
/* Allocates, for each limits entry (a container's resources.limits, borrowed) whose name is a
 * CDI kind of reg, that many devices, and records them under owner. All or nothing: on error
 * nothing is recorded. An owner that already holds devices gets the same ones back. Returns 0
 * and *out (new array of fully-qualified names, empty when no limit is a CDI kind). */
int cdi_alloc_take(struct cdi_alloc *a, const struct cdi_registry *reg, const char *owner,
                   const json_t *limits, json_t **out, struct err *err);
/* Records devices (array of names, borrowed) under owner as they were persisted before a
 * restart; devices already held by another owner are refused (-E_CONFLICT). */
int cdi_alloc_restore(struct cdi_alloc *a, const char *owner, const json_t *devices,
                      struct err *err);
/* Frees owner's devices; unknown owners are a no-op. */
void cdi_alloc_release(struct cdi_alloc *a, const char *owner);
/* Devices of owner (borrowed, NULL when none). */
const json_t *cdi_alloc_get(const struct cdi_alloc *a, const char *owner);

#endif
