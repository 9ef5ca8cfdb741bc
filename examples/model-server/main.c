/* The example model server's entry point: TF Serving's flags, the environment knobs tests use
 * (MODEL_LOAD_DELAY, FAIL_READY, RESPONSE_DELAY_MS, ...), finding the model directory (a base
 * path missing on the host is looked up in the image directory, as if the image were the root
 * file system), and the model's load state: LOADING until the newest numeric version loads,
 * retried every second while it fails, AVAILABLE after. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ms.h"

#define LOAD_RETRY_MS 1000
#define WEIGHTS_FILE "weights.json"

struct ms_config ms_cfg = {
    .rest_port = 8501,
    .grpc_port = 8500,
    .bind_addr = "0.0.0.0",
    .model_name = "default",
    .shutdown_grace_ms = 10000,
    .max_body = 1 << 20,
    .request_timeout_ms = 30000,
};
struct ms_served ms_model = {.state = MS_LOADING};

static int64_t load_due;

int64_t ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ms_log(const char *level, const char *fmt, ...)
{
    struct timespec ts;
    struct tm tm;
    char when[32];
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ %s model-server ", when, ts.tv_nsec / 1000000, level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The base path as given; else, for an absolute path, the same path under the working
 * directory and then under the executable's directory (the image directory). */
static int model_dir_resolve(char *out, size_t len)
{
    const char *given = ms_cfg.base_path;
    char exe[PATH_MAX];
    ssize_t n;

    if (is_dir(given))
        return snprintf(out, len, "%s", given) < (int)len ? 0 : -ENAMETOOLONG;
    if (given[0] != '/')
        return -ENOENT;
    if (snprintf(out, len, ".%s", given) < (int)len && is_dir(out))
        return 0;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -ENOENT;
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    if (snprintf(out, len, "%s%s", exe, given) < (int)len && is_dir(out))
        return 0;
    return -ENOENT;
}

/* Picks the highest numeric version directory that holds a weights file, like TF Serving's
 * default "latest" version policy. Returns the version, or -1 with a reason. */
static long model_version_pick(const char *dir)
{
    char path[PATH_MAX];
    long best = -1;
    struct dirent *de;
    DIR *d = opendir(dir);

    if (!d)
        return -1;
    while ((de = readdir(d))) {
        char *end;
        long v = strtol(de->d_name, &end, 10);
        if (!isdigit((unsigned char)de->d_name[0]) || *end || v <= best)
            continue;
        snprintf(path, sizeof(path), "%s/%s/" WEIGHTS_FILE, dir, de->d_name);
        if (access(path, R_OK) == 0)
            best = v;
    }
    closedir(d);
    return best;
}

/* Fills in the version the status reports while a delayed load has not started yet. */
static void model_version_peek(void)
{
    char dir[PATH_MAX];
    long v;

    if (model_dir_resolve(dir, sizeof(dir)) == 0 && (v = model_version_pick(dir)) >= 0)
        snprintf(ms_model.version, sizeof(ms_model.version), "%ld", v);
}

/* One load attempt. On failure ms_model.message says why; it is logged when it changes. */
static int model_try_load(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 64], err[256];
    long v;
    struct model *m;

    if (model_dir_resolve(dir, sizeof(dir)) < 0) {
        snprintf(err, sizeof(err), "model base path %s not found (also looked in the image)",
                 ms_cfg.base_path);
        goto fail;
    }
    v = model_version_pick(dir);
    if (v < 0) {
        snprintf(err, sizeof(err), "no version directory with " WEIGHTS_FILE " under %.160s",
                 dir);
        goto fail;
    }
    snprintf(ms_model.version, sizeof(ms_model.version), "%ld", v);
    snprintf(path, sizeof(path), "%s/%ld/" WEIGHTS_FILE, dir, v);
    if (ms_cfg.fail_ready) {
        snprintf(err, sizeof(err), "FAIL_READY is set: this release never becomes ready");
        goto fail;
    }
    m = model_load(path, err, sizeof(err));
    if (!m)
        goto fail;
    ms_model.model = m;
    ms_model.state = MS_AVAILABLE;
    ms_model.message[0] = 0;
    ms_log("info", "model available name=%s version=%ld path=%s inputs=%d outputs=%d release=%s",
           ms_cfg.model_name, v, path, model_input_dim(m), model_output_dim(m),
           ms_cfg.release ? ms_cfg.release : model_release(m));
    return 0;
fail:
    if (strcmp(err, ms_model.message) != 0)
        ms_log("error", "model not loaded name=%s reason=\"%s\"", ms_cfg.model_name, err);
    snprintf(ms_model.message, sizeof(ms_model.message), "%s", err);
    return -1;
}

/* Loads the model when its (possibly delayed) time comes. */
static int64_t model_load_tick(int64_t now)
{
    if (ms_model.state == MS_AVAILABLE)
        return -1;
    if (now < load_due)
        return load_due;
    if (model_try_load() == 0)
        return -1;
    load_due = now + LOAD_RETRY_MS;
    return load_due;
}

