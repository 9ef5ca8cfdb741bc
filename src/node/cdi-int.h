/* Declarations shared by node/cdi.c (parsing, the registry) and node/cdi_apply.c (OCI edits,
 * allocation) only. */
#ifndef KROLL_NODE_CDI_INT_H
#define KROLL_NODE_CDI_INT_H

#include "node/cdi.h"

struct cdi_device {
    char *name;      /* fully qualified: "vendor.com/class=dev" */
    size_t kind_len; /* name[0..kind_len) is the kind */
    json_t *spec;    /* the spec it comes from (a reference; shared by its devices) */
    json_t *dev;     /* its entry in spec.devices (borrowed from spec) */
    char *path;      /* the spec file, for messages */
    int prio;        /* index of its directory */
};

struct cdi_registry {
    struct cdi_device *devs; /* sorted by name, natural order (strverscmp) */
    size_t n, cap;
};

/* The device called name, or NULL. */
const struct cdi_device *cdi__find(const struct cdi_registry *reg, const char *name);

#endif
