/* Shared by the `kroll rollouts` files: rollouts.c (commands that patch) and rollouts_view.c
 * (get, list). */
#ifndef KROLL_CLI_ROLLOUTS_INT_H
#define KROLL_CLI_ROLLOUTS_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/apiclient.h"

struct ro_ctx {
    struct cli_api api;
    char ns[254];
};

/* Prints "Error: ..." on stderr; returns 1. */
int ro_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The Rollout API path of name (NULL: the collection) and subresource (NULL: none), malloc'd. */
char *ro_path(const struct ro_ctx *x, const char *name, const char *sub);
/* GET the Rollout (new reference), or NULL with the error printed. */
json_t *ro_get(struct ro_ctx *x, const char *name);
/* The ReplicaSets of the namespace controlled by ro (new array), or NULL (error printed). */
json_t *ro_owned_rss(struct ro_ctx *x, const json_t *ro);
/* "Phase - Message" as the plugin prints it (its client-side overrides included). */
void ro_status_line(const json_t *ro, char *out, size_t n, const char **phase);

int ro_cmd_get(struct ro_ctx *x, const char *name, int watch, int64_t timeout_ms);
int ro_cmd_list(struct ro_ctx *x, int all_namespaces);
/* plan.c: `plan TARGET [--image C=I...] [-f FILE] [-o json]` (argv: the words after "plan"). */
int ro_cmd_plan(struct ro_ctx *x, int argc, char **argv);

#endif
