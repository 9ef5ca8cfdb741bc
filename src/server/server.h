/* The server process: wires the store, the API, the controllers and the node agent together
 * on one loop, and tears them down in reverse order. */
#ifndef KROLL_SERVER_H
#define KROLL_SERVER_H

#include "core/err.h"
#include "core/loop.h"

struct server;
struct api_limits;

/* Pids limit of each container under an OCI runtime. The kubelet's podPidsLimit is unlimited
 * by default; 4096 is far above what a model server's threads need, and a fork bomb in one pod
 * then takes at most an eighth of the smallest common pid_max (32768). */
#define POD_PIDS_LIMIT_DEFAULT 4096

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
    const char *runtime;                 /* --runtime: process (NULL), runc, or a path */
    long long pod_pids_limit;            /* --pod-pids-limit (OCI runtime containers) */
    int metrics_period_ms; /* --metric-resolution: 0 the default (10 s), -1 no sampling */
};

int server_start(struct loop *loop, const struct server_opts *o, struct server **out,
                 struct err *err);
void server_stop(struct server *s);
int server_port(const struct server *s);
const char *server_token(const struct server *s);

#endif
