/* Pod volumes on the node, under <pod_dir>/volumes/<name>/. configMap, secret, downwardAPI and
 * projected volumes are written with the kubelet's AtomicWriter layout: the files live in a
 * timestamped directory "..YYYY_MM_DD_HH_MM_SS.<random>", "..data" is a symlink to it, and each
 * top-level name is a symlink "<name> -> ..data/<name>". An update writes a complete new
 * directory and renames a fresh "..data_tmp" symlink over "..data", so a reader sees the old or
 * the new set, never a mix; nothing is rewritten when the content is unchanged. emptyDir is a
 * plain directory; hostPath volumes are checked (and created) where they are on the host. */
#include "node/volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/jwt.h"
#include "core/jx.h"
#include "core/log.h"
#include "node/envvol-int.h"

#define DEFAULT_MODE 0644

/* snprintf for paths; returns -1 when the result did not fit (then nothing is done with it). */
static int path_fmt(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int path_fmt(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* ---- payloads: relative path -> {data, mode} ----------------------------------------------------
 */

static void payload_add(json_t *payload, const char *path, const char *data, size_t n, int mode)
{
    json_object_set_new(
        payload, path,
        json_pack("{s:o, s:i}", "data", json_stringn_nocheck(data, n), "mode", mode));
}

static int item_mode(const json_t *item, int def)
{
    return json_is_integer(json_object_get(item, "mode")) ? (int)jx_int(item, "mode", def) : def;
}

/* Adds a configMap or secret source (a volume source or a projected source) to payload. */
static int payload_object(struct kc *kc, const char *ns, const json_t *src, int secret,
                          int def_mode, json_t *payload, struct err *err)
{
    const char *name = jx_str(src, secret ? "secretName" : "name");
    const json_t *items = json_object_get(src, "items"), *item, *obj;
    json_t *vals, *v;
    const char *k;
    size_t i;
    int rc = 0;

    if (!name) /* projected secret sources use "name" too */
        name = jx_str(src, "name") ? jx_str(src, "name") : "";
    obj = kc_get(kc, kc_resource(secret ? RES_SECRET : RES_CONFIGMAP), ns, name);
    if (!obj) {
        if (jx_bool(src, "optional"))
            return 0;
        return err_set(err, -E_NOT_FOUND, "%s \"%s\" not found", secret ? "secret" : "configmap",
                       name);
    }
    vals = node__object_values(obj, secret);
    if (json_array_size(items) == 0) {
        json_object_foreach(vals, k, v)
            payload_add(payload, k, json_string_value(v), json_string_length(v), def_mode);
        goto out;
    }
    json_array_foreach(items, i, item)
    {
        const char *key = jx_str(item, "key") ? jx_str(item, "key") : "";
        const char *path = jx_str(item, "path") ? jx_str(item, "path") : key;
        if (!(v = json_object_get(vals, key))) {
            if (jx_bool(src, "optional"))
                continue;
            rc = secret ? err_set(err, -E_NOT_FOUND, "references non-existent secret key: %s", key)
                        : err_set(err, -E_NOT_FOUND,
                                  "configmap references non-existent config key: %s", key);
            goto out;
        }
        payload_add(payload, path, json_string_value(v), json_string_length(v),
                    item_mode(item, def_mode));
    }
out:
    json_decref(vals);
    return rc;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Labels / annotations as the downward API writes them: sorted `key="value"` lines. Keys are
 * data ("app.kubernetes.io/name"), so values are found with json_object_get, never a dotted
 * path; the size computed and the bytes written come from the same lookup. */
static char *map_format(const json_t *m)
{
    const char **keys = xcalloc(json_object_size(m) + 1, sizeof *keys);
    size_t n = 0, len = 1, o = 0;
    const char *k;
    json_t *v;
    char *out;

    json_object_foreach((json_t *)m, k, v) keys[n++] = k;
    qsort(keys, n, sizeof *keys, key_cmp);
    /* Each value byte takes at most 4 output bytes (\xNN); each line adds \n, =, two quotes. */
    for (size_t i = 0; i < n; i++)
        len +=
            strlen(keys[i]) + strlen(json_string_value(json_object_get(m, keys[i])) ?: "") * 4 + 5;
    out = xmalloc(len);
    for (size_t i = 0; i < n; i++) {
        o += (size_t)sprintf(out + o, "%s%s=\"", i ? "\n" : "", keys[i]);
        for (const char *p = json_string_value(json_object_get(m, keys[i])) ?: ""; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '"' || c == '\\')
                o += (size_t)sprintf(out + o, "\\%c", c);
            else if (c == '\n')
                o += (size_t)sprintf(out + o, "\\n");
            else if (c < 0x20)
                o += (size_t)sprintf(out + o, "\\x%02x", c);
            else
                out[o++] = (char)c;
        }
        out[o++] = '"';
    }
    out[o] = '\0';
    free(keys);
    return out;
}

/* The first element of arr whose "name" is name (NULL: none). */
static const json_t *named(const json_t *arr, const char *name)
{
    const json_t *c;
    size_t i;

    json_array_foreach(arr, i, c) if (name && jx_str(c, "name") &&
                                      strcmp(jx_str(c, "name"), name) == 0) return c;
    return NULL;
}

static const json_t *pod_container(const json_t *pod, const char *name)
{
    return named(jx_get(pod, "spec.containers"), name);
}

static int payload_downward(const json_t *pod, const json_t *src, int def_mode, json_t *payload,
                            struct err *err)
{
    const json_t *item, *ref;
    size_t i;

    json_array_foreach(json_object_get(src, "items"), i, item)
    {
        const char *path = jx_str(item, "path") ? jx_str(item, "path") : "";
        const char *fp;
        char *val = NULL;
        if ((ref = json_object_get(item, "fieldRef"))) {
            fp = jx_str(ref, "fieldPath") ? jx_str(ref, "fieldPath") : "";
            if (strcmp(fp, "metadata.labels") == 0 || strcmp(fp, "metadata.annotations") == 0)
                val = map_format(jx_get(pod, fp));
            else
                val = node__field_value(pod, fp, err);
        } else if ((ref = json_object_get(item, "resourceFieldRef"))) {
            const json_t *c = pod_container(pod, jx_str(ref, "containerName"));
            if (!c && json_array_size(jx_get(pod, "spec.containers")) == 1)
                c = json_array_get(jx_get(pod, "spec.containers"), 0);
            val = c ? node__resource_value(c, ref, err) : NULL;
            if (!c)
                err_set(err, -E_INVALID, "container %s not found",
                        jx_str(ref, "containerName") ?: "");
        }
        if (!val)
            return err->code ? err->code
                             : err_set(err, -E_INVALID, "downwardAPI item %s has no source", path);
        payload_add(payload, path, val, strlen(val), item_mode(item, def_mode));
        free(val);
    }
    return 0;
}

int node__token_fresh(const char *token, const char *pod_uid, long long now)
{
    json_t *claims = token ? jwt_claims_peek(token) : NULL;
    long long iat = jx_int(claims, "iat", 0), exp = jx_int(claims, "exp", 0);
    const char *uid = jx_str(json_object_get(claims, "kubernetes.io"), "pod.uid");
    int fresh = claims && exp > iat && now >= iat && now < iat + (exp - iat) * 8 / 10 &&
                now - iat < 24 * 3600 && uid && pod_uid && strcmp(uid, pod_uid) == 0;

    json_decref(claims);
    return fresh;
}

/* A serviceAccountToken source: the token the kubelet holds while it is younger than 80% of
 * its life (read back from the volume), else a new one from the API, bound to the pod. */
static int payload_sa_token(struct kc *kc, const json_t *pod, const json_t *src, const char *dir,
                            int mode, json_t *payload, struct err *err)
{
    const char *ns = jx_str(pod, "metadata.namespace") ?: "default";
    const char *path = jx_str(src, "path"), *aud = jx_str(src, "audience");
    long long secs = jx_int(src, "expirationSeconds", 3600), now = (long long)time(NULL), exp;
    char cur[PATH_MAX], *tok = NULL;
    json_t *auds;
    int rc;

    if (!path || !*path)
        return err_set(err, -E_INVALID, "serviceAccountToken source has no path");
    if (path_fmt(cur, sizeof cur, "%s/..data/%s", dir, path) == 0 &&
        (tok = file_read_all(cur, NULL)) &&
        node__token_fresh(tok, jx_str(pod, "metadata.uid"), now)) {
        payload_add(payload, path, tok, strlen(tok), mode);
        free(tok);
        return 0;
    }
    free(tok);
    auds = aud && *aud ? json_pack("[s]", aud) : NULL;
    rc = kc_token(kc, ns, jx_str(pod, "spec.serviceAccountName") ?: "default", auds, secs, pod,
                  &tok, &exp, err);
    json_decref(auds);
    if (rc < 0)
        return rc;
    payload_add(payload, path, tok, strlen(tok), mode);
    free(tok);
    return 0;
}

static int payload_projected(struct kc *kc, const json_t *pod, const json_t *src, const char *dir,
                             json_t *payload, struct err *err)
{
    const char *ns = jx_str(pod, "metadata.namespace") ?: "default";
    int mode = (int)jx_int(src, "defaultMode", DEFAULT_MODE), rc = 0;
    const json_t *s, *x;
    size_t i;

    json_array_foreach(json_object_get(src, "sources"), i, s)
    {
        if ((x = json_object_get(s, "configMap")))
            rc = payload_object(kc, ns, x, 0, mode, payload, err);
        else if ((x = json_object_get(s, "secret")))
            rc = payload_object(kc, ns, x, 1, mode, payload, err);
        else if ((x = json_object_get(s, "downwardAPI")))
            rc = payload_downward(pod, x, mode, payload, err);
        else if ((x = json_object_get(s, "serviceAccountToken")))
            rc = payload_sa_token(kc, pod, x, dir, mode, payload, err);
        else
            log_warn("volume", "msg=\"projected volume source not supported, skipped\" pod=%s",
                     jx_str(pod, "metadata.name") ?: "");
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- the atomic writer ------------------------------------------------------------------------
 */

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A payload path must stay inside the volume: relative, no "..", and not the writer's names. */
static int path_valid(const char *p)
{
    size_t len = strlen(p);

    if (!len || len > 4096 || p[0] == '/' || strncmp(p, "..", 2) == 0)
        return 0;
    for (const char *s = p; s;) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (n == 0 || n > 255 || (n == 2 && strncmp(s, "..", 2) == 0))
            return 0;
        s = slash ? slash + 1 : NULL;
    }
    return 1;
}

static int mkdir_parents(char *path, mode_t mode)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int rc = mkdir(path, mode);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return -errno;
    }
    return 0;
}

static int file_write(const char *path, const char *data, size_t n, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    size_t off = 0;

    if (fd < 0)
        return -errno;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, (mode_t)(mode & 07777)) < 0 || close(fd) < 0)
        return -errno;
    return 0;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        char sub[PATH_MAX];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (e->d_type == DT_DIR) {
            path_fmt(sub, sizeof sub, "%s/%s", dir, e->d_name);
            n += count_files(sub);
        } else {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* True when ts_dir already holds exactly payload (content and mode). */
static int payload_same(const char *ts_dir, const json_t *payload)
{
    const char *k;
    json_t *v;

    if (count_files(ts_dir) != (int)json_object_size(payload))
        return 0;
    json_object_foreach((json_t *)payload, k, v)
    {
        const json_t *data = json_object_get(v, "data");
        size_t want = json_string_length(data), len = 0;
        char path[PATH_MAX], *buf;
        struct stat st;
        int same;
        FILE *f;
        path_fmt(path, sizeof path, "%s/%s", ts_dir, k);
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != want ||
            (st.st_mode & 07777) != (mode_t)(jx_int(v, "mode", DEFAULT_MODE) & 07777))
            return 0;
        if (!(f = fopen(path, "rb")))
            return 0;
        buf = xmalloc(want + 1);
        len = fread(buf, 1, want + 1, f);
        fclose(f);
        same = len == want && memcmp(buf, json_string_value(data), want) == 0;
        free(buf);
        if (!same)
            return 0;
    }
    return 1;
}

