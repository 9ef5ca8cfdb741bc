/* Seccomp profiles for containers, as OCI runtime-spec `linux.seccomp` objects (json_t):
 * RuntimeDefault (containerd's default profile, seccomp.c), Localhost (a docker/OCI-format file
 * under <data-dir>/seccomp, converted to the OCI form), Unconfined (no profile: the caller
 * leaves linux.seccomp out). Pure functions: no loop, no global state. */
#ifndef KROLL_NODE_SECCOMP_H
#define KROLL_NODE_SECCOMP_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

/* A Localhost profile larger than this is refused (the kubelet has no limit; 1 MiB is ~50
 * times containerd's own profile). */
#define SECCOMP_PROFILE_MAX_BYTES (1 << 20)
/* Rules and syscall names per profile: bounds what a profile file can make runc load. */
#define SECCOMP_MAX_RULES 4096
#define SECCOMP_MAX_NAMES 65536

/* containerd's RuntimeDefault profile for this host's architecture. caps is the container's
 * bounding set (a JSON array of "CAP_*" strings, borrowed; NULL means none): each capability
 * allows the syscalls containerd ties to it, and without CAP_SYS_ADMIN clone is allowed only
 * without namespace flags and clone3 fails with ENOSYS. Returns a new reference. */
json_t *seccomp_runtime_default(const json_t *caps);

/* Loads the Localhost profile <data_dir>/seccomp/<name> (name as in
 * seccompProfile.localhostProfile: relative, no "..", not leaving the directory through a
 * symlink, at most SECCOMP_PROFILE_MAX_BYTES) and converts it with seccomp_profile_convert.
 * Returns 0 and *out (new reference), or a negative code with err's message ready to be the
 * CreateContainerError message; *out is NULL then. */
int seccomp_localhost(const char *data_dir, const char *name, const json_t *caps, json_t **out,
                      struct err *err);

/* Converts the text of a docker/OCI-format profile (defaultAction, defaultErrnoRet,
 * architectures or archMap, flags, syscalls[name|names, action, args, errnoRet,
 * includes/excludes {caps, arches, minKernel}]) into the OCI linux.seccomp form for this host
 * and the bounding set caps. Unknown actions, operators, architectures or flags, and
 * malformed fields are refused with a message naming the field. Same return as above. */
int seccomp_profile_convert(const char *text, size_t len, const json_t *caps, json_t **out,
                            struct err *err);

#endif
