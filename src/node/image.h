/* The local image store: <data-dir>/images/<repository>/<tag>/ directories, each with an
 * image.json in OCI image-config field names (Entrypoint, Cmd, Env, WorkingDir, ExposedPorts).
 * "Pulling" an image means finding it here; nothing is fetched over the network. */
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

/* Loads ref from the store under data_dir. -E_NOT_FOUND (err: why, with the directory) when
 * the image is not there, -E_INVALID when its image.json is unreadable. */
int image_load(const char *data_dir, const char *ref, struct image *img, struct err *err);
void image_release(struct image *img);

/* Copies src_dir (must hold a valid image.json) into the store as ref, replacing an older
 * copy atomically (copy beside, rename over). */
int image_import(const char *data_dir, const char *src_dir, const char *ref, struct err *err);
/* Removes ref from the store; -E_NOT_FOUND when absent. */
int image_remove(const char *data_dir, const char *ref, struct err *err);

/* Every image in the store: array of {"repository","tag","size" (bytes),"created" (epoch s)},
 * sorted by repository then tag. */
json_t *image_list(const char *data_dir);

/* Validates a config object (image.json): Entrypoint/Cmd/Env string arrays, WorkingDir string. */
int image_config_check(const json_t *cfg, struct err *err);

#endif
