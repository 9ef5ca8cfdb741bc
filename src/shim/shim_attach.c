/* A container's stdin and terminal, held by the shim so that they outlive the server, and the
 * `attach` connections that reach them (kubectl attach, kubectl run -it). As containerd does:
 * `stdin: true` gives the container a pipe whose write end the shim keeps; `tty: true` gives it
 * a terminal (runc's console, received on a --console-socket, or a pty of ours for a plain
 * process) whose output is logged as stdout; every attach gets the container's output from the
 * moment it attached; `stdinOnce` closes stdin when the first attach with stdin ends (the
 * client's stdin hit EOF or the client left). Frame layout: shim-int.h. */
#include "shim/shim-int.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define FRAME_HDR 5

void shim__stdio_config(struct shim_ctr *c, const json_t *req)
{
    c->want_stdin = json_is_true(json_object_get(req, "stdin"));
    c->tty = json_is_true(json_object_get(req, "tty"));
    c->stdin_once = json_is_true(json_object_get(req, "stdinOnce"));
}

int shim__stdio_open(struct shim *s, struct shim_ctr *c, int *child_in, char *msg, size_t n)
{
    int p[2];

    (void)s;
    *child_in = -1;
    c->in_closed = 0;
    c->in_len = 0;
    if (c->tty && c->bundle)
        return 0; /* runc makes the terminal; its master comes over the console socket */
    if (c->tty) {
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK), sl;

        if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
            (sl = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
            snprintf(msg, n, "cannot allocate a terminal: %s", strerror(errno));
            if (m >= 0)
                close(m);
            return -EIO;
        }
        c->in_fd = m;
        *child_in = sl;
        return 0;
    }
    if (!c->want_stdin)
        return 0;
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(msg, n, "pipe: %s", strerror(errno));
        return -EIO;
    }
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    c->in_fd = p[1];
    *child_in = p[0];
    return 0;
}

void shim__stdio_started(struct shim *s, struct shim_ctr *c, int child_in)
{
    if (child_in >= 0)
        close(child_in);
    if (c->in_fd >= 0) {
        fcntl(c->in_fd, F_SETFL, fcntl(c->in_fd, F_GETFL) | O_NONBLOCK);
        c->inw = (struct shim_watch){W_STDIN, c};
        shim__watch_add(s, c->in_fd, 0, &c->inw);
    }
    if (!c->want_stdin)
        c->in_closed = 1;
}

static void pause_attaches(struct shim *s, struct shim_ctr *c, int on)
{
    for (struct shim_conn *k = s->conns; k; k = k->next)
        if (k->attach == c && k->att_stdin && k->paused != on) {
            k->paused = on;
            shim__conn_events(s, k);
        }
}

void shim__stdio_close(struct shim *s, struct shim_ctr *c)
{
    c->in_closed = 1;
    c->in_len = 0;
    free(c->in_buf);
    c->in_buf = NULL;
    pause_attaches(s, c, 0);
    if (c->in_fd < 0)
        return;
    shim__watch_del(s, c->in_fd);
    close(c->in_fd);
    c->in_fd = -1;
}

/* End of the container's input (stdinOnce): a pipe is closed once what is buffered is written;
 * a terminal has no half-close, so no attach writes to it again. */
static void stdin_end(struct shim *s, struct shim_ctr *c)
{
    c->in_closed = 1;
    if (!c->tty && c->in_len == 0 && c->in_fd >= 0) {
        shim__watch_del(s, c->in_fd);
        close(c->in_fd);
        c->in_fd = -1;
    }
    log_info("shim", "msg=\"stdin closed (stdinOnce)\" container=%s", c->name);
}

/* Writes what the container's stdin takes; pauses or resumes its attaches. */
static void stdin_flush(struct shim *s, struct shim_ctr *c)
{
    struct epoll_event ev = {.data.ptr = &c->inw};

    while (c->in_fd >= 0 && c->in_len) {
        ssize_t n = write(c->in_fd, c->in_buf, c->in_len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) { /* the container closed its stdin: drop what it will never read */
            c->in_len = 0;
            break;
        }
        memmove(c->in_buf, c->in_buf + n, c->in_len - (size_t)n);
        c->in_len -= (size_t)n;
    }
    if (c->in_fd < 0)
        return;
    if (c->in_closed && !c->tty && c->in_len == 0) {
        stdin_end(s, c);
        return;
    }
    ev.events = c->in_len ? EPOLLOUT : 0;
    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->in_fd, &ev);
    pause_attaches(s, c, c->in_len >= SHIM_STDIN_MAX);
}

