/* fsGroup volume ownership, as the kubelet's SetVolumeOwnership (pkg/volume/volume_linux.go):
 * every entry of a volume gets group fsGroup (lchown, the owner kept); files and directories
 * that are not symlinks get group read (and write when the volume is writable) added to their
 * mode, directories also group search and the setgid bit, so files created later inherit the
 * group. Children before their directory, never across a mount point, never through a symlink. */
#include "node/volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define RW_MASK 0660
#define RO_MASK 0440
#define EXEC_MASK 0110

struct owner_walk {
    gid_t gid;
    mode_t mask;
    dev_t dev;
    long entries; /* left before VOLUME_OWNER_ENTRIES_MAX is reached */
    int failures;
};

/* One entry (name in the directory dfd), with st from fstatat(AT_SYMLINK_NOFOLLOW). */
static void owner_one(struct owner_walk *w, int dfd, const char *name, const struct stat *st)
{
    mode_t mask = w->mask;

    if (fchownat(dfd, name, (uid_t)-1, w->gid, AT_SYMLINK_NOFOLLOW) < 0)
        w->failures++;
    /* chmod would follow a symlink to its target and override the mode the volume gave it. */
    if (S_ISLNK(st->st_mode))
        return;
    if (S_ISDIR(st->st_mode))
        mask |= S_ISGID | EXEC_MASK;
    if (fchmodat(dfd, name, (st->st_mode & 07777) | mask, 0) < 0)
        w->failures++;
}

static void owner_dir(struct owner_walk *w, int fd, int depth)
{
    DIR *d = fdopendir(fd);
    struct dirent *e;

    if (!d) {
        close(fd);
        w->failures++;
        return;
    }
    while ((e = readdir(d)) && w->entries > 0) {
        struct stat st;
        int sub;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        w->entries--;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != w->dev)
            continue; /* gone, or another filesystem mounted here: not the volume's */
        if (S_ISDIR(st.st_mode) && depth < VOLUME_OWNER_DEPTH_MAX &&
            (sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >=
                0)
            owner_dir(w, sub, depth + 1);
        owner_one(w, dirfd(d), e->d_name, &st);
    }
    closedir(d);
}

/* OnRootMismatch: nothing to do when the root already has the group, the mode bits and (for a
 * directory) setgid (requiresPermissionChange). */
static int root_matches(const struct stat *st, gid_t gid, mode_t mask)
{
    mode_t want = mask | EXEC_MASK;

    return st->st_gid == gid && S_ISDIR(st->st_mode) && (st->st_mode & want) == want &&
           (st->st_mode & S_ISGID);
}

int volume_owner_set(const char *dir, long fs_group, int readonly, int on_root_mismatch)
{
    struct owner_walk w = {.gid = (gid_t)fs_group,
                           .mask = readonly ? RO_MASK : RW_MASK,
                           .entries = VOLUME_OWNER_ENTRIES_MAX};
    struct stat st;
    int fd;

    if (fs_group < 0)
        return 0;
    if (lstat(dir, &st) < 0)
        return -errno;
    if (on_root_mismatch && root_matches(&st, w.gid, w.mask))
        return 0;
    w.dev = st.st_dev;
    if (S_ISDIR(st.st_mode)) {
        if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
            return -errno;
        owner_dir(&w, fd, 1);
    }
    owner_one(&w, AT_FDCWD, dir, &st);
    if (w.failures)
        log_warn("volume",
                 "msg=\"fsGroup ownership could not be set on every file\" dir=%s "
                 "fsGroup=%ld failures=%d",
                 dir, fs_group, w.failures);
    if (w.entries <= 0)
        log_warn("volume",
                 "msg=\"fsGroup ownership stopped at the entry limit\" dir=%s "
                 "limit=%d",
                 dir, VOLUME_OWNER_ENTRIES_MAX);
    return 0;
}
