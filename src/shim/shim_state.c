/* The shim's state file, <pod-dir>/state.json: the pod's sandbox and every container's pid,
 * start time, exit code/signal, finish time and restart count. It is always replaced whole
 * (temp file, fsync, rename), so a reader never sees a torn file, even after kill -9. */
#include "shim/shim-int.h"

#include "core/file.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void shim__time_fmt(const struct timespec *ts, char *out)
{
    struct tm tm;
    size_t n;

    gmtime_r(&ts->tv_sec, &tm);
    n = strftime(out, 28, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%09ldZ", ts->tv_nsec % 1000000000L);
}

static json_t *time_json(const struct timespec *ts)
{
    char buf[40];

    shim__time_fmt(ts, buf);
    return json_string(buf);
}

static json_t *term_json(const struct shim_term *t)
{
    json_t *o = json_object();

    json_object_set_new(o, "exitCode", json_integer(t->exit_code));
    if (t->signal)
        json_object_set_new(o, "signal", json_integer(t->signal));
    if (t->reason[0])
        json_object_set_new(o, "reason", json_string(t->reason));
    if (t->message[0])
        json_object_set_new(o, "message", json_string(t->message));
    if (t->started.tv_sec)
        json_object_set_new(o, "startedAt", time_json(&t->started));
    json_object_set_new(o, "finishedAt", time_json(&t->finished));
    return o;
}

static json_t *ctr_json(const struct shim_ctr *c)
{
    json_t *o = json_object();

    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "restartCount", json_integer(c->restart_count));
    if (c->rt_id)
        json_object_set_new(o, "containerId", json_string(c->rt_id));
    if (c->running) {
        json_object_set_new(o, "state", json_string("running"));
        json_object_set_new(o, "pid", json_integer(c->pid));
        json_object_set_new(o, "startedAt", time_json(&c->started));
    } else {
        json_object_set_new(o, "state", json_string("exited"));
        if (c->term.valid)
            json_object_set_new(o, "terminated", term_json(&c->term));
    }
    if (c->last.valid)
        json_object_set_new(o, "lastTerminated", term_json(&c->last));
    return o;
}

static const char *mode_name(int mode)
{
    switch (mode) {
    case 1:
        return "netns";
    case 2:
        return "userns";
    default:
        return "host";
    }
}

json_t *shim__state_json(struct shim *s)
{
    json_t *o = json_object(), *a = json_array();
    pid_t pid = getpid();

    json_object_set_new(o, "shimPid", json_integer(pid));
    json_object_set_new(o, "startedAt", time_json(&s->started));
    json_object_set_new(o, "network", json_string(mode_name(s->netns_mode)));
    if (s->netns_mode) {
        json_object_set_new(o, "netns", json_sprintf("/proc/%d/ns/net", (int)pid));
        if (s->netns_mode == 2)
            json_object_set_new(o, "userns", json_sprintf("/proc/%d/ns/user", (int)pid));
    } else {
        json_object_set_new(o, "netns", json_null());
    }
    json_object_set_new(o, "podIP", s->pod_ip ? json_string(s->pod_ip) : json_null());
    /* shareProcessNamespace: the namespace containers join (config.json's pid "path"). */
    json_object_set_new(o, "pidns",
                        s->pause_pid ? json_sprintf("/proc/%d/ns/pid", (int)s->pause_pid)
                                     : json_null());
    json_object_set_new(o, "stopped", json_boolean(s->stopping));
    for (size_t i = 0; i < s->nctrs; i++)
        json_array_append_new(a, ctr_json(s->ctrs[i]));
    json_object_set_new(o, "containers", a);
    return o;
}

int shim__state_write(struct shim *s)
{
    json_t *st = shim__state_json(s);
    char *text = json_dumps(st, JSON_INDENT(1) | JSON_SORT_KEYS), path[4096];
    int rc;

    json_decref(st);
    snprintf(path, sizeof path, "%s/state.json", s->pod_dir);
    rc = file_write_atomic(path, text, strlen(text), 0644);
    if (rc < 0)
        log_error("shim", "msg=\"cannot write state.json\" err=\"%s\"", strerror(-rc));
    free(text);
    return rc;
}