/* Writes payload into a new timestamped directory of dir; returns its name in ts (a buffer of
 * NAME_MAX + 1 bytes). */
static int ts_dir_write(const char *dir, const json_t *payload, char *ts, struct err *err)
{
    char tmpl[PATH_MAX], path[PATH_MAX];
    time_t now = time(NULL);
    struct tm tm;
    const char *k;
    json_t *v;
    int rc;

    gmtime_r(&now, &tm);
    path_fmt(tmpl, sizeof tmpl, "%s/..", dir);
    strftime(tmpl + strlen(tmpl), sizeof tmpl - strlen(tmpl), "%Y_%m_%d_%H_%M_%S.XXXXXX", &tm);
    if (!mkdtemp(tmpl))
        return err_set(err, -errno, "cannot create %s: %s", tmpl, strerror(errno));
    chmod(tmpl, 0755);
    snprintf(ts, NAME_MAX + 1, "%s", strrchr(tmpl, '/') + 1);
    json_object_foreach((json_t *)payload, k, v)
    {
        const json_t *data = json_object_get(v, "data");
        rc = path_fmt(path, sizeof path, "%s/%s", tmpl, k) < 0 ? -ENAMETOOLONG : 0;
        if (rc == 0)
            rc = mkdir_parents(path, 0755);
        if (rc == 0)
            rc = file_write(path, json_string_value(data), json_string_length(data),
                            (int)jx_int(v, "mode", DEFAULT_MODE));
        if (rc < 0) {
            rm_tree(tmpl);
            return err_set(err, rc, "cannot write %s: %s", path, strerror(-rc));
        }
    }
    return 0;
}

