/* Lifecycle hooks (postStart, preStop) on the server loop: exec through the shim, httpGet through
 * the shared probe run (probe_http.c), sleep as a timer, tcpSocket as the deprecated no-op.
 * Failure texts follow the kubelet's handler runner so FailedPostStartHook / FailedPreStopHook
 * events read as on a real node. done is called exactly once unless the hook is cancelled. */
#include "node/hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"
#include "node/probe-int.h"

#define HOOK_NO_LIMIT_MS (24LL * 3600 * 1000) /* exec needs some limit; "none" means a day */

struct hook {
    struct loop *loop;
    hook_done_fn *done;
    void *ctx;
    json_t *handler;
    char *what;    /* "Exec lifecycle hook ([sh -c ...])" or "HTTP lifecycle hook (/path)" */
    char *pod_ref; /* name_namespace(uid) */
    char *container;
    struct probe_run *run;
    struct loop_timer timeout; /* the caller's budget */
    struct loop_timer sleep;   /* sleep action; also reports immediate results (0 ms) */
    int64_t timeout_ms;
    int ok_now; /* result reported by the sleep timer when no action is running */
    char *msg_now;
    int finished;
};

static void hook_free(void *arg)
{
    struct hook *h = arg;

    json_decref(h->handler);
    free(h->what);
    free(h->pod_ref);
    free(h->container);
    free(h->msg_now);
    free(h);
}

/* Stops the hook's timers and its run; 0 when it had finished already. */
static int hook_stop(struct hook *h)
{
    if (h->finished)
        return 0;
    h->finished = 1;
    loop_timer_stop(h->loop, &h->timeout);
    loop_timer_stop(h->loop, &h->sleep);
    probe__run_cancel(h->run);
    h->run = NULL;
    return 1;
}

static void hook_finish(struct hook *h, int ok, const char *msg)
{
    if (!hook_stop(h))
        return;
    h->done(h, ok, ok ? "" : msg, h->ctx);
    loop_defer(h->loop, hook_free, h);
}

void hook_cancel(struct hook *h)
{
    if (h && hook_stop(h))
        loop_defer(h->loop, hook_free, h);
}

static void on_timeout(struct loop_timer *t, void *arg)
{
    struct hook *h = arg;
    char *msg = xasprintf("%s for Container \"%s\" in Pod \"%s\" failed - error: timed out after "
                          "%lldms",
                          h->what, h->container, h->pod_ref, (long long)h->timeout_ms);

    hook_finish(h, 0, msg);
    free(msg);
}

static void on_sleep(struct loop_timer *t, void *arg)
{
    struct hook *h = arg;

    hook_finish(h, h->ok_now, h->msg_now);
}

/* Go's %q of a command's output, as the kubelet quotes it in "message: %q". */
static char *quote(const char *s)
{
    size_t o = 0;
    char *q = xmalloc(strlen(s) * 4 + 3);

    q[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            o += (size_t)sprintf(q + o, "\\%c", c);
        else if (c == '\n')
            o += (size_t)sprintf(q + o, "\\n");
        else if (c == '\t')
            o += (size_t)sprintf(q + o, "\\t");
        else if (c == '\r')
            o += (size_t)sprintf(q + o, "\\r");
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)sprintf(q + o, "\\x%02x", c);
        else
            q[o++] = (char)c;
    }
    q[o++] = '"';
    q[o] = '\0';
    return q;
}

static void on_exec_done(struct probe_run *r, const struct probe_outcome *o, void *arg)
{
    struct hook *h = arg;
    char *cmd, *msg, *q;
    const json_t *a;
    size_t i, len = 1;

    h->run = NULL;
    if (o->ok) {
        hook_finish(h, 1, "");
        return;
    }
    json_array_foreach(jx_get(h->handler, "exec.command"), i, a) len +=
        strlen(json_string_value(a) ? json_string_value(a) : "") + 1;
    cmd = xcalloc(1, len);
    json_array_foreach(jx_get(h->handler, "exec.command"), i, a)
    {
        if (i)
            strcat(cmd, " ");
        strcat(cmd, json_string_value(a) ? json_string_value(a) : "");
    }
    /* The runtime's error for a non-zero exit: "command '<cmd>' exited with <n>: <stderr>"; the
     * shim interleaves stdout and stderr, so the message carries the whole output. */
    q = quote(o->exit_code >= 0 && !o->timed_out ? o->output : "");
    if (o->timed_out || o->exit_code < 0)
        msg = xasprintf("%s for Container \"%s\" in Pod \"%s\" failed - error: %s, message: %s",
                        h->what, h->container, h->pod_ref, o->error ? o->error : o->output, q);
    else
        msg = xasprintf("%s for Container \"%s\" in Pod \"%s\" failed - error: command '%s' "
                        "exited with %d: %s, message: %s",
                        h->what, h->container, h->pod_ref, cmd, o->exit_code, o->output, q);
    hook_finish(h, 0, msg);
    free(msg);
    free(q);
    free(cmd);
}

