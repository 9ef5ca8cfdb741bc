/* The command table and dispatcher (one file per command, as tmux does). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

extern const struct cli_cmd cli_cmd_server, cli_cmd_kubectl, cli_cmd_stop, cli_cmd_shim,
    cli_cmd_image, cli_cmd_proxy, cli_cmd_demo, cli_cmd_lint, cli_cmd_rollouts, cli_cmd_dashboard;

static const struct cli_cmd *const cmds[] = {
    &cli_cmd_server, &cli_cmd_kubectl, &cli_cmd_stop, &cli_cmd_shim,     &cli_cmd_image,
    &cli_cmd_proxy,  &cli_cmd_demo,    &cli_cmd_lint, &cli_cmd_rollouts, &cli_cmd_dashboard};

static int usage(FILE *f)
{
    fprintf(f, "usage: kroll <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-10s %s\n", cmds[i]->name, cmds[i]->usage);
    return f == stderr ? 2 : 0;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return usage(stdout);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i]->name) == 0)
            return cmds[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "kroll: unknown command \"%s\"\n", argv[1]);
    return usage(stderr);
}
