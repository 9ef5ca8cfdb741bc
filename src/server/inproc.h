/* The client's in-process transport: a struct kc whose writes are the API server's own verbs
 * (the validation, admission, defaulting and conflicts kubectl's requests get, without HTTP)
 * and whose informers start from the API's in-process list and watch. The server wires it;
 * it is the one bridge between the client layer and the API. */
#ifndef KROLL_SERVER_INPROC_H
#define KROLL_SERVER_INPROC_H

#include "api/api.h"
#include "client/kc.h"

/* A client over the API server api (borrowed; outlives the client). */
struct kc *kc_inproc_new(struct api *api);

#endif
