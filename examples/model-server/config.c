/* The served configuration (--model_config_file): a small text file of `key: value` lines, as a
 * ConfigMap key mounted in a volume gives it. Like TF Serving's --model_config_file_poll_wait_
 * seconds, the file is polled (every second by default): stat() follows the kubelet's
 * `..data` symlink, so an atomic ConfigMap update shows up as a new inode or mtime and is read
 * again. A file that is missing or unreadable keeps the previous config in service (and is
 * logged once); its `version:` value is what /v1/models/NAME reports under "config" and every
 * response sends as X-Config-Version, so a client can tell which config answered it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ms.h"

#define CONFIG_MAX_BYTES 65536

static struct {
    const char *path;
    int64_t poll_ms, due;
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    off_t size;
    int loaded, failing;
    unsigned reloads;
    char version[64];
    json_t *values; /* key -> string */
} cfg;

/* Parses `key: value` lines (comments #, blank lines, surrounding spaces and quotes ignored). */
static json_t *config_parse(char *text)
{
    json_t *out = json_object();

    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *colon = strchr(line, ':'), *k = line, *v, *e;

        if (line[strspn(line, " \t")] == '#' || !colon)
            continue;
        *colon = 0;
        v = colon + 1;
        k += strspn(k, " \t");
        for (e = colon; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
            e[-1] = 0;
        v += strspn(v, " \t");
        for (e = v + strlen(v); e > v && strchr(" \t\r", e[-1]); e--)
            e[-1] = 0;
        if (strlen(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[strlen(v) - 1] == v[0]) {
            v[strlen(v) - 1] = 0;
            v++;
        }
        if (*k)
            json_object_set_new(out, k, json_string(v));
    }
    return out;
}

static int config_read(const struct stat *st)
{
    FILE *f = fopen(cfg.path, "r");
    char *buf;
    size_t n;
    json_t *vals;
    const char *ver;

    if (!f)
        return -errno;
    buf = malloc(CONFIG_MAX_BYTES + 1);
    n = buf ? fread(buf, 1, CONFIG_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf || n > CONFIG_MAX_BYTES) {
        free(buf);
        return -EFBIG;
    }
    buf[n] = 0;
    vals = config_parse(buf);
    free(buf);
    if (!vals || !json_is_object(vals)) {
        json_decref(vals);
        return -ENOMEM;
    }
    ver = json_string_value(json_object_get(vals, "version"));
    snprintf(cfg.version, sizeof cfg.version, "%s", ver ? ver : "");
    for (char *p = cfg.version; *p; p++) /* it goes into a header line */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    json_decref(cfg.values);
    cfg.values = vals;
    cfg.dev = st->st_dev;
    cfg.ino = st->st_ino;
    cfg.mtime = st->st_mtim;
    cfg.size = st->st_size;
    if (cfg.loaded)
        cfg.reloads++;
    cfg.loaded = 1;
    return 0;
}

static void config_check(void)
{
    struct stat st;
    int rc;

    if (stat(cfg.path, &st) < 0) {
        rc = -errno;
    } else if (cfg.loaded && st.st_dev == cfg.dev && st.st_ino == cfg.ino &&
               st.st_mtim.tv_sec == cfg.mtime.tv_sec && st.st_mtim.tv_nsec == cfg.mtime.tv_nsec &&
               st.st_size == cfg.size) {
        return;
    } else if ((rc = config_read(&st)) == 0) {
        ms_log("info", "config %s path=%s version=%s keys=%zu", cfg.reloads ? "reloaded" : "loaded",
               cfg.path, cfg.version[0] ? cfg.version : "-", json_object_size(cfg.values));
        cfg.failing = 0;
        return;
    }
    if (!cfg.failing)
        ms_log("warn", "config not read path=%s err=\"%s\"%s", cfg.path, strerror(-rc),
               cfg.loaded ? " (keeping the previous one)" : "");
    cfg.failing = 1;
}

void config_init(const char *path, int64_t poll_ms)
{
    cfg.path = path && *path ? path : NULL;
    cfg.poll_ms = poll_ms > 0 ? poll_ms : 1000;
    if (cfg.path)
        config_check();
    cfg.due = ms_now() + cfg.poll_ms;
}

int64_t config_tick(int64_t now)
{
    if (!cfg.path)
        return -1;
    if (now >= cfg.due) {
        config_check();
        cfg.due = now + cfg.poll_ms;
    }
    return cfg.due;
}

const char *config_version(void)
{
    return cfg.path && cfg.version[0] ? cfg.version : NULL;
}

json_t *config_status_json(void)
{
    if (!cfg.path)
        return NULL;
    if (!cfg.values)
        cfg.values = json_object();
    return json_pack("{s:s,s:s,s:b,s:i,s:O}", "file", cfg.path, "version", cfg.version, "loaded",
                     cfg.loaded, "reloads", (int)cfg.reloads, "values", cfg.values);
}
