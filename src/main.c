/* kroll: dispatches the first argument to one of the commands in cli/. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
