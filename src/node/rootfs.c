/* Container root filesystems (see rootfs.h). The overlay mount is made by a short-lived child
 * that chdirs into the bundle, so lowerdir can name the layers through short relative symlinks
 * (l/0, l/1, ...) and the option string stays far below the page size whatever the data dir's
 * path; the kubelet's helper threads never change the server's cwd. The copy fallback applies
 * each layer in order: a 0/0 character device deletes what lower layers put there, an opaque
 * directory (trusted.overlay.opaque=y) empties the directory first. Runs on helper threads. */
#include "node/rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"

/* Removes a tree without ever crossing into another file system (a mounted rootfs). */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(path);
    return 0;
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int is_mountpoint(const char *path)
{
    char parent[PATH_MAX + 4];
    struct stat a, b;

    snprintf(parent, sizeof parent, "%s/..", path);
    if (lstat(path, &a) < 0 || lstat(parent, &b) < 0)
        return 0;
    return a.st_dev != b.st_dev;
}

void rootfs_unmount(const char *bundle)
{
    char root[PATH_MAX];

    snprintf(root, sizeof root, "%s/rootfs", bundle);
    for (int i = 0; i < 8 && is_mountpoint(root); i++) /* stacked mounts, if any */
        if (umount2(root, MNT_DETACH) < 0) {
            log_warn("kubelet", "msg=\"cannot unmount rootfs\" path=%s err=\"%s\"", root,
                     strerror(errno));
            break;
        }
}

void rootfs_bundles_each(const char *pod_dir, void (*fn)(const char *name, void *ctx), void *ctx)
{
    char dir[PATH_MAX];
    struct dirent *e;
    DIR *d;

    snprintf(dir, sizeof dir, "%s/ctr", pod_dir);
    if (!(d = opendir(dir)))
        return;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            fn(e->d_name, ctx);
    closedir(d);
}

static void unmount_one(const char *name, void *ctx)
{
    char b[PATH_MAX];

    snprintf(b, sizeof b, "%s/ctr/%s", (const char *)ctx, name);
    rootfs_unmount(b);
}

void rootfs_unmount_all(const char *pod_dir)
{
    rootfs_bundles_each(pod_dir, unmount_one, (void *)pod_dir);
}

/* ---- overlay -------------------------------------------------------------------------------- */

static int overlay_opts(const char *bundle, char *const *layers, size_t n, char *opts,
                        struct err *err)
{
    char link[PATH_MAX];
    size_t off;

    snprintf(link, sizeof link, "%s/l", bundle);
    rm_tree(link);
    if (mkdir(link, 0700) < 0)
        return err_set(err, -errno, "%s: %s", link, strerror(errno));
    off = (size_t)snprintf(opts, ROOTFS_OPTS_MAX, "lowerdir=");
    for (size_t i = n; i-- > 0;) { /* overlayfs wants the top layer first */
        snprintf(link, sizeof link, "%s/l/%zu", bundle, i);
        if (symlink(layers[i], link) < 0)
            return err_set(err, -errno, "%s: %s", link, strerror(errno));
        off += (size_t)snprintf(opts + off, ROOTFS_OPTS_MAX - off, "l/%zu%s", i, i ? ":" : "");
    }
    off += (size_t)snprintf(opts + off, ROOTFS_OPTS_MAX - off, ",upperdir=upper,workdir=work");
    if (off >= ROOTFS_OPTS_MAX)
        return err_set(err, -E_INVALID, "overlay options too long (%zu layers)", n);
    return 0;
}

/* In a child: chdir into the bundle and mount, so the relative names resolve there. */
static int overlay_mount(const char *bundle, const char *opts)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return -errno;
    if (pid == 0) {
        if (chdir(bundle) < 0)
            _exit(errno & 0xff);
        _exit(mount("overlay", "rootfs", "overlay", 0, opts) < 0 ? (errno & 0xff) : 0);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO;
}

/* ---- copy fallback -------------------------------------------------------------------------- */

struct copy_ctx {
    const char *layer, *root;
    int failed;
};
static __thread struct copy_ctx *tls_copy; /* nftw has no context argument */