/* Top-level names of payload: the user-visible symlinks. */
static json_t *payload_tops(const json_t *payload)
{
    json_t *tops = json_object();
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)payload, k, v)
    {
        const char *slash = strchr(k, '/');
        char *top = xasprintf("%.*s", (int)(slash ? slash - k : (long)strlen(k)), k);
        json_object_set_new(tops, top, json_true());
        free(top);
    }
    return tops;
}

/* Creates missing `name -> ..data/name` links and removes links no longer in the payload. */
static int visible_links_sync(const char *dir, const json_t *tops, struct err *err)
{
    char path[PATH_MAX], target[PATH_MAX], want[PATH_MAX];
    const char *k;
    struct dirent *e;
    json_t *v;
    DIR *d;

    json_object_foreach((json_t *)tops, k, v)
    {
        ssize_t n;
        path_fmt(path, sizeof path, "%s/%s", dir, k);
        path_fmt(want, sizeof want, "..data/%s", k);
        n = readlink(path, target, sizeof target - 1);
        if (n >= 0 && (size_t)n == strlen(want) && memcmp(target, want, (size_t)n) == 0)
            continue;
        if (n >= 0)
            unlink(path);
        if (symlink(want, path) < 0)
            return err_set(err, -errno, "cannot link %s: %s", path, strerror(errno));
    }
    if (!(d = opendir(dir)))
        return err_set(err, -errno, "cannot read %s: %s", dir, strerror(errno));
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "..", 2) == 0 || strcmp(e->d_name, ".") == 0 ||
            json_object_get(tops, e->d_name))
            continue;
        path_fmt(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_LNK)
            unlink(path);
    }
    closedir(d);
    return 0;
}