void shim__stdin_on_write(struct shim *s, struct shim_ctr *c)
{
    stdin_flush(s, c);
    if (c->in_len < SHIM_STDIN_MAX) /* resumed attaches may hold frames already read */
        for (struct shim_conn *k = s->conns; k; k = k->next)
            if (k->attach == c && k->att_stdin && k->in_len >= FRAME_HDR && !k->dead)
                shim__attach_input(s, k);
}

int shim__console_listen(struct shim *s, struct shim_ctr *c, char *out, size_t n)
{
    static unsigned seq;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (!out || n == 0)
        return -EINVAL;
    snprintf(out, n, "%s/console-%u.sock", s->pod_dir, ++seq);
    if (strlen(out) >= sizeof sa.sun_path) { /* a deep pod dir: a private dir in /tmp */
        char dir[] = "/tmp/kroll-console-XXXXXX";

        if (!mkdtemp(dir))
            return -errno;
        snprintf(out, n, "%s/c.sock", dir);
    }
    if (strlen(out) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, out, strlen(out) + 1);
    unlink(out);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int rc = -errno;

        shim__console_unlink(out);
        return rc;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(out, 0600) < 0 ||
        listen(fd, 4) < 0) {
        int rc = -errno;

        close(fd);
        shim__console_unlink(out);
        return rc;
    }
    (void)c;
    return fd;
}

void shim__console_unlink(const char *path)
{
    unlink(path);
    if (strncmp(path, "/tmp/kroll-console-", 19) == 0) {
        char dir[64];

        snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') - path), path);
        rmdir(dir);
    }
}

int shim__console_recv(int lfd)
{
    char data[256], cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {data, sizeof data};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), m = -1;

    if (fd < 0)
        return -errno;
    if (recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) >= 0 && (cm = CMSG_FIRSTHDR(&mh)) &&
        cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&m, CMSG_DATA(cm), sizeof m);
    close(fd);
    return m >= 0 ? m : -EPROTO;
}

/* ---- attach connections -------------------------------------------------------------------- */

static void frame_send(struct shim *s, struct shim_conn *k, int type, const void *p, size_t n)
{
    unsigned char h[FRAME_HDR] = {(unsigned char)type, (unsigned char)(n >> 24),
                                  (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                                  (unsigned char)n};

    shim__conn_write(s, k, h, sizeof h);
    if (n)
        shim__conn_write(s, k, p, n);
}

json_t *shim__attach_op(struct shim *s, struct shim_conn *k, const json_t *req)
{
    const char *name = json_string_value(json_object_get(req, "container"));
    struct shim_ctr *c = name ? shim__ctr_find(s, name) : NULL;

    if (!name)
        return json_pack("{s:b, s:s}", "ok", 0, "error", "container must be a string");
    if (!c || !c->running)
        return json_pack("{s:b, s:o}", "ok", 0, "error",
                         json_sprintf("container %s is not running", name));
    k->attach = c;
    k->att_stdin = json_is_true(json_object_get(req, "stdin")) && c->want_stdin;
    return json_pack("{s:b, s:b, s:b, s:b}", "ok", 1, "tty", c->tty, "stdin", c->want_stdin,
                     "stdinOnce", c->stdin_once);
}

static void stdin_write(struct shim *s, struct shim_ctr *c, const unsigned char *p, size_t n)
{
    if (c->in_closed || c->in_fd < 0 || !n)
        return;
    if (!c->in_buf)
        c->in_buf = xmalloc(SHIM_STDIN_MAX + SHIM_ATTACH_FRAME_MAX);
    memcpy(c->in_buf + c->in_len, p, n);
    c->in_len += n;
    stdin_flush(s, c);
}

/* The client's stdin ended (EOF or gone): stdinOnce closes the container's; otherwise this
 * attach is over, as in containerd. */
static void attach_stdin_ended(struct shim *s, struct shim_conn *k)
{
    struct shim_ctr *c = k->attach;

    if (!k->att_stdin)
        return;
    k->att_stdin = 0;
    if (c->stdin_once && !c->in_closed) {
        c->in_closed = 1;
        if (c->in_len == 0 || c->tty)
            stdin_end(s, c);
        return;
    }
    if (!k->dead)
        frame_send(s, k, 'z', NULL, 0);
}

void shim__attach_input(struct shim *s, struct shim_conn *k)
{
    struct shim_ctr *c = k->attach;
    size_t off = 0;

    while (!k->dead && k->in_len - off >= FRAME_HDR) {
        const unsigned char *h = (const unsigned char *)k->in + off;
        size_t n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];

        if (n > SHIM_ATTACH_FRAME_MAX) {
            log_warn("shim", "msg=\"attach frame too large, connection dropped\" bytes=%zu", n);
            k->dead = 1;
            break;
        }
        if (k->in_len - off < FRAME_HDR + n)
            break;
        if (h[0] == 'i' && k->att_stdin && c->in_len >= SHIM_STDIN_MAX)
            break; /* paused until the container reads */
        if (h[0] == 'i' && k->att_stdin) {
            stdin_write(s, c, h + FRAME_HDR, n);
        } else if (h[0] == 'c') {
            attach_stdin_ended(s, k);
        } else if (h[0] == 'r' && n == 4 && c->tty && c->in_fd >= 0) {
            struct winsize ws = {.ws_col = (unsigned short)(h[5] << 8 | h[6]),
                                 .ws_row = (unsigned short)(h[7] << 8 | h[8])};

            if (ws.ws_col && ws.ws_row) /* the kernel signals SIGWINCH to the foreground */
                ioctl(c->in_fd, TIOCSWINSZ, &ws);
        }
        off += FRAME_HDR + n;
    }
    memmove(k->in, k->in + off, k->in_len - off);
    k->in_len -= off;
    if (c->in_len >= SHIM_STDIN_MAX && k->att_stdin && !k->paused) {
        k->paused = 1;
        shim__conn_events(s, k);
    }
}