static void copy_file(const char *src, const char *dst, const struct stat *st)
{
    char buf[65536];
    int in = open(src, O_RDONLY | O_CLOEXEC), out;
    ssize_t n;

    unlink(dst);
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            tls_copy->failed = errno;
            break;
        }
    if (in < 0 || out < 0)
        tls_copy->failed = errno;
    if (out >= 0) {
        if (fchown(out, st->st_uid, st->st_gid) < 0 || fchmod(out, st->st_mode & 07777) < 0)
            tls_copy->failed = errno;
        close(out);
    }
    if (in >= 0)
        close(in);
}

static int copy_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    const char *rel = path + strlen(tls_copy->layer);
    char dst[PATH_MAX], link[PATH_MAX], x[4];
    ssize_t n;

    (void)flag, (void)f;
    if (!*rel)
        return 0;
    snprintf(dst, sizeof dst, "%s%s", tls_copy->root, rel);
    if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0)) { /* whiteout */
        rm_tree(dst);
        return 0;
    }
    if (S_ISDIR(st->st_mode)) {
        if (lgetxattr(path, "trusted.overlay.opaque", x, sizeof x) == 1 && x[0] == 'y')
            rm_tree(dst);
        if (mkdir(dst, st->st_mode & 07777) < 0 && errno != EEXIST)
            tls_copy->failed = errno;
        if (lchown(dst, st->st_uid, st->st_gid) < 0 || chmod(dst, st->st_mode & 07777) < 0)
            tls_copy->failed = errno;
        return 0;
    }
    rm_tree(dst);
    if (S_ISREG(st->st_mode)) {
        copy_file(path, dst, st);
    } else if (S_ISLNK(st->st_mode)) {
        n = readlink(path, link, sizeof link - 1);
        link[n > 0 ? n : 0] = 0;
        if (n <= 0 || symlink(link, dst) < 0 || lchown(dst, st->st_uid, st->st_gid) < 0)
            tls_copy->failed = errno;
    } else if (mknod(dst, st->st_mode, st->st_rdev) < 0) {
        tls_copy->failed = errno;
    }
    return 0;
}

static int rootfs_copy(const char *root, char *const *layers, size_t n, struct err *err)
{
    struct copy_ctx ctx = {.root = root};

    tls_copy = &ctx;
    for (size_t i = 0; i < n && !ctx.failed; i++) {
        ctx.layer = layers[i];
        if (nftw(layers[i], copy_entry, 32, FTW_PHYS) < 0)
            ctx.failed = errno ? errno : EIO;
    }
    tls_copy = NULL;
    if (ctx.failed)
        return err_set(err, -ctx.failed, "copying the image layers: %s", strerror(ctx.failed));
    return 0;
}

/* ---- assembly ------------------------------------------------------------------------------- */

static int dir_fresh(const char *bundle, const char *name, struct err *err)
{
    char p[PATH_MAX];

    snprintf(p, sizeof p, "%s/%s", bundle, name);
    rm_tree(p);
    if (mkdir(p, 0755) < 0)
        return err_set(err, -errno, "%s: %s", p, strerror(errno));
    return 0;
}

int rootfs_make(const char *bundle, char *const *layers, size_t nlayers, int force_copy,
                struct err *err)
{
    char opts[ROOTFS_OPTS_MAX], root[PATH_MAX];
    int rc;

    if (nlayers == 0 || nlayers > ROOTFS_LAYERS_MAX)
        return err_set(err, -E_INVALID, "image has %zu layers (1 to %d supported)", nlayers,
                       ROOTFS_LAYERS_MAX);
    rootfs_unmount(bundle);
    if ((rc = dir_fresh(bundle, "rootfs", err)) < 0 || (rc = dir_fresh(bundle, "upper", err)) < 0 ||
        (rc = dir_fresh(bundle, "work", err)) < 0)
        return rc;
    if (!force_copy) {
        if ((rc = overlay_opts(bundle, layers, nlayers, opts, err)) < 0)
            return rc;
        if ((rc = overlay_mount(bundle, opts)) == 0)
            return ROOTFS_OVERLAY;
        log_warn("kubelet", "msg=\"overlay mount failed; copying the image layers instead\" "
                 "bundle=%s err=\"%s\"", bundle, strerror(-rc));
    }
    snprintf(root, sizeof root, "%s/rootfs", bundle);
    if ((rc = rootfs_copy(root, layers, nlayers, err)) < 0)
        return rc;
    return ROOTFS_COPY;
}

static int file_put(const char *path, const char *data, size_t n, struct err *err)
{
    int rc = file_write_atomic(path, data, n, 0644);

    return rc < 0 ? err_set(err, rc, "%s: %s", path, strerror(-rc)) : 0;
}

