/* Resource metrics readings and their text: two-reading series, CPU rates, canonical quantity
 * and duration strings, and the readers of a container's cgroup (v1 cpuacct/memory or v2) and
 * of the node's /proc/stat and /proc/meminfo. The working set is usage minus inactive file, as
 * cAdvisor computes it for the kubelet (and so for metrics-server). */
#include "node/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

void metrics_series_reset(struct mseries *m)
{
    free(m->cpu_dir);
    free(m->mem_dir);
    memset(m, 0, sizeof *m);
}

void metrics_series_release(struct mseries *m)
{
    metrics_series_reset(m);
}

void metrics_series_push(struct mseries *m, const struct msample *s)
{
    if (m->n > 0) {
        const struct msample *last = &m->s[m->n - 1];

        if (s->cpu_ns < last->cpu_ns || s->mono_ms <= last->mono_ms)
            m->n = 0; /* restarted counter or clock trouble: no rate across it */
    }
    if (m->n == 2) {
        m->s[0] = m->s[1];
        m->n = 1;
    }
    m->s[m->n++] = *s;
}

int metrics_series_rate(const struct mseries *m, uint64_t *nanocores, int64_t *window_ms)
{
    int64_t dt;
    uint64_t dc;

    if (m->n < 2)
        return -1;
    dt = m->s[1].mono_ms - m->s[0].mono_ms;
    if (dt <= 0 || m->s[1].cpu_ns < m->s[0].cpu_ns)
        return -1;
    dc = m->s[1].cpu_ns - m->s[0].cpu_ns;
    /* ns of CPU per ms of wall time, times 1000, is ns per s: nanocores, truncated as
     * metrics-server's int64(float64 rate) does. */
    *nanocores = (uint64_t)(((long double)dc * 1000.0L) / (long double)dt);
    *window_ms = dt;
    return 0;
}

/* DecimalSI canonical form of v * 10^exp (exp a multiple of 3 from -9): the largest exponent
 * that keeps the mantissa an integer. */
static void decimal_si(uint64_t v, int exp, char *buf, size_t n)
{
    static const char *const suffix[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};

    if (v == 0) {
        snprintf(buf, n, "0");
        return;
    }
    while (v % 1000 == 0 && exp < 18) {
        v /= 1000;
        exp += 3;
    }
    snprintf(buf, n, "%" PRIu64 "%s", v, suffix[(exp + 9) / 3]);
}

void metrics_cpu_quantity(uint64_t nanocores, char *buf, size_t n)
{
    decimal_si(nanocores, -9, buf, n);
}

void metrics_mem_quantity(uint64_t bytes, char *buf, size_t n)
{
    static const char *const suffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int e = 0;

    /* Go's Quantity prints BinarySI values in (-1024, 1024) as DecimalSI. */
    if (bytes < 1024) {
        decimal_si(bytes, 0, buf, n);
        return;
    }
    while (bytes % 1024 == 0 && e < 6) {
        bytes /= 1024;
        e++;
    }
    snprintf(buf, n, "%" PRIu64 "%s", bytes, suffix[e]);
}

void metrics_duration(int64_t ms, char *buf, size_t n)
{
    int64_t h, m, sec;
    char f[8] = "";

    if (ms < 0 && n > 1) {
        buf[0] = '-';
        metrics_duration(-ms, buf + 1, n - 1);
        return;
    }
    if (ms < 1000) {
        snprintf(buf, n, ms ? "%" PRId64 "ms" : "0s", ms);
        return;
    }
    h = ms / 3600000, m = ms / 60000 % 60, sec = ms / 1000 % 60;
    if (ms % 1000) {
        int k = 3;

        snprintf(f, sizeof f, ".%03" PRId64, ms % 1000);
        while (f[k] == '0') /* Go prints the fraction without trailing zeros */
            f[k--] = 0;
    }
    if (h)
        snprintf(buf, n, "%" PRId64 "h%" PRId64 "m%" PRId64 "%ss", h, m, sec, f);
    else if (m)
        snprintf(buf, n, "%" PRId64 "m%" PRId64 "%ss", m, sec, f);
    else
        snprintf(buf, n, "%" PRId64 "%ss", sec, f);
}

json_t *metrics_series_json(const struct mseries *m)
{
    uint64_t nc;
    int64_t win;
    char cpu[32], mem[32], w[48], ts[32];
    time_t t;
    struct tm tm;

    if (metrics_series_rate(m, &nc, &win) < 0)
        return NULL;
    t = (time_t)m->s[1].wall_s;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    metrics_duration(win, w, sizeof w);
    metrics_cpu_quantity(nc, cpu, sizeof cpu);
    metrics_mem_quantity(m->s[1].ws_bytes, mem, sizeof mem);
    return json_pack("{s:s,s:s,s:{s:s,s:s}}", "timestamp", ts, "window", w, "usage", "cpu", cpu,
                     "memory", mem);
}

/* ---- readers ---- */

static int has_token(const char *list, const char *tok)
{
    size_t n = strlen(tok);

    for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, tok, n) == 0 && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

