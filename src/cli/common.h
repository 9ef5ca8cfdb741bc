/* Helpers shared by the commands: the data directory and its well-known paths. */
#ifndef KROLL_CLI_COMMON_H
#define KROLL_CLI_COMMON_H

#include <stddef.h>

/* --data-dir DIR from argv (removed from it), else $KROLL_DATA_DIR, else ~/.kroll.
 * Returns a malloc'd absolute path. */
char *cli_data_dir(int *argc, char **argv);
/* Path under the data dir, malloc'd. */
char *cli_path(const char *data_dir, const char *rel);
/* Pid from <data-dir>/run/<name>.pid if that process is alive, else 0. */
int cli_pid_alive(const char *data_dir, const char *name);

#endif
