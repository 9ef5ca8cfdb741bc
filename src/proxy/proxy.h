/* kroll proxy: the Service data plane as its own process (see docs/internals/proxy.md).
 * Static mode: `kroll proxy --listen HOST:PORT --backends HOST:PORT,... [--workers N]`. */
#ifndef KROLL_PROXY_H
#define KROLL_PROXY_H

/* Parses argv (argv[0] is the command name), runs the proxy until SIGTERM or SIGINT and returns
 * the process exit status: 0 after a clean stop, 1 on a startup error (printed on stderr),
 * 2 on a usage error. */
int proxy_main(int argc, char **argv);

#endif