static void on_http_done(struct probe_run *r, const struct probe_outcome *o, void *arg)
{
    struct hook *h = arg;
    char *msg;

    h->run = NULL;
    /* As the kubelet's handler runner: only a transport error fails an HTTP hook; the status
     * code of a response (500 included) is not looked at. */
    if (o->ok || o->status > 0) {
        hook_finish(h, 1, "");
        return;
    }
    msg = xasprintf("%s for Container \"%s\" in Pod \"%s\" failed - error: %s", h->what,
                    h->container, h->pod_ref, o->output);
    hook_finish(h, 0, msg);
    free(msg);
}

/* "[/bin/sh -c exit 3]" as Go prints a []string with %v. */
static char *argv_text(const json_t *cmd)
{
    size_t i, len = 3;
    const json_t *a;
    char *s;

    json_array_foreach(cmd, i, a) len +=
        strlen(json_string_value(a) ? json_string_value(a) : "") + 1;
    s = xcalloc(1, len);
    strcat(s, "[");
    json_array_foreach(cmd, i, a)
    {
        if (i)
            strcat(s, " ");
        strcat(s, json_string_value(a) ? json_string_value(a) : "");
    }
    strcat(s, "]");
    return s;
}

/* Reports a result from the loop (never from inside hook_run). */
static void hook_report_later(struct hook *h, int64_t ms, int ok, const char *msg)
{
    h->ok_now = ok;
    free(h->msg_now);
    h->msg_now = xstrdup(msg ? msg : "");
    loop_timer_start(h->loop, &h->sleep, ms);
}

static void hook_start(struct hook *h, const struct container_target *t)
{
    const json_t *exec = json_object_get(h->handler, "exec");
    const json_t *http = json_object_get(h->handler, "httpGet");
    const json_t *sleep = json_object_get(h->handler, "sleep");
    int64_t limit = h->timeout_ms > 0 ? h->timeout_ms : HOOK_NO_LIMIT_MS;
    char *msg;

    if (json_is_object(exec)) {
        char *argv = argv_text(json_object_get(exec, "command"));
        h->what = xasprintf("Exec lifecycle hook (%s)", argv);
        free(argv);
        h->run = probe__run_start(h->loop, PROBE_EXEC, exec, t, limit, on_exec_done, h);
    } else if (json_is_object(http)) {
        h->what =
            xasprintf("HTTP lifecycle hook (%s)", jx_str(http, "path") ? jx_str(http, "path") : "");
        h->run = probe__run_start(h->loop, PROBE_HTTP, http, t, limit, on_http_done, h);
    } else if (json_is_object(sleep)) {
        json_int_t s = jx_int(sleep, "seconds", 0);
        h->what = xasprintf("Sleep lifecycle hook (%lld)", (long long)s);
        /* The sleep ends early when the budget ends: the timeout timer fires first. */
        hook_report_later(h, s < 0 ? 0 : s * 1000, 1, "");
    } else if (json_is_object(json_object_get(h->handler, "tcpSocket"))) {
        h->what = xstrdup("TCPSocket lifecycle hook");
        log_warn("hooks",
                 "msg=\"tcpSocket lifecycle handlers are deprecated and do nothing\" "
                 "pod=%s container=%s",
                 h->pod_ref, h->container);
        hook_report_later(h, 0, 1, "");
    } else {
        h->what = xstrdup("Lifecycle hook");
        msg = xasprintf("Cannot run handler: no exec, httpGet, sleep or tcpSocket action for "
                        "Container \"%s\" in Pod \"%s\"",
                        h->container, h->pod_ref);
        hook_report_later(h, 0, 0, msg);
        free(msg);
    }
}

struct hook *hook_run(struct loop *loop, const json_t *handler, const struct container_target *t,
                      int64_t timeout_ms, hook_done_fn *done, void *ctx)
{
    struct hook *h = xcalloc(1, sizeof *h);
    const char *slash;

    h->loop = loop;
    h->done = done;
    h->ctx = ctx;
    h->timeout_ms = timeout_ms;
    h->handler = json_is_object(handler) ? json_deep_copy(handler) : json_object();
    h->container = xstrdup(t->container ? t->container : "");
    if (t->pod_ref)
        h->pod_ref = xstrdup(t->pod_ref);
    else if (t->pod_dir && (slash = strrchr(t->pod_dir, '/')))
        h->pod_ref = xstrdup(slash + 1);
    else
        h->pod_ref = xstrdup(t->pod_dir ? t->pod_dir : "");
    loop_timer_init(&h->timeout, on_timeout, h);
    loop_timer_init(&h->sleep, on_sleep, h);
    if (timeout_ms > 0)
        loop_timer_start(loop, &h->timeout, timeout_ms);
    hook_start(h, t);
    return h;
}