/* The loop's timer hook: the model's load, then the config file's poll. */
static int64_t model_tick(int64_t now)
{
    int64_t a = model_load_tick(now), b = config_tick(now);

    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static int64_t env_num(const char *name, double scale, int64_t dflt)
{
    const char *s = getenv(name);
    char *end;
    double v;

    if (!s || !*s)
        return dflt;
    v = strtod(s, &end);
    if (*end || v < 0 || v * scale > (double)INT32_MAX * 1000) {
        ms_log("warn", "ignoring bad environment value %s=%s", name, s);
        return dflt;
    }
    return (int64_t)(v * scale);
}

static void env_read(void)
{
    const char *rel = getenv("MODEL_VERSION");
    const char *bind = getenv("BIND_ADDRESS");

    ms_cfg.release = rel && *rel ? rel : NULL;
    if (bind && *bind)
        ms_cfg.bind_addr = bind;
    ms_cfg.load_delay_ms = env_num("MODEL_LOAD_DELAY", 1000, 0);
    ms_cfg.fail_ready = env_num("FAIL_READY", 1, 0) != 0;
    ms_cfg.response_delay_ms = env_num("RESPONSE_DELAY_MS", 1, 0);
    ms_cfg.shutdown_grace_ms = env_num("SHUTDOWN_GRACE", 1000, ms_cfg.shutdown_grace_ms);
    ms_cfg.max_body = (size_t)env_num("MAX_BODY_BYTES", 1, (int64_t)ms_cfg.max_body);
    ms_cfg.request_timeout_ms = env_num("REQUEST_TIMEOUT_MS", 1, ms_cfg.request_timeout_ms);
    if (ms_cfg.request_timeout_ms == 0)
        ms_cfg.request_timeout_ms = 30000;
    ms_cfg.log_requests = env_num("LOG_REQUESTS", 1, 0) != 0;
    ms_cfg.error_percent = env_num("ERROR_PERCENT", 1, 0);
    if (ms_cfg.error_percent > 100)
        ms_cfg.error_percent = 100;
}

static int port_parse(const char *flag, const char *s, int min)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < min || v > 65535) {
        fprintf(stderr, "model-server: %s must be a port number (%d-65535), got \"%s\"\n", flag,
                min, s);
        exit(2);
    }
    return (int)v;
}

static int64_t seconds_parse(const char *flag, const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < 1 || v > 3600) {
        fprintf(stderr, "model-server: %s must be whole seconds (1-3600), got \"%s\"\n", flag, s);
        exit(2);
    }
    return (int64_t)v * 1000;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: model-server [--port=8500] [--rest_api_port=8501] "
               "[--model_name=NAME] --model_base_path=DIR [--model_config_file=FILE "
               "[--model_config_file_poll_wait_seconds=1]]\n"
               "environment: MODEL_VERSION MODEL_LOAD_DELAY FAIL_READY RESPONSE_DELAY_MS "
               "SHUTDOWN_GRACE MAX_BODY_BYTES REQUEST_TIMEOUT_MS BIND_ADDRESS LOG_REQUESTS\n");
}

/* TF Serving's flag syntax: --name=value or --name value. Unknown flags are reported and
 * ignored, so manifests written for the real server still start this one. */
static void flags_parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0) {
            ms_log("warn", "ignoring argument arg=\"%s\"", a);
            continue;
        }
#define FLAG(n) (nlen == strlen(n) && strncmp(a, n, nlen) == 0)
        if (!FLAG("--port") && !FLAG("--rest_api_port") && !FLAG("--model_name") &&
            !FLAG("--model_base_path") && !FLAG("--model_config_file") &&
            !FLAG("--model_config_file_poll_wait_seconds")) {
            ms_log("warn", "ignoring unsupported flag flag=\"%s\"", a);
            continue;
        }
        if (!val) {
            fprintf(stderr, "model-server: %.*s needs a value\n", (int)nlen, a);
            exit(2);
        }
        if (FLAG("--port"))
            ms_cfg.grpc_port = port_parse("--port", val, 0);
        else if (FLAG("--rest_api_port"))
            ms_cfg.rest_port = port_parse("--rest_api_port", val, 1);
        else if (FLAG("--model_name"))
            ms_cfg.model_name = val;
        else if (FLAG("--model_config_file"))
            ms_cfg.config_file = val;
        else if (FLAG("--model_config_file_poll_wait_seconds"))
            ms_cfg.config_poll_ms = seconds_parse("--model_config_file_poll_wait_seconds", val);
        else
            ms_cfg.base_path = val;
#undef FLAG
        i += eq ? 0 : 1;
    }
}

int main(int argc, char **argv)
{
    setvbuf(stderr, NULL, _IOLBF, 0);
    flags_parse(argc, argv);
    env_read();
    if (!ms_cfg.base_path || !*ms_cfg.base_path || !*ms_cfg.model_name) {
        fprintf(stderr, "model-server: --model_base_path and --model_name are required\n");
        usage(stderr);
        return 2;
    }
    if (http_server_listen() < 0)
        return 1;
    ms_log("info", "starting model=%s base_path=%s release=%s load_delay_ms=%lld",
           ms_cfg.model_name, ms_cfg.base_path, ms_cfg.release ? ms_cfg.release : "-",
           (long long)ms_cfg.load_delay_ms);
    load_due = ms_now() + ms_cfg.load_delay_ms;
    model_version_peek();
    config_init(ms_cfg.config_file, ms_cfg.config_poll_ms);
    int rc = http_server_run(model_tick);
    model_free(ms_model.model);
    return rc;
}
