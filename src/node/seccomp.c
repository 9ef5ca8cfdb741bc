/* Seccomp profiles as OCI linux.seccomp objects. The RuntimeDefault tables follow containerd
 * 1.7's contrib/seccomp/seccomp_default.go (the list with futex_waitv, memfd_secret, landlock_*
 * and clone3 -> ENOSYS without CAP_SYS_ADMIN); they are kroll's own data, kept as name tables
 * so a diff against a newer containerd stays readable. The Localhost converter accepts the
 * docker profile format, as moby's profiles/seccomp/seccomp_linux.go reads it. */
#include "node/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- RuntimeDefault data ---- */

/* Name tables stay packed, to be read and diffed as lists. */
/* clang-format off */

static const char *const allow_base[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown",
    "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
    "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
    "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv",
    "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
    "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
    "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
    "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
    "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
    "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "nanosleep", "newfstatat", "_newselect", "open", "openat",
    "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "poll", "ppoll",
    "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
    "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
    "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
    "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
    "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
    "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
    "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
    "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
    "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
    "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
    "sigprocmask", "sigreturn", "socket", "socketcall", "socketpair", "splice", "stat",
    "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
    "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
    "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork",
    "vmsplice", "wait4", "waitid", "waitpid", "write", "writev"};

/* personality(2) is allowed for these personas only: LINUX, LINUX32 (0x8), UNAME26 (0x20000)
 * and their combination, and the 0xffffffff query. */
static const json_int_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

static const char *const amd64_extra[] = {"arch_prctl", "modify_ldt"};
static const char *const arm64_extra[] = {"arm_fadvise64_64", "arm_sync_file_range",
                                          "sync_file_range2", "breakpoint", "cacheflush",
                                          "set_tls"};

static const char *const cap_dac_read_search[] = {"open_by_handle_at", NULL};
static const char *const cap_sys_admin[] = {
    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
    "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree",
    "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
    "syslog", "umount", "umount2", "unshare", NULL};
static const char *const cap_sys_boot[] = {"reboot", NULL};
static const char *const cap_sys_chroot[] = {"chroot", NULL};
static const char *const cap_sys_module[] = {"delete_module", "init_module", "finit_module",
                                             NULL};
static const char *const cap_sys_pacct[] = {"acct", NULL};
static const char *const cap_sys_ptrace[] = {"kcmp", "pidfd_getfd", "process_madvise",
                                             "process_vm_readv", "process_vm_writev", "ptrace",
                                             NULL};
static const char *const cap_sys_rawio[] = {"iopl", "ioperm", NULL};
static const char *const cap_sys_time[] = {"settimeofday", "stime", "clock_settime",
                                           "clock_settime64", NULL};
static const char *const cap_sys_tty_config[] = {"vhangup", NULL};
static const char *const cap_syslog[] = {"syslog", NULL};
static const char *const cap_bpf[] = {"bpf", NULL};
static const char *const cap_perfmon[] = {"perf_event_open", NULL};

static const struct {
    const char *cap;
    const char *const *names;
} cap_rules[] = {
    {"CAP_DAC_READ_SEARCH", cap_dac_read_search}, {"CAP_SYS_ADMIN", cap_sys_admin},
    {"CAP_SYS_BOOT", cap_sys_boot},               {"CAP_SYS_CHROOT", cap_sys_chroot},
    {"CAP_SYS_MODULE", cap_sys_module},           {"CAP_SYS_PACCT", cap_sys_pacct},
    {"CAP_SYS_PTRACE", cap_sys_ptrace},           {"CAP_SYS_RAWIO", cap_sys_rawio},
    {"CAP_SYS_TIME", cap_sys_time},               {"CAP_SYS_TTY_CONFIG", cap_sys_tty_config},
    {"CAP_SYSLOG", cap_syslog},                   {"CAP_BPF", cap_bpf},
    {"CAP_PERFMON", cap_perfmon},
};

/* clang-format on */

/* The namespace flags an unprivileged clone(2) may not pass. */
#define CLONE_NS_FLAGS                                                                             \
    (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |     \
     CLONE_NEWCGROUP)

/* ---- helpers ---- */

/* The host's architecture as Go names it (docker profiles' includes.arches use these) and
 * its native SCMP_ARCH; compile-time, since kroll runs on the architecture it was built for. */