int rootfs_etc_write(const char *pod_dir, const char *pod_name, const char *pod_ip,
                     const json_t *pod, struct err *err)
{
    char dir[PATH_MAX], path[PATH_MAX + 16], buf[8192], *conf;
    int fd, rc, n;
    ssize_t got = 0;

    snprintf(dir, sizeof dir, "%s/etc", pod_dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(err, -errno, "%s: %s", dir, strerror(errno));
    n = snprintf(buf, sizeof buf, "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
                 "::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n",
                 pod_ip && *pod_ip ? pod_ip : "127.0.0.1", pod_name);
    snprintf(path, sizeof path, "%s/hosts", dir);
    if ((rc = file_put(path, buf, (size_t)n, err)) < 0)
        return rc;
    n = snprintf(buf, sizeof buf, "%s\n", pod_name);
    snprintf(path, sizeof path, "%s/hostname", dir);
    if ((rc = file_put(path, buf, (size_t)n, err)) < 0)
        return rc;
    if ((fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC)) >= 0) {
        got = read(fd, buf, sizeof buf - 1);
        close(fd);
    }
    buf[got > 0 ? got : 0] = 0;
    snprintf(path, sizeof path, "%s/resolv.conf", dir);
    if (!pod)
        return file_put(path, buf, got > 0 ? (size_t)got : 0, err);
    conf = rootfs_resolv_conf(pod, buf);
    rc = file_put(path, conf, strlen(conf), err);
    free(conf);
    return rc;
}

char *rootfs_termlog_create(const char *bundle, struct err *err)
{
    char *path = xasprintf("%s/termination-log", bundle);

    if (file_put(path, "", 0, err) < 0) {
        free(path);
        return NULL;
    }
    chmod(path, 0666); /* a non-root container user writes it too */
    return path;
}

char *rootfs_termlog_read(const char *pod_dir, const char *name)
{
    char path[PATH_MAX], *buf;
    int fd;
    ssize_t n;

    snprintf(path, sizeof path, "%s/ctr/%s/termination-log", pod_dir, name);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
        return NULL;
    buf = xmalloc(ROOTFS_TERMLOG_MAX + 1);
    n = read(fd, buf, ROOTFS_TERMLOG_MAX);
    close(fd);
    if (n <= 0) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

/* The message of one CRI record ("<time> <stream> <P|F> <message>"), or the whole line. */
static const char *cri_message(const char *line)
{
    const char *p = line;

    for (int i = 0; i < 3 && p; i++)
        if ((p = strchr(p, ' ')))
            p++;
    return p ? p : line;
}

char *rootfs_log_tail(const char *pod_dir, const char *name)
{
    char path[PATH_MAX], buf[16384], *lines[ROOTFS_LOGTAIL_LINES], *out, *save = NULL;
    int fd, k = 0;
    ssize_t n;
    off_t size;
    size_t len = 0;

    snprintf(path, sizeof path, "%s/logs/%s/current.log", pod_dir, name);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return NULL;
    size = lseek(fd, 0, SEEK_END);
    lseek(fd, size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0, SEEK_SET);
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = 0;
    /* Keep the last ROOTFS_LOGTAIL_LINES records (a ring of pointers into buf). */
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        lines[k++ % ROOTFS_LOGTAIL_LINES] = l;
    out = xmalloc(sizeof buf);
    out[0] = 0;
    for (int i = k > ROOTFS_LOGTAIL_LINES ? k - ROOTFS_LOGTAIL_LINES : 0; i < k; i++)
        len += (size_t)snprintf(out + len, sizeof buf - len, "%s\n",
                                cri_message(lines[i % ROOTFS_LOGTAIL_LINES]));
    if (len > ROOTFS_LOGTAIL_BYTES) { /* the last bytes, as the kubelet keeps */
        memmove(out, out + len - ROOTFS_LOGTAIL_BYTES, ROOTFS_LOGTAIL_BYTES + 1);
        len = ROOTFS_LOGTAIL_BYTES;
    }
    return out;
}

void rootfs_container_id(const char *pod_uid, const char *name, char *out, size_t n)
{
    char hex[13];
    size_t k = 0;

    for (const char *p = pod_uid; *p && k < 12; p++)
        if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
            hex[k++] = *p;
    hex[k] = 0;
    snprintf(out, n, "k%s-%s", hex, name);
}