/* The AtomicWriter: see the file comment. Returns 0, also when nothing had to change. */
static int atomic_write(const char *dir, const json_t *payload, long fs_group, struct err *err)
{
    char old[NAME_MAX + 1] = "", ts[NAME_MAX + 1], path[PATH_MAX], tmp[PATH_MAX];
    json_t *tops = NULL;
    const char *k;
    json_t *v;
    ssize_t n;
    int rc = 0;

    json_object_foreach((json_t *)payload, k, v) if (!path_valid(k)) return err_set(
        err, -E_INVALID, "invalid path: %s", k);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(err, -errno, "cannot create %s: %s", dir, strerror(errno));
    path_fmt(path, sizeof path, "%s/..data", dir);
    if ((n = readlink(path, old, sizeof old - 1)) > 0)
        old[n] = '\0';
    else
        old[0] = '\0';
    path_fmt(tmp, sizeof tmp, "%s/%s", dir, old);
    if (!old[0] || !payload_same(tmp, payload)) {
        if ((rc = ts_dir_write(dir, payload, ts, err)) < 0)
            return rc;
        /* As the kubelet's AtomicWriter: ownership before the new data becomes visible. These
         * volumes are read-only in the container, so group read only (fsGroupChangePolicy
         * does not apply to them). */
        volume_owner_set(dir, fs_group, 1, 0);
        path_fmt(tmp, sizeof tmp, "%s/..data_tmp", dir);
        unlink(tmp);
        if (symlink(ts, tmp) < 0 || rename(tmp, path) < 0) {
            rc = err_set(err, -errno, "cannot switch %s: %s", path, strerror(errno));
            path_fmt(tmp, sizeof tmp, "%s/%s", dir, ts);
            rm_tree(tmp);
            return rc;
        }
        log_debug("volume", "msg=\"volume updated\" dir=%s data=%s", dir, ts);
    } else {
        old[0] = '\0'; /* unchanged: keep the current directory */
    }
    tops = payload_tops(payload);
    rc = visible_links_sync(dir, tops, err);
    json_decref(tops);
    if (old[0] && strncmp(old, "..", 2) == 0 && !strchr(old, '/')) {
        path_fmt(tmp, sizeof tmp, "%s/%s", dir, old);
        rm_tree(tmp);
    }
    return rc;
}