#if defined(__x86_64__)
static const char *const host_goarch = "amd64", *const host_native = "SCMP_ARCH_X86_64";
static const char *const host_arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
static const char *const host_goarch = "arm64", *const host_native = "SCMP_ARCH_AARCH64";
static const char *const host_arches[] = {"SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"};
#else
static const char *const host_goarch = "", *const host_native = "";
static const char *const host_arches[] = {NULL};
#endif

static int list_has(const json_t *caps, const char *cap)
{
    size_t i;
    json_t *c;

    json_array_foreach(caps, i,
                       c) if (json_is_string(c) && strcmp(json_string_value(c), cap) == 0) return 1;
    return 0;
}

static json_t *names_json(const char *const *names, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n && names[i]; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *rule(json_t *names_take, const char *action)
{
    return json_pack("{s:o,s:s}", "names", names_take, "action", action);
}

static json_t *rule_arg(const char *name, json_int_t index, json_int_t value, const char *op)
{
    json_t *r = rule(json_pack("[s]", name), "SCMP_ACT_ALLOW");

    json_object_set_new(r, "args",
                        json_pack("[{s:I,s:I,s:I,s:s}]", "index", index, "value", value, "valueTwo",
                                  (json_int_t)0, "op", op));
    return r;
}

/* Compares the running kernel with "MAJOR.MINOR": 1 when at least that, 0 when older. */
static int kernel_at_least(int major, int minor)
{
    struct utsname u;
    int ma = 0, mi = 0;

    if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) < 1)
        return 0;
    return ma > major || (ma == major && mi >= minor);
}

/* ---- RuntimeDefault ---- */

json_t *seccomp_runtime_default(const json_t *caps)
{
    json_t *p = json_object(), *rules = json_array(), *arches = json_array();
    int admin = list_has(caps, "CAP_SYS_ADMIN");

    for (size_t i = 0; i < N(host_arches) && host_arches[i]; i++)
        json_array_append_new(arches, json_string(host_arches[i]));
    json_object_set_new(p, "defaultAction", json_string("SCMP_ACT_ERRNO"));
    json_object_set_new(p, "defaultErrnoRet", json_integer(EPERM));
    json_object_set_new(p, "architectures", arches);
    json_array_append_new(rules, rule(names_json(allow_base, N(allow_base)), "SCMP_ACT_ALLOW"));
    for (size_t i = 0; i < N(personas); i++)
        json_array_append_new(rules, rule_arg("personality", 0, personas[i], "SCMP_CMP_EQ"));
    /* containerd allows ptrace from kernel 4.8 on, where it no longer bypasses seccomp. */
    if (kernel_at_least(4, 8))
        json_array_append_new(rules, rule(json_pack("[s]", "ptrace"), "SCMP_ACT_ALLOW"));
    if (strcmp(host_goarch, "amd64") == 0)
        json_array_append_new(rules,
                              rule(names_json(amd64_extra, N(amd64_extra)), "SCMP_ACT_ALLOW"));
    else if (strcmp(host_goarch, "arm64") == 0)
        json_array_append_new(rules,
                              rule(names_json(arm64_extra, N(arm64_extra)), "SCMP_ACT_ALLOW"));
    for (size_t i = 0; i < N(cap_rules); i++)
        if (list_has(caps, cap_rules[i].cap))
            json_array_append_new(rules,
                                  rule(names_json(cap_rules[i].names, SIZE_MAX), "SCMP_ACT_ALLOW"));
    if (!admin) {
        json_t *c3 = rule(json_pack("[s]", "clone3"), "SCMP_ACT_ERRNO");

        /* clone's flags are its first argument everywhere but s390, which kroll does not
         * build for. */
        json_array_append_new(rules, rule_arg("clone", 0, CLONE_NS_FLAGS, "SCMP_CMP_MASKED_EQ"));
        /* ENOSYS, not EPERM: glibc then falls back to clone, which the rule above filters
         * (clone3's flags live in memory, out of seccomp's reach). */
        json_object_set_new(c3, "errnoRet", json_integer(ENOSYS));
        json_array_append_new(rules, c3);
    }
    json_object_set_new(p, "syscalls", rules);
    return p;
}

/* ---- Localhost: loading ---- */

/* openat2(RESOLVE_BENEATH) keeps the open inside the profile directory whatever symlinks the
 * name crosses; glibc 2.36 has no wrapper. */
struct open_how_ {
    unsigned long long flags, mode, resolve;
};
#define RESOLVE_BENEATH_ 0x08
#define RESOLVE_NO_MAGICLINKS_ 0x02

