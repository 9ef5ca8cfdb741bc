/* Container root filesystems and the files of an OCI bundle that are not config.json:
 * <pod-dir>/ctr/<name>/rootfs is an overlayfs of the image's layers with a per-container
 * writable layer (<bundle>/upper, <bundle>/work), or, where overlayfs cannot be mounted, a copy
 * of the layers with their whiteouts applied. The pod's /etc/hosts, /etc/hostname and
 * /etc/resolv.conf live in <pod-dir>/etc, each container's termination log in its bundle. */
#ifndef KROLL_NODE_ROOTFS_H
#define KROLL_NODE_ROOTFS_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

#define ROOTFS_LAYERS_MAX 128   /* layers stacked for one container (overlayfs allows 500) */
#define ROOTFS_OPTS_MAX 3000    /* overlay mount options, kept under the 4 KiB page */
#define ROOTFS_TERMLOG_MAX 4096 /* bytes of a termination message, as the kubelet */

enum rootfs_how { ROOTFS_OVERLAY = 0, ROOTFS_COPY = 1 };

/* Makes <bundle>/rootfs from layers (bottom first) with a fresh writable layer: any previous
 * instance's rootfs is unmounted and its upper layer discarded. force_copy skips overlayfs (tests
 * and hosts without it). Returns ROOTFS_OVERLAY or ROOTFS_COPY, or a negative code with err. */
int rootfs_make(const char *bundle, char *const *layers, size_t nlayers, int force_copy,
                struct err *err);
/* Unmounts <bundle>/rootfs (MNT_DETACH) if it is a mount point; a no-op otherwise. */
void rootfs_unmount(const char *bundle);
/* rootfs_unmount() of every <pod_dir>/ctr/<name>. */
void rootfs_unmount_all(const char *pod_dir);
/* Calls fn(name, ctx) for each container bundle under <pod_dir>/ctr. */
void rootfs_bundles_each(const char *pod_dir, void (*fn)(const char *name, void *ctx), void *ctx);

/* Writes <pod_dir>/etc/hosts (localhost, the pod IP and name), hostname, and resolv.conf (from
 * the pod's dnsPolicy and dnsConfig, see rootfs_resolv_conf; the host's copy when pod is NULL).
 * Idempotent. */
int rootfs_etc_write(const char *pod_dir, const char *pod_name, const char *pod_ip,
                     const json_t *pod, struct err *err);
/* dnsconf.c: the pod's resolv.conf text as the kubelet makes it from its dnsPolicy, dnsConfig
 * and host (the host's resolv.conf text, may be NULL). malloc'd. */
char *rootfs_resolv_conf(const json_t *pod, const char *host);
/* Creates (empty) the container's termination log file and returns its path (malloc'd). */
char *rootfs_termlog_create(const char *bundle, struct err *err);
/* Reads at most ROOTFS_TERMLOG_MAX bytes of <pod_dir>/ctr/<name>/termination-log; NULL when
 * absent or empty. malloc'd. */
char *rootfs_termlog_read(const char *pod_dir, const char *name);

/* terminationMessagePolicy FallbackToLogsOnError: the messages of the last log records of
 * <pod_dir>/logs/<name>/current.log, at most ROOTFS_LOGTAIL_LINES lines and
 * ROOTFS_LOGTAIL_BYTES bytes (the kubelet's limits). NULL when there is no log. malloc'd. */
#define ROOTFS_LOGTAIL_LINES 80
#define ROOTFS_LOGTAIL_BYTES 2048
char *rootfs_log_tail(const char *pod_dir, const char *name);

/* The OCI runtime id of a container: "k<first 12 hex digits of the pod uid>-<name>". */
void rootfs_container_id(const char *pod_uid, const char *name, char *out, size_t n);

#endif
