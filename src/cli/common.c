/* Data directory resolution, its permissions, and pid files for the commands. */
#include "cli/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/tls.h"

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

int cli_pid_alive(const char *data_dir, const char *name)
{
    char *rel = xasprintf("run/%s.pid", name), *p = cli_path(data_dir, rel);
    char *txt = file_read_all(p, NULL);
    int pid = txt ? atoi(txt) : 0;

    free(rel);
    free(p);
    free(txt);
    if (pid > 0 && kill(pid, 0) == 0)
        return pid;
    return 0;
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
