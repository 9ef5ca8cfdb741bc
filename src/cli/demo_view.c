/* What the user sees while the demo runs: the kubectl step runner (prints each real command and
 * its output as it comes), and the live view of ReplicaSets, pods and traffic. On a terminal
 * the view is a few lines kept at the bottom and redrawn in place (the log scrolls above it);
 * otherwise it becomes plain state lines, printed when the state changes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/demo-int.h"
#include "core/buf.h"
#include "core/log.h"

#define SAMPLE_EVERY 0.5
#define VIEW_MAX_LINES 12

double demo_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double demo_elapsed(const struct demo *d)
{
    return demo_now() - d->t0;
}

static int term_width(void)
{
    struct winsize ws;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col;
    return 100;
}

/* Appends s to b, cut after width visible characters (escape sequences are not counted). */
static void put_cut(struct buf *b, const char *s, int width)
{
    int vis = 0;

    for (const char *p = s; *p; p++) {
        if (*p == '\033') {
            const char *e = p;

            while (*e && *e != 'm')
                e++;
            buf_append(b, p, (size_t)(e - p + (*e ? 1 : 0)));
            p = *e ? e : e - 1;
            continue;
        }
        if (vis >= width - 1)
            continue;
        if (((unsigned char)*p & 0xC0) != 0x80)
            vis++;
        buf_append(b, p, 1);
    }
    buf_append(b, "\033[0m\n", 5);
}

static void view_erase(struct demo *d)
{
    if (d->tty && d->view_lines > 0)
        printf("\r\033[%dA\033[J", d->view_lines);
    d->view_lines = 0;
}

static void traffic_line(struct demo *d, char *out, size_t n)
{
    static struct load_second secs[DEMO_MAX_SECONDS];
    char names[DEMO_MAX_VERSIONS][32], mix[160] = "";
    struct load_counters t;
    int ns = load_get_seconds(d->load, secs, DEMO_MAX_SECONDS);
    int nv = load_versions(d->load, names), rate = 0;
    uint64_t vsum = 0;
    size_t off = 0;

    if (!d->load) {
        snprintf(out, n, "traffic stopped");
        return;
    }
    load_get_phase(d->load, d->cur, &t);
    if (ns >= 2)
        rate = (int)(secs[ns - 2].ok + secs[ns - 2].failed);
    for (int i = 0; i < nv; i++)
        vsum += t.by_version[i];
    for (int i = 0; i < nv && vsum; i++)
        if (t.by_version[i] && off < sizeof mix)
            off += (size_t)snprintf(mix + off, sizeof mix - off, " %s %d%%", names[i],
                                    (int)(100 * t.by_version[i] / vsum));
    snprintf(out, n,
             "traffic -> %s:%d  this phase: %llu ok, %s%llu failed%s  %d req/s  "
             "p99 %.1f ms  answered by:%s",
             d->target[0] ? d->target : "(none)", d->target_port, (unsigned long long)t.ok,
             t.failed && d->tty ? "\033[1;31m" : "", (unsigned long long)t.failed,
             t.failed && d->tty ? "\033[0m" : "", rate, load_percentile_us(&t, 0.99) / 1000,
             mix[0] ? mix : " -");
}

static int rs_shown(const struct rs_state *r)
{
    return r->desired > 0 || r->available > 0 || r->ready > 0;
}