static int name_check(const char *name, struct err *err)
{
    const char *p = name;

    if (!name || !*name)
        return err_set(err, -E_INVALID, "seccomp: localhostProfile is empty");
    if (*name == '/')
        return err_set(err, -E_INVALID,
                       "seccomp: localhost profile \"%s\" must be a relative "
                       "path",
                       name);
    while (*p) {
        size_t n = strcspn(p, "/");

        if (n == 2 && p[0] == '.' && p[1] == '.')
            return err_set(err, -E_INVALID,
                           "seccomp: localhost profile \"%s\" must not contain "
                           "'..'",
                           name);
        p += n;
        p += *p == '/';
    }
    if (strlen(name) >= PATH_MAX)
        return err_set(err, -E_INVALID, "seccomp: localhost profile name is too long");
    return 0;
}

/* Kernels before 5.6 (and valgrind) lack openat2: resolve the path and check that it is still
 * under the directory, then open what was checked without following a last-moment symlink. */
static int open_beneath_fallback(const char *dir, const char *name)
{
    char *full = xasprintf("%s/%s", dir, name), rdir[PATH_MAX], rfull[PATH_MAX];
    size_t n;
    int fd = -1;

    if (realpath(dir, rdir) && realpath(full, rfull)) {
        n = strlen(rdir);
        if (strncmp(rfull, rdir, n) == 0 && rfull[n] == '/')
            fd = open(rfull, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        else
            errno = EXDEV;
    }
    free(full);
    return fd;
}

static int open_beneath(int dirfd, const char *dir, const char *name)
{
    struct open_how_ how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                            .resolve = RESOLVE_BENEATH_ | RESOLVE_NO_MAGICLINKS_};
    int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof how);

    return fd < 0 && errno == ENOSYS ? open_beneath_fallback(dir, name) : fd;
}

static int read_all(int fd, const char *name, char **buf, size_t *len, struct err *err)
{
    struct stat st;
    ssize_t r;
    size_t n = 0;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return err_set(err, -E_INVALID,
                       "seccomp: localhost profile \"%s\" is not a regular "
                       "file",
                       name);
    if (st.st_size > SECCOMP_PROFILE_MAX_BYTES)
        return err_set(err, -E_TOO_LARGE,
                       "seccomp: localhost profile \"%s\" is larger than "
                       "%d bytes",
                       name, SECCOMP_PROFILE_MAX_BYTES);
    *buf = xmalloc(SECCOMP_PROFILE_MAX_BYTES + 1);
    while ((r = read(fd, *buf + n, SECCOMP_PROFILE_MAX_BYTES + 1 - n)) > 0)
        if ((n += (size_t)r) > SECCOMP_PROFILE_MAX_BYTES)
            break;
    if (r < 0 || n > SECCOMP_PROFILE_MAX_BYTES) {
        free(*buf);
        *buf = NULL;
        return err_set(err, r < 0 ? -errno : -E_TOO_LARGE,
                       "seccomp: cannot read localhost "
                       "profile \"%s\": %s",
                       name, r < 0 ? strerror(errno) : "too large");
    }
    *len = n;
    return 0;
}

int seccomp_localhost(const char *data_dir, const char *name, const json_t *caps, json_t **out,
                      struct err *err)
{
    char *dir, *buf = NULL;
    size_t len = 0;
    int dfd, fd, rc;

    *out = NULL;
    if ((rc = name_check(name, err)) < 0)
        return rc;
    dir = xasprintf("%s/seccomp", data_dir);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        rc = err_set(err, -errno, "seccomp: cannot open localhost profile \"%s\": %s: %s", name,
                     dir, strerror(errno));
        free(dir);
        return rc;
    }
    fd = open_beneath(dfd, dir, name);
    close(dfd);
    free(dir);
    if (fd < 0)
        return err_set(err, -errno, "seccomp: cannot open localhost profile \"%s\": %s", name,
                       errno == EXDEV ? "it leads out of the profile directory" : strerror(errno));
    rc = read_all(fd, name, &buf, &len, err);
    close(fd);
    if (rc < 0)
        return rc;
    rc = seccomp_profile_convert(buf, len, caps, out, err);
    free(buf);
    if (rc < 0) {
        char m[sizeof err->msg];

        snprintf(m, sizeof m, "%s", err->msg);
        err_set(err, rc, "seccomp: localhost profile \"%s\": %s", name, m);
    }
    return rc;
}

