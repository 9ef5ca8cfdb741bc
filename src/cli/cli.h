/* Command table: one file per command, each defining a struct cli_cmd (tmux-style). */
#ifndef KROLL_CLI_H
#define KROLL_CLI_H

typedef int cli_run_fn(int argc, char **argv);

struct cli_cmd {
    const char *name;
    const char *usage;
    cli_run_fn *run;
};

int cli_main(int argc, char **argv);

#endif