/* ---- hostPath and emptyDir ----------------------------------------------------------------------
 */

static int host_path_check(const json_t *src, const char *path, struct err *err)
{
    const char *type = jx_str(src, "type") ?: "";
    struct stat st;
    int exists = stat(path, &st) == 0;

    if (path[0] != '/')
        return err_set(err, -E_INVALID, "hostPath %s is not an absolute path", path);
    if (strcmp(type, "DirectoryOrCreate") == 0 && !exists) {
        char *p = xasprintf("%s/", path);
        int rc = mkdir_parents(p, 0755);
        free(p);
        if (rc < 0)
            return err_set(err, rc, "mkdir %s: %s", path, strerror(-rc));
        return 0;
    }
    if (strcmp(type, "FileOrCreate") == 0 && !exists) {
        char *p = xstrdup(path);
        int rc = mkdir_parents(p, 0755), fd;
        free(p);
        fd = rc < 0 ? -1 : open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
            return err_set(err, -errno, "open %s: %s", path, strerror(errno));
        close(fd);
        return 0;
    }
    if (!*type)
        return 0;
    if (strcmp(type, "Directory") == 0 || strcmp(type, "DirectoryOrCreate") == 0) {
        if (!exists || !S_ISDIR(st.st_mode))
            return err_set(err, -E_INVALID, "hostPath type check failed: %s is not a directory",
                           path);
    } else if (strcmp(type, "File") == 0 || strcmp(type, "FileOrCreate") == 0) {
        if (!exists || !S_ISREG(st.st_mode))
            return err_set(err, -E_INVALID, "hostPath type check failed: %s is not a file", path);
    } else if (strcmp(type, "Socket") == 0) {
        if (!exists || !S_ISSOCK(st.st_mode))
            return err_set(err, -E_INVALID, "hostPath type check failed: %s is not a socket file",
                           path);
    } else if (strcmp(type, "CharDevice") == 0) {
        if (!exists || !S_ISCHR(st.st_mode))
            return err_set(err, -E_INVALID,
                           "hostPath type check failed: %s is not a character device", path);
    } else if (strcmp(type, "BlockDevice") == 0) {
        if (!exists || !S_ISBLK(st.st_mode))
            return err_set(err, -E_INVALID, "hostPath type check failed: %s is not a block device",
                           path);
    } else {
        return err_set(err, -E_INVALID, "%s is an invalid volume type", type);
    }
    return 0;
}