/* ---- Localhost: conversion ---- */

/* clang-format off */
static const char *const actions[] = {"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS",
                                      "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
                                      "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",
                                      "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", NULL};
static const char *const ops[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
                                  "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                  "SCMP_CMP_MASKED_EQ", NULL};
static const char *const arch_names[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",    "SCMP_ARCH_X32",      "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",      "SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64",  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64",  "SCMP_ARCH_RISCV64",  NULL};
static const char *const flag_names[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                         "SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL};

/* clang-format on */

static int in_set(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

/* A string from set at o[key]; absent is fine unless required. */
static int enum_field(const json_t *o, const char *key, const char *const *set, int required,
                      const char *what, const char *field, struct err *err)
{
    const json_t *v = json_object_get(o, key);

    if (!v)
        return required ? err_set(err, -E_INVALID, "%s%s is required", field, key) : 0;
    if (!json_is_string(v))
        return err_set(err, -E_INVALID, "%s%s must be a string", field, key);
    if (!in_set(json_string_value(v), set))
        return err_set(err, -E_INVALID, "%s%s: unknown %s \"%s\"", field, key, what,
                       json_string_value(v));
    return 0;
}

/* Copies a list of known strings (architectures, flags) into dst. */
static int str_list(const json_t *v, const char *const *set, const char *what, const char *field,
                    json_t *dst, struct err *err)
{
    size_t i;
    json_t *e;

    if (v && !json_is_array(v))
        return err_set(err, -E_INVALID, "%s must be a list", field);
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || !in_set(json_string_value(e), set))
            return err_set(err, -E_INVALID, "%s[%zu]: unknown %s %s%s%s", field, i, what,
                           json_is_string(e) ? "\"" : "",
                           json_is_string(e) ? json_string_value(e) : "(not a string)",
                           json_is_string(e) ? "\"" : "");
        json_array_append(dst, e);
    }
    return 0;
}

static int arches_convert(const json_t *prof, json_t *out, struct err *err)
{
    const json_t *arches = json_object_get(prof, "architectures");
    const json_t *map = json_object_get(prof, "archMap");
    json_t *dst = json_array(), *m;
    size_t i;
    int rc;

    if (json_array_size(arches) && json_array_size(map))
        rc = err_set(err, -E_INVALID,
                     "both 'architectures' and 'archMap' are specified, use "
                     "either 'architectures' or 'archMap'");
    else if ((rc = str_list(arches, arch_names, "architecture", "architectures", dst, err)) < 0)
        ;
    else if (map && !json_is_array(map))
        rc = err_set(err, -E_INVALID, "archMap must be a list");
    json_array_foreach(rc < 0 ? NULL : map, i, m)
    {
        char f[64];

        snprintf(f, sizeof f, "archMap[%zu].", i);
        if ((rc = enum_field(m, "architecture", arch_names, 1, "architecture", f, err)) < 0)
            break;
        /* Only the host's own entry counts, with its sub-architectures (moby's rule). */
        if (!*host_native || strcmp(jx_str(m, "architecture"), host_native) != 0)
            continue;
        json_array_append(dst, json_object_get(m, "architecture"));
        snprintf(f, sizeof f, "archMap[%zu].subArchitectures", i);
        if ((rc = str_list(json_object_get(m, "subArchitectures"), arch_names, "architecture", f,
                           dst, err)) < 0)
            break;
    }
    if (rc == 0 && json_array_size(dst))
        json_object_set(out, "architectures", dst);
    json_decref(dst);
    return rc;
}

static int arg_convert(const json_t *a, const char *field, json_t *dst, struct err *err)
{
    static const char *const keys[] = {"index", "value", "valueTwo"};
    json_t *o = json_object();
    int rc;

    if (!json_is_object(a)) {
        json_decref(o);
        return err_set(err, -E_INVALID, "%s must be an object", field);
    }
    for (size_t k = 0; k < N(keys); k++) {
        const json_t *v = json_object_get(a, keys[k]);

        if (!v && k == 2)
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (k == 0 && json_integer_value(v) > 5)) {
            json_decref(o);
            return err_set(err, -E_INVALID, "%s.%s must be %s", field, keys[k],
                           k == 0 ? "an argument index from 0 to 5" : "a non-negative integer");
        }
        json_object_set(o, keys[k], (json_t *)v);
    }
    if ((rc = enum_field(a, "op", ops, 1, "operator", field, err)) < 0) {
        json_decref(o);
        return rc;
    }
    json_object_set(o, "op", json_object_get(a, "op"));
    json_array_append_new(dst, o);
    return 0;
}