static void view_draw(struct demo *d)
{
    struct buf b;
    char line[512], tl[400];
    const struct cluster_state *s = &d->last;
    int w = term_width(), n = 0;
    const struct demo_phase *ph = &d->phases[d->cur];

    buf_init(&b, 1 << 20);
    snprintf(line, sizeof line, "\033[7m %5.1fs  phase %d/%d: %s%s \033[0m", demo_elapsed(d),
             d->cur + 1, d->nphases, ph->title, ph->zero_downtime ? " (zero-downtime)" : "");
    put_cut(&b, line, w);
    n++;
    for (int i = 0; i < s->nrs && n < VIEW_MAX_LINES - 2; i++) {
        const struct rs_state *r = &s->rs[i];
        char bar[64] = "";
        int k = 0;

        if (!rs_shown(r))
            continue;
        for (int j = 0; j < r->desired && k < 40; j++)
            bar[k++] = j < r->available ? '#' : (j < r->ready ? '+' : '.');
        bar[k] = 0;
        snprintf(line, sizeof line,
                 "  %-28s rev %-2d %-7s desired %d ready %d available %d  "
                 "\033[32m%s\033[0m",
                 r->name, r->revision, r->image, r->desired, r->ready, r->available, bar);
        put_cut(&b, line, w);
        n++;
    }
    snprintf(line, sizeof line, "  pods: %d running (%d ready), %d pending, %d terminating%s%s",
             s->pods_running, s->pods_ready, s->pods_pending, s->pods_terminating,
             s->pending_reason[0] ? "  pending: " : "", s->pending_reason);
    put_cut(&b, line, w);
    traffic_line(d, tl, sizeof tl);
    snprintf(line, sizeof line, "  %s", tl);
    put_cut(&b, line, w);
    n += 2;
    fwrite(b.data, 1, b.len, stdout);
    fflush(stdout);
    d->view_lines = n;
    buf_release(&b);
}

/* Non-terminal output: one line per state change, at most every 2 seconds. */
static void view_plain(struct demo *d)
{
    char line[512] = "", tl[400];
    size_t off = 0;
    const struct cluster_state *s = &d->last;

    for (int i = 0; i < s->nrs && off < sizeof line; i++)
        if (rs_shown(&s->rs[i]))
            off += (size_t)snprintf(line + off, sizeof line - off, "%s%s(%s) %d/%d",
                                    off ? ", " : "", s->rs[i].deploy, s->rs[i].image,
                                    s->rs[i].available, s->rs[i].desired);
    if (!strcmp(line, d->last_plain_line) || demo_now() - d->last_plain < 2)
        return;
    snprintf(d->last_plain_line, sizeof d->last_plain_line, "%s", line);
    d->last_plain = demo_now();
    traffic_line(d, tl, sizeof tl);
    printf("  [%6.1fs] available: %s | %s\n", demo_elapsed(d), line[0] ? line : "-", tl);
    fflush(stdout);
}

void demo_tick(struct demo *d)
{
    double now = demo_now();

    if (now - d->last_sample < SAMPLE_EVERY)
        return;
    d->last_sample = now;
    if (demo_api_sample(&d->api, &d->last) == 0) {
        d->last.t = now - d->t0;
        /* Rollouts and AnalysisRuns for the report's weight and analysis lane (issue 13). */
        if (demo_api_sample_rollouts(&d->api, &d->last) == 0 && d->last.nro > 0 && d->marks) {
            struct timespec wall;

            clock_gettime(CLOCK_REALTIME, &wall);
            demo_api_sample_analysis(&d->api, d->marks, &d->nmarks, DEMO_MAX_MARKS,
                                     (double)wall.tv_sec + wall.tv_nsec / 1e9 - d->last.t);
        }
        if (d->nsamples < DEMO_MAX_SAMPLES)
            d->samples[d->nsamples++] = d->last;
    }
    if (d->tty) {
        view_erase(d);
        view_draw(d);
    } else {
        view_plain(d);
    }
}

void demo_view_clear(struct demo *d)
{
    view_erase(d);
    fflush(stdout);
}

void demo_say(struct demo *d, const char *fmt, ...)
{
    va_list ap;

    view_erase(d);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    if (d->tty && d->last.t > 0)
        view_draw(d);
    fflush(stdout);
}