static char *dir_if(const char *base, const char *path, const char *file)
{
    char p[4096];

    snprintf(p, sizeof p, "%s%s/%s", base, path, file);
    if (access(p, R_OK) != 0)
        return NULL;
    snprintf(p, sizeof p, "%s%s", base, path);
    return strdup(p);
}

int metrics_cgroup_dirs(pid_t pid, char **cpu_dir, char **mem_dir)
{
    char path[64], line[4096], base[4352], v2[4096] = "";
    FILE *f;

    *cpu_dir = *mem_dir = NULL;
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    if (!(f = fopen(path, "re")))
        return -1;
    while (fgets(line, sizeof line, f)) {
        char *ctrl = strchr(line, ':'), *cg = ctrl ? strchr(ctrl + 1, ':') : NULL;

        if (!cg)
            continue;
        *cg++ = 0;
        cg[strcspn(cg, "\n")] = 0;
        ctrl++;
        if (!*ctrl) {
            snprintf(v2, sizeof v2, "%s", cg);
            continue;
        }
        snprintf(base, sizeof base, "/sys/fs/cgroup/%s", ctrl);
        if (!*cpu_dir && has_token(ctrl, "cpuacct"))
            *cpu_dir = dir_if(base, cg, "cpuacct.usage");
        if (!*mem_dir && has_token(ctrl, "memory"))
            *mem_dir = dir_if(base, cg, "memory.usage_in_bytes");
    }
    fclose(f);
    /* cgroup v2: mounted at /sys/fs/cgroup, or at .../unified on a hybrid host. */
    if (*v2 && (!*cpu_dir || !*mem_dir)) {
        const char *b2 = access("/sys/fs/cgroup/unified", F_OK) == 0 ? "/sys/fs/cgroup/unified"
                                                                     : "/sys/fs/cgroup";

        if (!*cpu_dir)
            *cpu_dir = dir_if(b2, v2, "cpu.stat");
        if (!*mem_dir)
            *mem_dir = dir_if(b2, v2, "memory.current");
    }
    if (*cpu_dir && *mem_dir)
        return 0;
    free(*cpu_dir), free(*mem_dir);
    *cpu_dir = *mem_dir = NULL;
    return -1;
}

/* The first "key value" of a file of such lines; -1 when absent. */
static long long keyed(const char *dir, const char *file, const char *key)
{
    char p[4352], line[256];
    long long v = -1;
    size_t kl = strlen(key);
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", dir, file);
    if (!(f = fopen(p, "re")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
            v = strtoll(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long long single(const char *dir, const char *file)
{
    char p[4352], line[64];
    long long v = -1;
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", dir, file);
    if (!(f = fopen(p, "re")))
        return -1;
    if (fgets(line, sizeof line, f))
        v = strtoll(line, NULL, 10);
    fclose(f);
    return v;
}

static void now(struct msample *s)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    s->mono_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    s->wall_s = (int64_t)time(NULL);
}

int metrics_cgroup_read(const char *cpu_dir, const char *mem_dir, struct msample *s)
{
    long long cpu, usage, inactive;

    if ((cpu = single(cpu_dir, "cpuacct.usage")) < 0 &&
        (cpu = keyed(cpu_dir, "cpu.stat", "usage_usec")) >= 0)
        cpu *= 1000;
    if ((usage = single(mem_dir, "memory.usage_in_bytes")) >= 0)
        inactive = keyed(mem_dir, "memory.stat", "total_inactive_file");
    else if ((usage = single(mem_dir, "memory.current")) >= 0)
        inactive = keyed(mem_dir, "memory.stat", "inactive_file");
    else
        inactive = 0;
    if (cpu < 0 || usage < 0)
        return -1;
    now(s);
    s->cpu_ns = (uint64_t)cpu;
    s->ws_bytes = inactive > 0 && inactive < usage ? (uint64_t)(usage - inactive)
                  : inactive >= usage              ? 0
                                                   : (uint64_t)usage;
    return 0;
}

static long long meminfo(const char *text, const char *key)
{
    const char *p = strstr(text, key);

    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Node CPU: user+nice+system+irq+softirq+steal of /proc/stat's cpu line (idle and iowait are
 * not use). Memory: the root cgroup's usage (MemTotal - MemFree) minus Inactive(file). */
int metrics_node_read(struct msample *s)
{
    unsigned long long u, ni, sy, id, io, irq, sirq, st = 0;
    char buf[8192];
    long long total, mfree, inact;
    long tck = sysconf(_SC_CLK_TCK);
    size_t n;
    FILE *f = fopen("/proc/stat", "re");

    if (!f)
        return -1;
    n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &ni, &sy, &id, &io, &irq,
               &sirq, &st);
    fclose(f);
    if (n < 7 || tck <= 0 || !(f = fopen("/proc/meminfo", "re")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    total = meminfo(buf, "MemTotal:"), mfree = meminfo(buf, "MemFree:");
    inact = meminfo(buf, "Inactive(file):");
    if (total < 0 || mfree < 0)
        return -1;
    now(s);
    s->cpu_ns = (u + ni + sy + irq + sirq + st) * (1000000000ULL / (unsigned long long)tck);
    total -= mfree + (inact > 0 ? inact : 0);
    s->ws_bytes = total > 0 ? (uint64_t)total * 1024 : 0;
    return 0;
}
