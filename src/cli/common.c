/* Data directory resolution, its permissions, and pid files for the commands. */
#include "cli/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"

char *cli_data_dir(int *argc, char **argv)
{
    const char *d = NULL;
    char abs[PATH_MAX];

    for (int i = 1; i < *argc; i++) {
        const char *v = NULL;
        int take = 0;

        if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < *argc) {
            v = argv[i + 1];
            take = 2;
        } else if (strncmp(argv[i], "--data-dir=", 11) == 0) {
            v = argv[i] + 11;
            take = 1;
        }
        if (take) {
            d = v;
            memmove(&argv[i], &argv[i + take], (size_t)(*argc - i - take + 1) * sizeof *argv);
            *argc -= take;
            break;
        }
    }
    if (!d)
        d = getenv("KROLL_DATA_DIR");
    if (!d) {
        const char *home = getenv("HOME");

        snprintf(abs, sizeof abs, "%s/.kroll", home ? home : "/root");
        return xstrdup(abs);
    }
    if (d[0] == '/')
        return xstrdup(d);
    if (!getcwd(abs, sizeof abs))
        die("getcwd: %s", strerror(errno));
    return xasprintf("%s/%s", abs, d);
}

char *cli_path(const char *data_dir, const char *rel)
{
    return xasprintf("%s/%s", data_dir, rel);
}

/* Whether process pid has open the file that fd is open on (same device and inode): the
 * server and the proxy keep their lock file open for as long as they live. */
static int proc_has_open(pid_t pid, int fd)
{
    char dirp[64], *p;
    struct stat want, st;
    struct dirent *e;
    DIR *d;
    int found = 0;

    if (fstat(fd, &want) < 0)
        return 0;
    snprintf(dirp, sizeof dirp, "/proc/%d/fd", (int)pid);
    if (!(d = opendir(dirp)))
        return 0; /* gone, or another user's process: never ours to signal */
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        p = xasprintf("%s/%s", dirp, e->d_name);
        found = stat(p, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino;
        free(p);
    }
    closedir(d);
    return found;
}

static pid_t pid_file_read(const char *data_dir, const char *name)
{
    char *rel = xasprintf("run/%s.pid", name), *p = cli_path(data_dir, rel);
    char *txt = file_read_all(p, NULL);
    long pid = txt ? strtol(txt, NULL, 10) : 0;

    free(rel);
    free(p);
    free(txt);
    return pid > 0 && pid < INT_MAX ? (pid_t)pid : 0;
}

/* One look: -ESRCH when nobody holds the lock, the pidfd when the pid file names the holder,
 * -EAGAIN when the lock is held by a process the pid file does not name (yet). */
static int proc_open_once(const char *data_dir, const char *name, int lockfd, pid_t *pid)
{
    int pfd;

    if (flock(lockfd, LOCK_SH | LOCK_NB) == 0) {
        flock(lockfd, LOCK_UN);
        return -ESRCH;
    }
    *pid = pid_file_read(data_dir, name);
    if (*pid <= 0 || !proc_has_open(*pid, lockfd))
        return -EAGAIN;
    /* The pidfd pins the process; checking again after opening it closes the window in
     * which the verified pid could exit and be reused. */
    pfd = pidfd_open(*pid, 0);
    if (pfd >= 0 && !proc_has_open(*pid, lockfd)) {
        close(pfd);
        return -EAGAIN;
    }
    return pfd >= 0 ? pfd : -EAGAIN;
}

int cli_proc_open(const char *data_dir, const char *name, pid_t *pid)
{
    char *rel = xasprintf("run/%s.lock", name), *p = cli_path(data_dir, rel);
    int lockfd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -ESRCH;

    free(rel);
    free(p);
    *pid = 0;
    if (lockfd < 0)
        return errno == ENOENT ? -ESRCH : -errno; /* no lock file: it never ran here */
    /* A process that just took the lock writes its pid file right after: wait a little. */
    for (int i = 0; i < CLI_PID_VERIFY_TRIES; i++) {
        rc = proc_open_once(data_dir, name, lockfd, pid);
        if (rc != -EAGAIN)
            break;
        usleep(100 * 1000);
    }
    close(lockfd);
    return rc;
}