int demo_wait(struct demo *d, double secs, int (*cond)(struct demo *d))
{
    double end = demo_now() + secs;

    while (!demo_interrupted && demo_now() < end) {
        demo_tick(d);
        if (cond && cond(d))
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

/* Prints complete lines of the child's output; keeps a partial line for later. */
static void flush_lines(struct demo *d, struct buf *pend, struct buf *all, int final)
{
    char *nl;

    buf_cstr(pend);
    while ((nl = memchr(pend->data, '\n', pend->len))) {
        *nl = 0;
        demo_say(d, "    %s", pend->data);
        buf_consume(pend, (size_t)(nl - pend->data) + 1);
        buf_cstr(pend);
    }
    if (final && pend->len) {
        demo_say(d, "    %s", buf_cstr(pend));
        buf_consume(pend, pend->len);
    }
    (void)all;
}

static pid_t spawn_kubectl(struct demo *d, char **argv, int *rfd)
{
    int p[2];
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* Ctrl-C is the demo's to handle; it stops this child itself */
        dup2(p[1], 1);
        dup2(p[1], 2);
        execvp(d->kubectl, argv);
        fprintf(stderr, "cannot run %s: %s\n", d->kubectl, strerror(errno));
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    *rfd = p[0];
    return pid;
}

/* Shows the command as the user would type it. */
static void say_command(struct demo *d, char **argv)
{
    char cmd[1024];
    size_t off = 0;

    for (int i = 0; argv[i] && off < sizeof cmd; i++) {
        int quote = strpbrk(argv[i], " {}\"'*$") != NULL;

        off += (size_t)snprintf(cmd + off, sizeof cmd - off, "%s%s%s%s", i ? " " : "",
                                quote ? "'" : "", i ? argv[i] : "kubectl", quote ? "'" : "");
    }
    demo_say(d, "%s$ %s%s", d->tty ? "\033[1;36m" : "", cmd, d->tty ? "\033[0m" : "");
}

static int run_child(struct demo *d, pid_t pid, int fd, int timeout_s, struct buf *all)
{
    struct buf pend;
    char tmp[4096];
    double end = demo_now() + timeout_s;
    int status = 0, rc = -1, eof = 0;

    buf_init(&pend, 1 << 20);
    while (rc < 0) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (!eof && poll(&pf, 1, 100) > 0) {
            while ((n = read(fd, tmp, sizeof tmp)) > 0) {
                buf_append(&pend, tmp, (size_t)n);
                buf_append(all, tmp, (size_t)n);
            }
            if (n == 0)
                eof = 1;
            flush_lines(d, &pend, all, 0);
        } else if (eof) {
            usleep(50 * 1000);
        }
        demo_tick(d);
        if (waitpid(pid, &status, WNOHANG) == pid)
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        else if (demo_interrupted || demo_now() > end) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            rc = demo_interrupted ? 130 : 124;
        }
    }
    for (ssize_t n; (n = read(fd, tmp, sizeof tmp)) > 0;) { /* what is left after exit */
        buf_append(&pend, tmp, (size_t)n);
        buf_append(all, tmp, (size_t)n);
    }
    flush_lines(d, &pend, all, 1);
    buf_release(&pend);
    return rc;
}

int demo_kubectl(struct demo *d, int timeout_s, char **out, ...)
{
    char *argv[40];
    struct buf all;
    va_list ap;
    int argc = 1, fd = -1, rc;
    pid_t pid;

    argv[0] = "kubectl";
    va_start(ap, out);
    while (argc < 39 && (argv[argc] = va_arg(ap, char *)))
        argc++;
    va_end(ap);
    argv[argc] = NULL;
    say_command(d, argv);
    buf_init(&all, 4 << 20);
    pid = spawn_kubectl(d, argv, &fd);
    if (pid < 0) {
        demo_say(d, "    cannot start kubectl: %s", strerror(errno));
        buf_release(&all);
        return 127;
    }
    rc = run_child(d, pid, fd, timeout_s, &all);
    close(fd);
    if (rc == 124)
        demo_say(d, "    (stopped after %ds)", timeout_s);
    if (out)
        *out = xstrdup(buf_cstr(&all));
    buf_release(&all);
    return rc;
}