/* ---- volume_sync ------------------------------------------------------------------------------
 */

/* The pod's securityContext.fsGroup, or -1. */
static long fs_group_of(const json_t *pod)
{
    const json_t *g = jx_get(pod, "spec.securityContext.fsGroup");

    return json_is_integer(g) && json_integer_value(g) >= 0 ? (long)json_integer_value(g) : -1;
}

/* emptyDir: made once per pod (a later sync leaves it and its contents alone), world-writable
 * as the kubelet makes it, then given to fsGroup under fsGroupChangePolicy. */
static int empty_dir(const json_t *pod, const char *dir, struct err *err)
{
    const char *policy = jx_str(pod, "spec.securityContext.fsGroupChangePolicy") ?: "";
    int rc;

    /* medium: Memory is a plain directory too (no tmpfs without mount privileges). */
    if (mkdir(dir, 0777) < 0)
        return errno == EEXIST ? 0
                               : err_set(err, -errno, "cannot create %s: %s", dir, strerror(errno));
    chmod(dir, 0777); /* past the umask */
    rc = volume_owner_set(dir, fs_group_of(pod), 0, strcmp(policy, "OnRootMismatch") == 0);
    return rc < 0 ? err_set(err, rc, "cannot set the fsGroup of %s: %s", dir, strerror(-rc)) : 0;
}

/* With an fsGroup the kubelet adds group read to every file of these volumes; the payload says
 * so, so that an unchanged volume compares equal and is not rewritten. */
static void payload_group_read(json_t *payload, long fs_group)
{
    const char *k;
    json_t *v;

    if (fs_group < 0)
        return;
    json_object_foreach(payload, k, v)
        json_object_set_new(v, "mode", json_integer(jx_int(v, "mode", DEFAULT_MODE) | 0440));
}

/* Sets up one volume; *host gets the host path containers see. */
static int volume_one(struct kc *kc, const json_t *pod, const json_t *vol, const char *dir,
                      char **host, struct err *err)
{
    const char *ns = jx_str(pod, "metadata.namespace") ?: "default";
    const json_t *src;
    json_t *payload;
    int rc = 0;

    *host = xstrdup(dir);
    if ((src = json_object_get(vol, "hostPath"))) {
        free(*host);
        *host = xstrdup(jx_str(src, "path") ?: "");
        return host_path_check(src, *host, err);
    }
    if (json_object_get(vol, "emptyDir"))
        return empty_dir(pod, dir, err);
    payload = json_object();
    if ((src = json_object_get(vol, "configMap")))
        rc = payload_object(kc, ns, src, 0, (int)jx_int(src, "defaultMode", DEFAULT_MODE), payload,
                            err);
    else if ((src = json_object_get(vol, "secret")))
        rc = payload_object(kc, ns, src, 1, (int)jx_int(src, "defaultMode", DEFAULT_MODE), payload,
                            err);
    else if ((src = json_object_get(vol, "downwardAPI")))
        rc =
            payload_downward(pod, src, (int)jx_int(src, "defaultMode", DEFAULT_MODE), payload, err);
    else if ((src = json_object_get(vol, "projected")))
        rc = payload_projected(kc, pod, src, dir, payload, err);
    else
        rc = err_set(err, -E_INVALID,
                     "volume \"%s\": unsupported volume type (kroll supports "
                     "configMap, secret, downwardAPI, projected, emptyDir and hostPath)",
                     jx_str(vol, "name"));
    payload_group_read(payload, fs_group_of(pod));
    if (rc == 0)
        rc = atomic_write(dir, payload, fs_group_of(pod), err);
    json_decref(payload);
    return rc;
}

int volume_sync(struct kc *kc, const json_t *pod, const char *pod_dir, json_t **paths,
                struct err *err)
{
    const json_t *vol;
    char root[PATH_MAX];
    struct err one;
    size_t i;
    int rc = 0;

