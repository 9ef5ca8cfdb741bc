/* Example model server (TF Serving's REST API, a small MLP classifier): the declarations shared
 * by its four files. model.c owns the weights and the maths, http.c sockets and HTTP/1.1,
 * routes.c the TF Serving endpoints, main.c flags, environment knobs and the model's load
 * state. The server is one thread and one poll() loop; nothing here is used by kroll itself. */
#ifndef MS_H
#define MS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- model.c ---------------------------------------------------------------------------- */

struct model;

/* Loads and validates a weights file. Returns the model, or NULL with a one-line reason in
 * err (never crashes on a malformed or truncated file). The caller frees with model_free. */
struct model *model_load(const char *path, char *err, size_t errlen);
void model_free(struct model *m);

int model_input_dim(const struct model *m);
int model_output_dim(const struct model *m);
const char *model_input_name(const struct model *m);
const char *model_output_name(const struct model *m);
const char *model_release(const struct model *m); /* the file's "release", "" when absent */

/* Computes class probabilities for one instance: x has model_input_dim values, y receives
 * model_output_dim values that sum to 1. */
void model_predict(const struct model *m, const double *x, double *y);

/* Runs a TF Serving predict request body (already parsed) through the model. Returns a new
 * response object ({"predictions": ...} or {"outputs": ...}), or NULL with a reason in err
 * when the request is malformed (the caller answers 400). */
json_t *model_predict_json(const struct model *m, const json_t *req, char *err, size_t errlen);

/* Returns TF Serving's metadata object (signature_def) for the model, a new reference. */
json_t *model_metadata_json(const struct model *m, const char *name, const char *version);

/* ---- main.c: the served model's state, read by the routes -------------------------------- */

enum ms_state { MS_LOADING, MS_AVAILABLE };

struct ms_config {
    int rest_port;           /* --rest_api_port, default 8501 */
    int grpc_port;           /* --port, default 8500; 0 disables the placeholder listener */
    const char *bind_addr;   /* BIND_ADDRESS, default 0.0.0.0 */
    const char *model_name;  /* --model_name */
    const char *base_path;   /* --model_base_path, as given */
    const char *release;     /* MODEL_VERSION: sent as X-Model-Version */
    int64_t load_delay_ms;   /* MODEL_LOAD_DELAY (seconds) */
    int fail_ready;          /* FAIL_READY=1: the model never becomes available */
    int64_t response_delay_ms; /* RESPONSE_DELAY_MS, applied to predict */
    int64_t shutdown_grace_ms; /* SHUTDOWN_GRACE (seconds): bound on the SIGTERM drain */
    size_t max_body;         /* MAX_BODY_BYTES */
    int64_t request_timeout_ms; /* REQUEST_TIMEOUT_MS: first to last byte of a request */
    int log_requests;        /* LOG_REQUESTS=1 logs every request, not just predicts */
    int64_t error_percent;   /* ERROR_PERCENT: this share of predicts answer 500 (a bad release) */
    const char *config_file; /* --model_config_file: key: value lines, polled */
    int64_t config_poll_ms;  /* --model_config_file_poll_wait_seconds (default 1) */
};

struct ms_served {
    enum ms_state state;
    struct model *model;     /* non-NULL when AVAILABLE */
    char version[32];        /* numeric version directory, "" until one is found */
    char message[256];       /* why the model is not available yet */
};

extern struct ms_config ms_cfg;
extern struct ms_served ms_model;

/* ---- routes.c: TF Serving's REST endpoints ---------------------------------------------- */

struct http_response {
    int status;
    const char *ctype;
    char *body;          /* malloc'd, owned by the response */
    size_t len;
    int64_t delay_ms;    /* hold the answer this long (RESPONSE_DELAY_MS on predict) */
    int logged;          /* worth a log line even without LOG_REQUESTS */
};

/* Answers one request. method is llhttp's method number; path excludes the query. Always fills
 * res (errors become TF Serving's {"error": "..."} bodies). */
void routes_handle(int method, const char *path, const char *body, size_t len,
                   struct http_response *res);

/* Fills res with a JSON error body {"error": msg}. */
void routes_error(struct http_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- http.c ------------------------------------------------------------------------------ */

/* Opens the REST listener (and the gRPC placeholder). Returns 0 or -errno with a log line. */
int http_server_listen(void);

/* Runs the loop until a drain finishes. tick is called every iteration with the current
 * monotonic time and returns the next time it wants to run (or -1). Returns the exit code. */
int http_server_run(int64_t (*tick)(int64_t now_ms));

/* ---- config.c: the served configuration (--model_config_file) ---------------------------- */

/* Reads the config file (path NULL or "" = none) and polls it every poll_ms from then on. */
void config_init(const char *path, int64_t poll_ms);
/* Re-reads the file when its inode, mtime or size changed; returns the next poll time or -1. */
int64_t config_tick(int64_t now);
/* The served config's `version:` value, or NULL (no file, or no version key). */
const char *config_version(void);
/* {"file","version","loaded","reloads","values"} for the status answer, or NULL without a file. */
json_t *config_status_json(void);

/* ---- shared helpers (main.c) ------------------------------------------------------------- */

int64_t ms_now(void);
void ms_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
