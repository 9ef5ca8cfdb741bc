/* Starts and stops every controller listed in controllers.def. */
#ifndef KROLL_CONTROLLERS_H
#define KROLL_CONTROLLERS_H

#include "api/api.h"
#include "client/client.h"

#define XX(name) struct ctl *ctrl_##name##_start(struct api *api);
#include "controllers/controllers.def"
#undef XX

struct controllers;
struct controllers *controllers_start(struct api *api);
void controllers_stop(struct controllers *c);

#endif
