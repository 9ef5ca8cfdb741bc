/* The server process: wires the store, the API, the controllers and the node agent together
 * on one loop, and tears them down in reverse order. */
#ifndef KROLL_SERVER_H
#define KROLL_SERVER_H

#include "core/err.h"
#include "core/loop.h"

struct server;
struct api_limits;

struct server_opts {
    const char *data_dir;
    const char *db_path;
    const char *listen_host;
    int listen_port;
    const char *node_name;       /* NULL: host name */
    const char *node_address;    /* NULL: 127.0.0.1 */
    const char *node_resources[16]; /* "nvidia.com/gpu=2" */
    int n_node_resources;
    const char *cdi_spec_dirs[16]; /* --cdi-spec-dir, lowest priority first */
    int n_cdi_spec_dirs;
    const char *self_exe; /* path of the kroll binary, for shims and the proxy */
    const struct api_limits *api_limits; /* NULL: defaults */
};

int server_start(struct loop *loop, const struct server_opts *o, struct server **out,
                 struct err *err);
void server_stop(struct server *s);
int server_port(const struct server *s);
const char *server_token(const struct server *s);

#endif
