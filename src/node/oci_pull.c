/* `kroll image pull`: skopeo (Debian's) fetches the image from its registry into an
 * oci-archive beside the store, with its usual auth files (REGISTRY_AUTH_FILE and
 * containers-auth.json locations), under a timeout; the archive is then imported like any
 * other, so everything a registry sends is verified the same way. KROLL_PULL_TRANSPORT
 * replaces "docker://" (tests pull from a local "oci:DIR:" layout: they reach no registry). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "node/image.h"
#include "node/oci-int.h"

/* What skopeo says last is kept for the error (its first lines are progress). */
#define PULL_MSG_MAX 4096

/* Set by image_pull_cancel_all() (another thread, at shutdown): running pulls stop. */
static atomic_int pull_cancelled;

void image_pull_cancel_all(void)
{
    atomic_store(&pull_cancelled, 1);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int pull_timeout_s(void)
{
    const char *v = getenv("KROLL_PULL_TIMEOUT");
    int n = v ? atoi(v) : 0;

    return n > 0 ? n : IMAGE_PULL_TIMEOUT_S;
}

/* Reads the child's output until EOF or the deadline; keeps the tail in msg. */
static int pull_wait(pid_t pid, int fd, char *msg, struct err *err, const char *ref)
{
    long long deadline = now_ms() + pull_timeout_s() * 1000LL;
    size_t len = 0;
    int status = 0, timed_out = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    for (;;) {
        long long left = deadline - now_ms();
        ssize_t n;

        if (left <= 0 || atomic_load(&pull_cancelled)) {
            timed_out = left <= 0;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
            continue;
        if (len >= PULL_MSG_MAX - 1)
            len = 0; /* keep the tail */
        if ((n = read(fd, msg + len, PULL_MSG_MAX - 1 - len)) <= 0)
            break;
        len += (size_t)n;
    }
    msg[len] = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (atomic_load(&pull_cancelled))
        return err_set(err, -E_UNAVAILABLE, "pulling %s: cancelled (the server is stopping)",
                       ref);
    if (timed_out)
        return err_set(err, -E_UNAVAILABLE, "pulling %s: skopeo did not finish in %d s "
                       "(KROLL_PULL_TIMEOUT)", ref, pull_timeout_s());
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
            msg[--len] = 0;
        return err_set(err, -E_UNAVAILABLE, "pulling %s: skopeo failed: %s", ref,
                       strrchr(msg, '\n') ? strrchr(msg, '\n') + 1 : msg);
    }
    return 0;
}

static int skopeo_copy(const char *src, const char *dst, const char *ref, struct err *err)
{
    char *argv[] = {"skopeo", "copy", "--quiet", (char *)src, (char *)dst, NULL};
    char *msg = xmalloc(PULL_MSG_MAX);
    int fds[2], rc;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        free(msg);
        return err_set(err, -E_INTERNAL, "pipe: %s", strerror(errno));
    }
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        execvp("skopeo", argv);
        fprintf(stderr, "cannot run skopeo: %s (install the skopeo package)\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    rc = pid < 0 ? err_set(err, -E_INTERNAL, "fork: %s", strerror(errno))
                 : pull_wait(pid, fds[0], msg, err, ref);
    close(fds[0]);
    free(msg);
    return rc;
}

int image_pull(const char *data_dir, const char *ref, struct err *err)
{
    struct image_ref r;
    const char *transport = getenv("KROLL_PULL_TRANSPORT");
    char *dir = xasprintf("%s/images", data_dir), *tmp, *src, *dst;
    int rc;

    if ((rc = image_ref_parse(ref, &r, err)) < 0) {
        free(dir);
        return rc;
    }
    oci_mkdir_p(dir);
    /* The kubelet pulls different references at once from helper threads of one process. */
    tmp = xasprintf("%s/.pull-%d-%d.tar", dir, (int)getpid(), (int)gettid());
    src = xasprintf("%s%s", transport && *transport ? transport : "docker://", ref);
    dst = xasprintf("oci-archive:%s", tmp);
    unlink(tmp);
    rc = skopeo_copy(src, dst, ref, err);
    if (rc == 0)
        rc = image_import(data_dir, tmp, ref, err);
    unlink(tmp);
    free(dir);
    free(tmp);
    free(src);
    free(dst);
    return rc;
}
