/* The ClusterAnalysisTemplates kroll ships (builtin_templates.c). */
#ifndef KROLL_SERVER_BUILTIN_TEMPLATES_H
#define KROLL_SERVER_BUILTIN_TEMPLATES_H

#include "api/api.h"

/* Creates request-success-rate and request-duration where no template of that name exists
 * (a user's own is never replaced). */
void builtin_templates_ensure(struct api *api);

#endif