    json_t *found;

    if (paths)
        *paths = NULL;
    if (path_fmt(root, sizeof root, "%s/volumes", pod_dir) < 0)
        return err_set(err, -ENAMETOOLONG, "pod directory path too long: %s", pod_dir);
    if (mkdir(root, 0755) < 0 && errno != EEXIST)
        return err_set(err, -errno, "cannot create %s: %s", root, strerror(errno));
    found = json_object();
    /* Every volume is refreshed even when one fails; the first error is returned. */
    json_array_foreach(jx_get(pod, "spec.volumes"), i, vol)
    {
        const char *name = jx_str(vol, "name");
        char dir[PATH_MAX], *host = NULL;
        int r;
        if (!name || !*name || strchr(name, '/') || strncmp(name, "..", 2) == 0) {
            if (!rc)
                rc = err_set(err, -E_INVALID, "invalid volume name \"%s\"", name ?: "");
            continue;
        }
        if (path_fmt(dir, sizeof dir, "%s/%s", root, name) < 0) {
            if (!rc)
                rc = err_set(err, -ENAMETOOLONG, "volume path too long: %s", name);
            continue;
        }
        err_init(&one);
        r = volume_one(kc, pod, vol, dir, &host, &one);
        if (r < 0 && !rc)
            rc = err_set(err, r, "%s", one.msg);
        else if (r == 0)
            json_object_set_new(found, name, json_string(host));
        err_release(&one);
        free(host);
    }
    if (rc == 0 && paths)
        *paths = json_incref(found);
    json_decref(found);
    return rc;
}

/* ---- mounts ------------------------------------------------------------------------------------
 */

static const json_t *pod_volume(const json_t *pod, const char *name)
{
    return named(jx_get(pod, "spec.volumes"), name);
}

json_t *volume_mounts_resolve(const json_t *pod, const json_t *container, const json_t *paths,
                              struct err *err)
{
    const char *cname = jx_str(container, "name") ?: "";
    json_t *out = json_array();
    const json_t *m;
    size_t i;

    json_array_foreach(json_object_get(container, "volumeMounts"), i, m)
    {
        const char *name = jx_str(m, "name") ?: "", *sub = jx_str(m, "subPath");
        const char *src = json_string_value(json_object_get(paths, name));
        const json_t *vol = pod_volume(pod, name);
        int ro = jx_bool(m, "readOnly");
        char *source;
        if (!src || !vol) {
            err_set(err, -E_INVALID, "cannot find volume \"%s\" to mount into container \"%s\"",
                    name, cname);
            goto fail;
        }
        if (sub && *sub && !path_valid(sub)) {
            err_set(err, -E_INVALID,
                    "subPath \"%s\" of volume \"%s\" must be a relative path "
                    "without \"..\"",
                    sub, name);
            goto fail;
        }
        /* The kubelet mounts configMap, secret, downwardAPI and projected volumes read-only. */
        ro = ro || json_object_get(vol, "configMap") || json_object_get(vol, "secret") ||
             json_object_get(vol, "downwardAPI") || json_object_get(vol, "projected");
        source = sub && *sub ? xasprintf("%s/%s", src, sub) : xstrdup(src);
        json_array_append_new(out, json_pack("{s:s, s:s, s:b, s:s}", "source", source, "target",
                                             jx_str(m, "mountPath") ?: "", "readOnly", ro, "volume",
                                             name));
        free(source);
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

json_t *volume_mounts(const json_t *pod, const json_t *container, const json_t *paths)
{
    struct err err;
    json_t *out;

    err_init(&err);
    out = volume_mounts_resolve(pod, container, paths, &err);
    if (!out)
        log_warn("volume", "msg=\"%s\"", err.msg);
    err_release(&err);
    return out;
}

void volume_cleanup(const char *pod_dir)
{
    char root[PATH_MAX];

    path_fmt(root, sizeof root, "%s/volumes", pod_dir);
    rm_tree(root);
}
