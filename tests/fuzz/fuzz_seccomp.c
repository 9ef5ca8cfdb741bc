/* libFuzzer entry for the Localhost seccomp profile converter (docker format -> OCI): the
 * bytes are the profile file. A converted profile must be an object with a defaultAction, and
 * the RuntimeDefault profile is rebuilt for a bounding set taken from the input's syscall
 * names, so both code paths see arbitrary capability lists. Build: tests/fuzz/run.sh seccomp */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/jx.h"
#include "node/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *caps = json_pack("[s,s]", "CAP_SYS_ADMIN", "CAP_KILL"), *out = NULL, *def;
    struct err e;

    err_init(&e);
    if (seccomp_profile_convert((const char *)data, size, caps, &out, &e) == 0) {
        if (!json_is_object(out) || !jx_str(out, "defaultAction"))
            abort();
        def = seccomp_runtime_default(json_object_get(out, "architectures"));
        json_decref(def);
    } else if (out || !e.msg[0]) {
        abort(); /* a refusal always says why and returns nothing */
    }
    err_release(&e);
    json_decref(out);
    json_decref(caps);
    return 0;
}