int cli_pid_alive(const char *data_dir, const char *name)
{
    pid_t pid;
    int pfd = cli_proc_open(data_dir, name, &pid);

    if (pfd < 0)
        return 0;
    close(pfd);
    return (int)pid;
}

/* ---- data directory permissions ----
 * The data dir holds the CA key, the API token, the kubeconfig and the database with every
 * Secret: nobody but its owner may read it, and nobody else may write it (a writable dir lets
 * another user swap the keys or plant a database). Modes are set explicitly so the caller's
 * umask (even 000) cannot loosen them. */

static const char *const private_dirs[] = {"run", "pods", "images", "pki"};
static const char *const secret_files[] = {"kroll.db",   "kroll.db-wal",   "kroll.db-shm",
                                           "pki/ca.key", "pki/server.key", "pki/token",
                                           "kubeconfig"};

/* Creates path 0700 or checks an existing one: another owner is refused; so is a top-level dir
 * writable by group/others (it may already have been tampered with). Looser modes on a dir we
 * own are tightened with a warning. */
static int dir_secure(const char *path, int top, struct err *err)
{
    uid_t me = geteuid();
    struct stat st;

    if (mkdir(path, CLI_DATA_DIR_MODE) < 0 && errno != EEXIST)
        return err_set(err, -errno, "cannot create %s: %s", path, strerror(errno));
    if (stat(path, &st) < 0)
        return err_set(err, -errno, "cannot stat %s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(err, -ENOTDIR, "%s is not a directory", path);
    if (st.st_uid != me)
        return err_set(err, -EPERM,
                       "refusing data directory %s: it is owned by uid %u, not by uid %u that runs "
                       "kroll; use a directory you own (or chown -R %u %s)",
                       path, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, path);
    if (top && (st.st_mode & 022))
        return err_set(err, -EPERM,
                       "refusing data directory %s: mode %04o lets group/others write it, so its "
                       "keys could have been replaced; check it, then run: chmod 700 %s",
                       path, (unsigned)(st.st_mode & 07777), path);
    if ((st.st_mode & 07777) != CLI_DATA_DIR_MODE) {
        if (chmod(path, CLI_DATA_DIR_MODE) < 0)
            return err_set(err, -errno, "chmod 700 %s: %s", path, strerror(errno));
        if (st.st_mode & 077)
            log_warn("server", "msg=\"tightened directory mode\" path=%s from=%04o to=0700", path,
                     (unsigned)(st.st_mode & 07777));
    }
    return 0;
}

/* An existing secret file must be a regular file we own; group/other bits are removed. */
static int file_secure(const char *path, struct err *err)
{
    uid_t me = geteuid();
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : err_set(err, -errno, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return err_set(err, -EPERM,
                       "refusing %s: it is not a regular file (a symlink or device could expose "
                       "kroll's secrets); remove it",
                       path);
    if (st.st_uid != me)
        return err_set(err, -EPERM,
                       "refusing %s: it is owned by uid %u, not by uid %u that runs kroll; "
                       "remove it or chown %u %s",
                       path, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, path);
    if (st.st_mode & 077) {
        if (chmod(path, CLI_SECRET_FILE_MODE) < 0)
            return err_set(err, -errno, "chmod 600 %s: %s", path, strerror(errno));
        log_warn("server", "msg=\"tightened secret file mode\" path=%s from=%04o to=0600", path,
                 (unsigned)(st.st_mode & 07777));
    }
    return 0;
}

int cli_data_dir_secure(const char *dir, struct err *err)
{
    char *p;
    int rc, fd;

    if ((rc = dir_secure(dir, 1, err)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof private_dirs / sizeof *private_dirs; i++) {
        p = cli_path(dir, private_dirs[i]);
        rc = dir_secure(p, 0, err);
        free(p);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < sizeof secret_files / sizeof *secret_files; i++) {
        p = cli_path(dir, secret_files[i]);
        rc = file_secure(p, err);
        free(p);
        if (rc < 0)
            return rc;
    }
    /* SQLite creates kroll.db-wal and -shm with the database file's mode: creating the file
     * 0600 here, before SQLite would create it 0644 under the umask, keeps all three private. */
    p = cli_path(dir, "kroll.db");
    fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, CLI_SECRET_FILE_MODE);
    if (fd < 0)
        rc = err_set(err, -errno, "cannot create %s: %s", p, strerror(errno));
    else
        close(fd);
    free(p);
    return rc;
}