/* Parses "MAJOR.MINOR" of includes/excludes.minKernel. */
static int min_kernel(const json_t *v, const char *field, int *met, struct err *err)
{
    int ma, mi, n = 0;
    const char *s = json_string_value(v);

    if (!v)
        return 0;
    if (!s || sscanf(s, "%d.%d%n", &ma, &mi, &n) != 2 || s[n] || ma < 0 || mi < 0)
        return err_set(err, -E_INVALID, "%s.minKernel must be \"MAJOR.MINOR\"", field);
    *met = kernel_at_least(ma, mi);
    return 0;
}

/* Whether the rule applies to this host and bounding set: *keep is 0 when an includes
 * condition fails or an excludes condition holds (moby's rules). */
static int conds_eval(const json_t *r, const char *field, const json_t *caps, int *keep,
                      struct err *err)
{
    static const char *const which[] = {"includes", "excludes"};
    char f[96];
    int rc;

    *keep = 1;
    for (int w = 0; w < 2; w++) {
        const json_t *c = json_object_get(r, which[w]), *ca, *ar, *e;
        int met = -1, any = 0, all = 1;
        size_t i;

        snprintf(f, sizeof f, "%s.%s", field, which[w]);
        if (!c || json_is_null(c))
            continue;
        ca = json_object_get(c, "caps");
        ar = json_object_get(c, "arches");
        if (!json_is_object(c) || (ca && !json_is_array(ca)) || (ar && !json_is_array(ar)))
            return err_set(err, -E_INVALID,
                           "%s must be {caps: [...], arches: [...], "
                           "minKernel: \"X.Y\"}",
                           f);
        if ((rc = min_kernel(json_object_get(c, "minKernel"), f, &met, err)) < 0)
            return rc;
        json_array_foreach(ca, i, e)
        {
            int has = list_has(caps, json_string_value(e) ?: "");

            any |= has;
            all &= has;
        }
        if (w == 0 && ((json_array_size(ar) && !list_has(ar, host_goarch)) ||
                       (json_array_size(ca) && !all) || met == 0))
            *keep = 0;
        if (w == 1 && ((json_array_size(ar) && list_has(ar, host_goarch)) ||
                       (json_array_size(ca) && any) || met == 1))
            *keep = 0;
    }
    return 0;
}

static int names_collect(const json_t *r, const char *field, json_t *dst, struct err *err)
{
    const json_t *name = json_object_get(r, "name"), *names = json_object_get(r, "names"), *e;
    size_t i;

    if (name && json_array_size(names))
        return err_set(err, -E_INVALID, "%s: use either 'name' or 'names'", field);
    if (name) {
        if (!json_is_string(name) || !*json_string_value(name))
            return err_set(err, -E_INVALID, "%s.name must be a syscall name", field);
        json_array_append(dst, (json_t *)name);
    }
    if (names && !json_is_array(names))
        return err_set(err, -E_INVALID, "%s.names must be a list", field);
    json_array_foreach(names, i, e)
    {
        if (!json_is_string(e) || !*json_string_value(e) || strlen(json_string_value(e)) > 64)
            return err_set(err, -E_INVALID, "%s.names[%zu] must be a syscall name", field, i);
        json_array_append(dst, (json_t *)e);
    }
    if (json_array_size(dst) == 0)
        return err_set(err, -E_INVALID, "%s names no syscall", field);
    return 0;
}

/* Converts syscalls[i] (docker form) into an OCI rule appended to dst, unless its
 * includes/excludes leave it out; *nnames counts the names for the profile's bound. */
static int rule_convert(const json_t *r, size_t i, const json_t *caps, json_t *dst, size_t *nnames,
                        struct err *err)
{
    char f[48];
    json_t *o, *names = json_array(), *args = json_array(), *a;
    const json_t *eret = json_object_get(r, "errnoRet");
    size_t k;
    int keep = 0, rc = 0;

