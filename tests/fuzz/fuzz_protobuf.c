/* libFuzzer entry for the Kubernetes protobuf body decoder (not built by CMake).
 * Build: clang -g -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_protobuf.c \
 *          src/api/protobuf.c src/api/protobuf-schema.c src/core/{err,jx,log}.c -ljansson -lm
 * Seed corpus: tests/unit/api/fixtures/pb/ *.pb. Any outcome but success, 400 or 415 is a bug,
 * as is a success that is not a JSON object. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/protobuf.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err err;
    json_t *obj = NULL;
    int rc;

    err_init(&err);
    rc = pb_decode_object(data, size, &obj, &err);
    if (rc == 0 && !json_is_object(obj))
        abort();
    if (rc != 0 && (obj || (rc != -E_BAD_REQUEST && rc != -E_UNSUPPORTED_MEDIA)))
        abort();
    json_decref(obj);
    err_release(&err);
    return 0;
}
