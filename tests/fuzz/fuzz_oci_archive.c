/* libFuzzer entry for image import from untrusted bytes: the input is written as a file and
 * imported like `kroll image import FILE` into a fresh store in a temp directory, so the outer
 * tar (oci-archive or docker save), index/manifest/config JSON, blob checks and layer
 * unpacking (tar, gzip, zstd, whiteouts, traversal checks) all see it. The store is removed
 * after each input; imports are capped at 1 MiB so a decompression bomb stays small.
 * Build: tests/fuzz/run.sh oci_archive */
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/image.h"

static char g_dir[256];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

/* The scratch directory goes when the fuzzer exits (libFuzzer ends with exit()). */
static void scratch_remove(void)
{
    nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char file[300], store[300];
    struct err err;
    FILE *f;

    if (!g_dir[0]) {
        snprintf(g_dir, sizeof g_dir, "%s/kroll-fuzz-oci.XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(g_dir))
            abort();
        setenv("KROLL_IMAGE_MAX_BYTES", "1048576", 1);
        atexit(scratch_remove);
    }
    snprintf(file, sizeof file, "%s/in.tar", g_dir);
    snprintf(store, sizeof store, "%s/data", g_dir);
    if (!(f = fopen(file, "w")))
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    err_init(&err);
    if (image_import(store, file, size & 1 ? "fuzz/x:1" : NULL, &err) == 0) {
        struct image img;

        if (image_load(store, "fuzz/x:1", &img, &err) == 0)
            image_release(&img);
    }
    err_release(&err);
    nftw(store, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