    snprintf(f, sizeof f, "syscalls[%zu]", i);
    if (!json_is_object(r))
        rc = err_set(err, -E_INVALID, "%s must be an object", f);
    else if ((rc = conds_eval(r, f, caps, &keep, err)) < 0 || !keep)
        ;
    else if ((rc = names_collect(r, f, names, err)) < 0)
        ;
    else if ((rc = enum_field(r, "action", actions, 1, "action", strcat(f, "."), err)) < 0)
        ;
    else if (eret && (!json_is_integer(eret) || json_integer_value(eret) < 0 ||
                      json_integer_value(eret) > 4095))
        rc = err_set(err, -E_INVALID, "%serrnoRet must be an errno (0 to 4095)", f);
    else if (json_object_get(r, "args") && !json_is_array(json_object_get(r, "args")))
        rc = err_set(err, -E_INVALID, "%sargs must be a list", f);
    json_array_foreach(rc < 0 || !keep ? NULL : json_object_get(r, "args"), k, a)
    {
        char af[64];

        snprintf(af, sizeof af, "%sargs[%zu]", f, k);
        if ((rc = arg_convert(a, af, args, err)) < 0)
            break;
    }
    if (rc == 0 && keep) {
        *nnames += json_array_size(names);
        o = json_pack("{s:O,s:O}", "names", names, "action", json_object_get(r, "action"));
        if (json_array_size(args))
            json_object_set(o, "args", args);
        if (eret)
            json_object_set(o, "errnoRet", (json_t *)eret);
        json_array_append_new(dst, o);
    }
    json_decref(names);
    json_decref(args);
    return rc;
}

static int top_convert(const json_t *p, json_t *out, struct err *err)
{
    const json_t *der = json_object_get(p, "defaultErrnoRet"), *lp;
    json_t *flags = json_array();
    int rc;

    if ((rc = enum_field(p, "defaultAction", actions, 1, "action", "", err)) < 0)
        goto out;
    json_object_set(out, "defaultAction", json_object_get(p, "defaultAction"));
    if (der &&
        (!json_is_integer(der) || json_integer_value(der) < 0 || json_integer_value(der) > 4095)) {
        rc = err_set(err, -E_INVALID, "defaultErrnoRet must be an errno (0 to 4095)");
        goto out;
    }
    if (der)
        json_object_set(out, "defaultErrnoRet", (json_t *)der);
    /* A notify listener is a second program kroll does not run: refused, not dropped. */
    lp = json_object_get(p, "listenerPath");
    if (lp && !(json_is_string(lp) && !*json_string_value(lp))) {
        rc = err_set(err, -E_INVALID,
                     "listenerPath: seccomp notify listeners are not "
                     "supported");
        goto out;
    }
    if ((rc = arches_convert(p, out, err)) < 0)
        goto out;
    if ((rc = str_list(json_object_get(p, "flags"), flag_names, "flag", "flags", flags, err)) < 0)
        goto out;
    if (json_array_size(flags))
        json_object_set(out, "flags", flags);
out:
    json_decref(flags);
    return rc;
}

int seccomp_profile_convert(const char *text, size_t len, const json_t *caps, json_t **out,
                            struct err *err)
{
    json_error_t je;
    json_t *p, *o = json_object(), *rules = json_array(), *r;
    const json_t *sc;
    size_t i, nnames = 0;
    int rc;

    *out = NULL;
    if (len > SECCOMP_PROFILE_MAX_BYTES) {
        rc = err_set(err, -E_TOO_LARGE, "profile is larger than %d bytes",
                     SECCOMP_PROFILE_MAX_BYTES);
        p = NULL;
        goto out;
    }
    p = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(p)) {
        rc = err_set(err, -E_INVALID, "not a JSON object%s%s", p ? "" : ": ", p ? "" : je.text);
        goto out;
    }
    if ((rc = top_convert(p, o, err)) < 0)
        goto out;
    sc = json_object_get(p, "syscalls");
    if (sc && !json_is_array(sc)) {
        rc = err_set(err, -E_INVALID, "syscalls must be a list");
        goto out;
    }
    if (json_array_size(sc) > SECCOMP_MAX_RULES) {
        rc = err_set(err, -E_TOO_LARGE, "more than %d syscall rules", SECCOMP_MAX_RULES);
        goto out;
    }
    json_array_foreach(sc, i,
                       r) if ((rc = rule_convert(r, i, caps, rules, &nnames, err)) < 0) goto out;
    if (nnames > SECCOMP_MAX_NAMES) {
        rc = err_set(err, -E_TOO_LARGE, "more than %d syscall names", SECCOMP_MAX_NAMES);
        goto out;
    }
    json_object_set(o, "syscalls", rules);
    *out = json_incref(o);
out:
    json_decref(p);
    json_decref(rules);
    json_decref(o);
    return rc;
}
