/* Private to the OCI image store (image.c, oci_*.c, layer.c): the store's layout on disk, its
 * limits, the staging area every import writes to before publishing by rename, and the
 * helpers the importer, builder and puller share. Nothing outside src/node/ includes this. */
#ifndef KROLL_NODE_OCI_INT_H
#define KROLL_NODE_OCI_INT_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

/* Limits on untrusted input. JSON documents (index, manifest, config, manifest.json) are read
 * whole, so they are capped; an image index may nest one level (index -> index -> manifest);
 * an image has at most as many layers as Docker allows; a layer at most so many entries. */
#define OCI_JSON_MAX (4 << 20)
#define OCI_INDEX_DEPTH 2
#define OCI_LAYERS_MAX 127
#define OCI_LAYER_ENTRIES_MAX (1 << 20)
/* Bytes one import may write (blobs plus unpacked layers), KROLL_IMAGE_MAX_BYTES overrides. */
#define OCI_IMPORT_MAX_DEFAULT (64LL << 30)
/* Tags in the store (the tag index is one JSON document under OCI_JSON_MAX anyway). */
#define OCI_TAGS_MAX 10000

#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_REF_NAME "org.opencontainers.image.ref.name"

/* An open store: root is <data-dir>/images (real path, no symlinks: the layer extractor
 * refuses to write through any), stage is this import's private directory under it, holding
 * blobs/ and layers/ to be published by rename. The store lock (flock on root/.lock) is held
 * from open to close, so GC never races an import. budget counts the bytes still allowed. */
struct oci_store {
    char *root;
    char *stage;
    int lock_fd;
    long long budget;
};

/* Opens (creating) the store under data_dir and takes its lock; with stage, also makes an empty
 * staging directory and removes stale ones (left by a crash: nobody else holds the lock). */
int oci_store_open(struct oci_store *s, const char *data_dir, int stage, struct err *err);
/* Removes the staging directory (unpublished work) and releases the lock. */
void oci_store_close(struct oci_store *s);
/* Renames every staged blob and layer into the store (those already there are left alone). */
int oci_store_publish(struct oci_store *s, struct err *err);
/* Charges n bytes to the import's budget; -E_TOO_LARGE once it is spent. */
int oci_budget_take(struct oci_store *s, long long n, struct err *err);

/* Whether d is "sha256:<64 lower hex>", the only digest algorithm the store keeps. */
int oci_digest_ok(const char *d);
/* "sha256:<hex>" of n bytes. */
void oci_sha256(const void *buf, size_t n, char out[80]);
/* Paths of a blob / an unpacked layer (by diffID) in the store root or a stage (caller frees). */
char *oci_blob_path(const char *base, const char *digest);
char *oci_layer_path(const char *base, const char *diffid);
/* The blob's path in the store if published, else in the stage if staged, else NULL. */
char *oci_blob_find(const struct oci_store *s, const char *digest);

/* Copies fd into the stage as a blob while hashing it. want (may be NULL) and want_size (-1:
 * any) are what a descriptor promised; a mismatch is refused. The digest is returned in got. */
int oci_blob_put_fd(struct oci_store *s, int fd, const char *want, long long want_size,
                    char got[80], struct err *err);
int oci_blob_put_mem(struct oci_store *s, const void *buf, size_t n, char got[80],
                     struct err *err);
/* Reads a JSON blob (stage or store), at most OCI_JSON_MAX bytes, checking its digest. */
json_t *oci_blob_json(const struct oci_store *s, const char *digest, struct err *err);
/* Reads a JSON file of at most OCI_JSON_MAX bytes from fd (closed); what names it in errors. */
json_t *oci_json_fd(int fd, const char *what, char digest[80], struct err *err);

/* The tag index <root>/tags.json: {"tags":[{repository, tag, manifest, config, size,
 * created}]}; missing means empty. Writing is atomic (temp + fsync + rename). */
json_t *oci_tags_read(const char *root, struct err *err);
int oci_tags_write(const char *root, json_t *tags, struct err *err);
/* Deletes blobs and layers that no tag references any more. */
void oci_store_gc(struct oci_store *s, const json_t *tags);

/* Unpacks the layer blob at blob (tar, tar+gzip or tar+zstd) into the stage as diffid,
 * converting whiteouts to overlayfs format, refusing traversal, devices and truncation, and
 * checking that the uncompressed stream hashes to diffid. *size gets the uncompressed size. */
int layer_unpack(struct oci_store *s, const char *blob, const char *diffid, long long *size,
                 struct err *err);
/* Writes dir's contents (except its top-level image.json) as a deterministic tar to path:
 * sorted names, owner 0:0, mtime fixed to mtime when >= 0. Returns 0 or -E_xxx. */
int layer_write_tar(const char *dir, const char *path, long long mtime, struct err *err);

/* Imports an OCI layout or docker-save directory (rootfd: an open directory) into s: blobs and
 * layers staged; of several manifests, the one whose ref.name is want (a reference or its tag,
 * may be NULL) or the one for this machine's platform is chosen; *manifest and *config set to the chosen image's digests and *names to the tags
 * the archive names (array of strings, maybe empty; caller decrefs). */
int oci_import_dir(struct oci_store *s, int rootfd, const char *want, char manifest[80],
                   char config[80], json_t **names, struct err *err);
/* Writes an OCI image layout of the image.json directory src into out (an empty directory):
 * one tar layer, a config and a manifest; ref (may be NULL) becomes the ref.name annotation. */
int oci_build_layout(const char *src, const char *out, const char *ref, struct err *err);

/* rm -rf that never follows symlinks. */
void oci_rm_tree(const char *path);
/* mkdir -p (mode 0700 for new levels). */
int oci_mkdir_p(const char *path);
/* Seconds since the epoch of an RFC 3339 time ("2024-01-02T03:04:05.123Z"), 0 if unparsable. */
long long oci_time_parse(const char *s);

#endif
