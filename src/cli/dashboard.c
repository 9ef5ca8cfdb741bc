/* `kroll dashboard [--data-dir DIR] [-n NAMESPACE]`: prints the URL of the page the API server
 * serves at /dashboard/ and a login link carrying the kubeconfig's bearer token in the URL
 * fragment, which browsers never send to a server (the page keeps it in sessionStorage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/apiclient.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "core/log.h"

/* The token is base64url/hex in practice; anything else is percent-encoded for the fragment. */
static void print_fragment_value(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c))
            putchar(c);
        else
            printf("%%%02X", c);
    }
}

static int cmd_dashboard_run(int argc, char **argv)
{
    char *dir = cli_data_dir(&argc, argv);
    const char *ns = NULL;
    struct cli_api a;

    if (argc == 3 && (!strcmp(argv[1], "-n") || !strcmp(argv[1], "--namespace"))) {
        ns = argv[2];
        argc = 1;
    }
    if (argc > 1) {
        fprintf(stderr, "usage: kroll dashboard [--data-dir DIR] [-n NAMESPACE]\n");
        free(dir);
        return 2;
    }
    if (ns && (!*ns || strlen(ns) > 63 ||
               strspn(ns, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(ns))) {
        fprintf(stderr, "kroll dashboard: invalid namespace \"%s\"\n", ns);
        free(dir);
        return 2;
    }
    if (cli_api_open(&a, dir) < 0) {
        free(dir);
        return 1;
    }
    printf("Dashboard:  %s/dashboard/%s%s\n", a.cfg.server, ns ? "?ns=" : "", ns ? ns : "");
    printf("Login link: %s/dashboard/%s%s#token=", a.cfg.server, ns ? "?ns=" : "", ns ? ns : "");
    print_fragment_value(a.cfg.token);
    printf("\nThe server's certificate is signed by %s (trust it, or accept it once).\n",
           a.ca_file);
    cli_api_close(&a);
    free(dir);
    return 0;
}

const struct cli_cmd cli_cmd_dashboard = {
    .name = "dashboard",
    .usage = "[--data-dir DIR] [-n NS]    print the web dashboard's URL and login link",
    .run = cmd_dashboard_run,
};
