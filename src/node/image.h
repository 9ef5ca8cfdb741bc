/* The local OCI image store under <data-dir>/images: content-addressed blobs, layers unpacked
 * once per diffID (shared between images), and a tag index (repo:tag -> manifest). Images come
 * from OCI layouts, oci-archive and docker-save tars, image.json directories (`image build`),
 * or a registry through skopeo (`image pull`). See docs/internals/images.md. */
#ifndef KROLL_NODE_IMAGE_H
#define KROLL_NODE_IMAGE_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"

/* Longest reference and tag accepted (the limits of distribution/reference). */
#define IMAGE_REF_MAX 512
#define IMAGE_TAG_MAX 128

/* A parsed reference: "docker.io/myrepo/tf-serving:1.0.3" -> repo "myrepo/tf-serving",
 * tag "1.0.3"; "localhost:5000/a/b" keeps its registry in repo; no tag means "latest"
 * (has_tag 0); "@sha256:<hex>" fills digest, which must then match the image's id. */
struct image_ref {
    char repo[256];
    char tag[IMAGE_TAG_MAX + 1];
    char digest[160];
    int has_tag;
};

/* Parses ref with the grammar of container tools (see image.c); returns 0 or -E_INVALID with
 * err saying what is wrong with it. A parsed repo and tag are safe as path components. */
int image_ref_parse(const char *ref, struct image_ref *out, struct err *err);

/* A found image. config is the image config's "config" object (Entrypoint, Cmd, Env, WorkingDir,
 * User, StopSignal, ExposedPorts; owned). layers are the unpacked layer directories, bottom
 * first, in overlayfs format (whiteouts as 0/0 character devices, opaque directories with the
 * trusted.overlay.opaque xattr): the container runtime stacks them. dir is the image's only
 * layer when it has exactly one (the process runtime runs from it), else NULL. */
struct image {
    char *dir;
    json_t *config;
    char id[80];     /* "sha256:<config digest>": IMAGE ID */
    char digest[80]; /* "sha256:<manifest digest>", "" when unknown: for imageID repo@digest */
    char **layers;   /* owned, nlayers entries */
    size_t nlayers;
};

/* Loads ref from the store under data_dir, reading only the tag index and the config (it
 * runs on every container start). -E_NOT_FOUND (err: why, with the directory) when the image
 * is not there, -E_INVALID (err holds a path) when its config or a layer is broken. */
int image_load(const char *data_dir, const char *ref, struct image *img, struct err *err);
void image_release(struct image *img);

/* Imports src into the store and tags it ref, or when ref is NULL with the names src carries
 * (RepoTags, the ref.name annotation). src is an OCI layout directory, an oci-archive or
 * docker-save tar (maybe gzip'd), or a directory with image.json (built as by image_build).
 * Everything is verified and staged first: on error the store is unchanged. A tag that
 * pointed elsewhere moves; what nothing references any more is deleted. */
int image_import(const char *data_dir, const char *src, const char *ref, struct err *err);
/* The same; *tags (when not NULL) gets the array of references set (caller decrefs). */
int image_import_names(const char *data_dir, const char *src, const char *ref, json_t **tags,
                       struct err *err);
/* Builds the image.json directory src into a single-layer OCI image: imported as ref, or with
 * output "oci-archive:FILE" / "oci:DIR" written there instead (ref, if any, is its name). */
int image_build(const char *data_dir, const char *src, const char *ref, const char *output,
                struct err *err);
/* Pulls ref with `skopeo copy docker://REF oci-archive:TMP` (auth: skopeo's usual files or
 * REGISTRY_AUTH_FILE, which `kroll image pull --authfile` sets), bounded by KROLL_PULL_TIMEOUT seconds
 * (default IMAGE_PULL_TIMEOUT_S), then imports it as ref. Blocks for the whole pull: the
 * server must call it from a child process, never on its loop. -E_UNAVAILABLE when skopeo
 * fails (err: its last message), else as image_import. */
#define IMAGE_PULL_TIMEOUT_S 600
int image_pull(const char *data_dir, const char *ref, struct err *err);
/* Makes every image_pull running in this process (on other threads) kill its skopeo within
 * about a second and fail; for a server that is stopping. Not undone. */
void image_pull_cancel_all(void);
/* Removes the tag ref (blobs and layers no tag references any more are deleted);
 * -E_NOT_FOUND when absent. */
int image_remove(const char *data_dir, const char *ref, struct err *err);

/* Every tag in the store: array of {"repository","tag","id" (config digest),"size" (bytes,
 * uncompressed),"created" (epoch s)}, sorted by repository then tag. */
json_t *image_list(const char *data_dir);
/* docker-inspect-like JSON of ref: Id, Digest, RepoTags, RepoDigests, Created, Architecture,
 * Os, Config, RootFS, Size, Layers (directories); NULL with err when not found. */
json_t *image_inspect(const char *data_dir, const char *ref, struct err *err);

/* Validates a config object (image.json): Entrypoint/Cmd/Env string arrays, WorkingDir string. */
int image_config_check(const json_t *cfg, struct err *err);

#endif
