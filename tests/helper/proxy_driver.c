/* Test driver for `kroll proxy` until the CLI wires the verb: main() is proxy_main(). */
#include "proxy/proxy.h"

int main(int argc, char **argv)
{
    return proxy_main(argc, argv);
}
