/* pods/portforward: placeholder until the SPDY port-forward lands (answers 400). */
#include "node/node-int.h"

#include <string.h>

#include "core/jx.h"
#include "node/stream-int.h"

void portfwd__serve(struct kubelet *kl, struct http_req *req, const json_t *pod)
{
    json_t *st = api_status_json(-E_BAD_REQUEST, "port-forward is not supported yet", NULL);
    char *body = jx_dump(st);

    http_respond(req, 400, "application/json", body, strlen(body), NULL);
    free(body);
    json_decref(st);
}
