/* Helpers shared by the commands: the data directory and its well-known paths. */
#ifndef KROLL_CLI_COMMON_H
#define KROLL_CLI_COMMON_H

#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

/* Modes of the data dir (and run/, pods/, images/, pki/) and of its secret files. */
#define CLI_DATA_DIR_MODE 0700
#define CLI_SECRET_FILE_MODE 0600

/* --data-dir DIR from argv (removed from it), else $KROLL_DATA_DIR, else ~/.kroll.
 * Returns a malloc'd absolute path. */
char *cli_data_dir(int *argc, char **argv);
/* Path under the data dir, malloc'd. */
char *cli_path(const char *data_dir, const char *rel);
/* How many times (100 ms apart) a held lock is looked at before giving up on a pid file that
 * does not name its holder (a process that just took the lock writes its pid right after). */
#define CLI_PID_VERIFY_TRIES 30

/* A pidfd on the live `kroll <name>` process of data_dir (name: "server" or "proxy"): the
 * process that run/<name>.pid names, and only if it holds run/<name>.lock open, so a stale pid
 * file naming a reused pid is never trusted. *pid gets the pid. Returns the pidfd (caller
 * closes it), -ESRCH when nobody holds the lock (nothing runs), or -EAGAIN when the lock is
 * held but the pid file does not name its holder (*pid: what the file says, or 0), or another
 * -errno when the lock file cannot be opened (EACCES: someone else's data dir). */
int cli_proc_open(const char *data_dir, const char *name, pid_t *pid);
/* cli_proc_open's pid when it succeeds, else 0. */
int cli_pid_alive(const char *data_dir, const char *name);

/* Creates the data dir and its private subdirectories 0700 whatever the umask, checks an
 * existing one (owned by us, not writable by group/others), tightens secret files we own
 * (kroll.db*, pki keys and token, kubeconfig) to 0600, refuses ones owned by another user, and
 * creates kroll.db 0600. Returns 0, or a negative code with err saying what was found and
 * what to do. */
int cli_data_dir_secure(const char *dir, struct err *err);

#endif