void shim__attach_streams(struct shim *s, struct shim_ctr *c, int on)
{
    struct shim_stream *st[3] = {&c->out, &c->err, &c->pty};

    if (c->out_paused == on)
        return;
    c->out_paused = on;
    for (int i = 0; i < 3; i++) {
        struct epoll_event ev = {.events = on ? 0 : EPOLLIN, .data.ptr = &st[i]->w};

        if (st[i]->fd >= 0)
            epoll_ctl(s->ep, EPOLL_CTL_MOD, st[i]->fd, &ev);
    }
}

void shim__attach_drained(struct shim *s, struct shim_ctr *c)
{
    for (struct shim_conn *o = s->conns; o; o = o->next)
        if (o->attach == c && !o->dead && o->out_len >= SHIM_ATTACH_OUT_HIGH / 2)
            return;
    shim__attach_streams(s, c, 0);
}

/* Output goes to every attach; one that falls behind pauses the container's output (it blocks
 * on a full pipe) rather than losing bytes, as a containerd attach does. */
void shim__attach_output(struct shim *s, struct shim_ctr *c, int type, const char *p, size_t n)
{
    for (struct shim_conn *k = s->conns; k; k = k->next) {
        if (k->attach != c || k->dead)
            continue;
        for (size_t o = 0; o < n; o += SHIM_ATTACH_FRAME_MAX)
            frame_send(s, k, type, p + o,
                       n - o < SHIM_ATTACH_FRAME_MAX ? n - o : SHIM_ATTACH_FRAME_MAX);
        if (k->out_len > SHIM_ATTACH_OUT_HIGH)
            shim__attach_streams(s, c, 1);
    }
}

void shim__attach_ended(struct shim *s, struct shim_ctr *c)
{
    char code[16];

    snprintf(code, sizeof code, "%d", c->term.exit_code);
    for (struct shim_conn *k = s->conns; k; k = k->next)
        if (k->attach == c && !k->dead)
            frame_send(s, k, 'x', code, strlen(code));
}

void shim__attach_gone(struct shim *s, struct shim_conn *k)
{
    struct shim_ctr *c = k->attach;

    k->dead = 1;
    attach_stdin_ended(s, k);
    k->attach = NULL;
    if (c->out_paused)
        shim__attach_drained(s, c); /* k no longer counts (dead) */
}
