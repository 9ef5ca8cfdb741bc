/* The demo's environment: finding and importing the bundled model-server images, starting a
 * kroll server of its own (own session, dies with the demo), and stopping it and everything it
 * runs (pods, the Service proxy) at the end or on Ctrl-C. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/common.h"
#include "cli/demo-int.h"
#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"
#include "node/image.h"

char *demo_images_default(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

    if (n <= 0)
        return NULL;
    exe[n] = 0;
    return xasprintf("%s/examples/images", dirname(exe));
}

/* Imports every "<dir> <ref>" of images.txt. */
int demo_images_import(struct demo *d)
{
    char *list_path = xasprintf("%s/images.txt", d->images_dir);
    char *list = file_read_all(list_path, NULL), *save = NULL;
    int n = 0, rc = 0;

    if (!list) {
        fprintf(stderr, "kroll demo: no %s: build the examples (`make`), or pass --images DIR\n",
                list_path);
        free(list_path);
        return -1;
    }
    for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char dir[256], ref[256], *src;
        struct err err;

        if (sscanf(line, "%255s %255s", dir, ref) != 2)
            continue;
        err_init(&err);
        src = xasprintf("%s/%s", d->images_dir, dir);
        if (image_import(d->data_dir, src, ref, &err) < 0) {
            fprintf(stderr, "kroll demo: image import %s: %s\n", src, err.msg);
            rc = -1;
        } else {
            n++;
        }
        err_release(&err);
        free(src);
    }
    if (rc == 0)
        demo_say(d, "imported %d images from %s (kroll image import DIR NAME:TAG)", n,
                 d->images_dir);
    free(list);
    free(list_path);
    return n ? rc : -1;
}

static int server_log_ready(const char *log_path)
{
    char *txt = file_read_all(log_path, NULL);
    int ok = txt && strstr(txt, "msg=\"ready\"");

    free(txt);
    return ok;
}

int demo_server_start(struct demo *d, const char *node_resource)
{
    char *log_path = xasprintf("%s/server.log", d->data_dir), *kc;
    pid_t parent = getpid();
    int rc = -1;

    d->server_pid = fork();
    if (d->server_pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        setsid(); /* the demo stops it in order; a Ctrl-C on the terminal must not race that */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(d->exe, d->exe, "server", "--data-dir", d->data_dir, "--listen", "127.0.0.1:0",
              "--node-resource", node_resource, (char *)NULL);
        _exit(127);
    }
    if (d->server_pid < 0)
        die("fork: %s", strerror(errno));
    for (int i = 0; i < 300 && !demo_interrupted; i++) {
        int st;

        if (server_log_ready(log_path)) {
            rc = 0;
            break;
        }
        if (waitpid(d->server_pid, &st, WNOHANG) == d->server_pid) {
            d->server_pid = 0;
            break;
        }
        usleep(100 * 1000);
    }
    if (rc < 0) {
        char *txt = file_read_all(log_path, NULL);

        fprintf(stderr, "kroll demo: the server did not start; its log (%s):\n%s\n", log_path,
                txt ? txt : "(empty)");
        free(txt);
    } else if (demo_api_open(&d->api, d->data_dir) < 0) {
        fprintf(stderr, "kroll demo: cannot read the server's kubeconfig\n");
        rc = -1;
    }
    kc = xasprintf("%s/kubeconfig", d->data_dir);
    setenv("KUBECONFIG", kc, 1);
    free(kc);
    free(log_path);
    return rc;
}

/* The single node's name (kubectl drain needs it). */
int demo_node_name(struct demo *d)
{
    for (int i = 0; i < 100 && !demo_interrupted; i++) {
        json_t *nodes = demo_api_get(&d->api, "/api/v1/nodes");
        const char *name =
            jx_str(json_array_get(json_object_get(nodes, "items"), 0), "metadata.name");

        if (name)
            snprintf(d->node, sizeof d->node, "%s", name);
        json_decref(nodes);
        if (d->node[0])
            return 0;
        usleep(100 * 1000);
    }
    return -1;
}

static void wait_pid(pid_t pid, int ms)
{
    for (int t = 0; t < ms; t += 50) {
        if (waitpid(pid, NULL, WNOHANG) == pid || kill(pid, 0) != 0)
            return;
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* The server is stopped here (it is this process's child: `kroll stop` would take its zombie
 * for a live server), then `kroll stop` stops every pod shim of the data dir; the Service proxy
 * (started by the server, meant to survive its restarts) is stopped by its pid file. */
void demo_server_stop(struct demo *d)
{
    int proxy = cli_pid_alive(d->data_dir, "proxy");
    pid_t pid;

    demo_api_close(&d->api);
    if (d->server_pid > 0) {
        kill(d->server_pid, SIGTERM);
        wait_pid(d->server_pid, 60000);
    }
    d->server_pid = 0;
    pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);

        if (fd >= 0)
            dup2(fd, 1);
        execl(d->exe, d->exe, "stop", "--data-dir", d->data_dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        wait_pid(pid, 90000);
    if (proxy > 0 && kill(proxy, 0) == 0) {
        kill(proxy, SIGTERM);
        for (int t = 0; t < 100 && kill(proxy, 0) == 0; t++)
            usleep(50 * 1000);
        kill(proxy, SIGKILL);
    }
}
