/* SQLite-backed object store with an in-memory index and a watch event ring (see store.h).
 * A write is one transaction that stores the object and the new global resourceVersion, so a
 * kill -9 at any point leaves either the old or the new state. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"

/* Watch history kept in memory; KROLL_WATCH_CACHE overrides it (tests use a small ring to
 * reach 410 Expired quickly). */
#define RING_SIZE_DEFAULT 20000

/* Mode of kroll.db (and so of its -wal and -shm files). */
#define STORE_DB_MODE 0600

struct ring_ev {
    int64_t rv;
    enum store_ev type;
    char *res;
    json_t *obj, *old;
};

struct listener {
    store_event_fn *fn;
    void *ctx;
    int dead;
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *put, *del, *setrv;
    int64_t rv;
    json_t *index; /* res -> { "ns/name" -> obj } */
    struct ring_ev *ring;
    size_t ring_head, ring_len, ring_cap;
    int64_t oldest_rv; /* resume point: events with rv > oldest_rv are in the ring */
    struct listener *ls;
    int nls, notifying;
};

static int db_exec(sqlite3 *db, const char *sql, struct err *err)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(err, -E_INTERNAL, "sqlite: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -E_INTERNAL;
    }
    return 0;
}

static char *obj_key(const char *ns, const char *name)
{
    return xasprintf("%s/%s", ns ? ns : "", name ? name : "");
}

static void index_set(struct store *s, const char *res, const char *ns, const char *name,
                      json_t *obj)
{
    json_t *m = json_object_get(s->index, res);
    char *k = obj_key(ns, name);

    if (!m) {
        m = json_object();
        json_object_set_new(s->index, res, m);
    }
    if (obj)
        json_object_set(m, k, obj);
    else
        json_object_del(m, k);
    free(k);
}

static int store_load(struct store *s, struct err *err)
{
    sqlite3_stmt *st;
    const char *sql = "SELECT res, data FROM objects";

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return err_set(err, -E_INTERNAL, "sqlite: %s", sqlite3_errmsg(s->db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *res = (const char *)sqlite3_column_text(st, 0);
        const char *data = (const char *)sqlite3_column_text(st, 1);
        json_t *o = json_loads(data, 0, NULL);

        if (!o) {
            log_warn("store", "msg=\"skipping unreadable object\" res=%s", res);
            continue;
        }
        index_set(s, res, jx_str(o, "metadata.namespace"), jx_str(o, "metadata.name"), o);
        json_decref(o);
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key='rv'", -1, &st, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            s->rv = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return 0;
}

static size_t ring_size_from_env(void)
{
    const char *e = getenv("KROLL_WATCH_CACHE");
    char *end = NULL;
    long long n;

    if (!e || !*e)
        return RING_SIZE_DEFAULT;
    errno = 0;
    n = strtoll(e, &end, 10);
    if (errno || *end || n < 1 || n > 10000000) {
        log_warn("store", "msg=\"ignoring invalid KROLL_WATCH_CACHE\" value=\"%s\"", e);
        return RING_SIZE_DEFAULT;
    }
    return (size_t)n;
}

/* The database holds every Secret: it is created 0600 before SQLite opens it (SQLite would
 * create it 0644 under the umask, and gives -wal and -shm the database file's mode), and an
 * existing one of ours with group/other bits is tightened. */
static int db_file_prepare(const char *path, struct err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, STORE_DB_MODE);
    struct stat st;
    int rc = 0;

    if (fd < 0)
        return err_set(err, -E_INTERNAL, "open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077) &&
        fchmod(fd, STORE_DB_MODE) < 0)
        rc = err_set(err, -E_INTERNAL, "chmod %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

int store_open(const char *path, struct store **out, struct err *err)
{
    struct store *s = xcalloc(1, sizeof *s);
    int rc;

    if ((rc = db_file_prepare(path, err)) < 0) {
        free(s);
        return rc;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = err_set(err, -E_INTERNAL, "open %s: %s", path, sqlite3_errmsg(s->db));
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 2000);
    if ((rc = db_exec(s->db, "PRAGMA journal_mode=WAL", err)) < 0 ||
        (rc = db_exec(s->db, "PRAGMA synchronous=FULL", err)) < 0 ||
        (rc = db_exec(s->db,
                      "CREATE TABLE IF NOT EXISTS objects(res TEXT NOT NULL, ns TEXT NOT NULL,"
                      " name TEXT NOT NULL, rv INTEGER NOT NULL, data TEXT NOT NULL,"
                      " PRIMARY KEY(res, ns, name));"
                      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);",
                      err)) < 0)
        goto fail;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO objects(res,ns,name,rv,data) VALUES(?,?,?,?,?)",
                           -1, &s->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "DELETE FROM objects WHERE res=? AND ns=? AND name=?", -1,
                           &s->del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key,value) VALUES('rv',?)", -1,
                           &s->setrv, NULL) != SQLITE_OK) {
        rc = err_set(err, -E_INTERNAL, "sqlite prepare: %s", sqlite3_errmsg(s->db));
        goto fail;
    }
    s->index = json_object();
    s->ring_cap = ring_size_from_env();
    s->ring = xcalloc(s->ring_cap, sizeof *s->ring);
    if ((rc = store_load(s, err)) < 0)
        goto fail;
    s->oldest_rv = s->rv;
    *out = s;
    return 0;
fail:
    store_close(s);
    return rc;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->setrv);
    sqlite3_close(s->db);
    json_decref(s->index);
    if (s->ring) {
        for (size_t i = 0; i < s->ring_cap; i++) {
            free(s->ring[i].res);
            json_decref(s->ring[i].obj);
            json_decref(s->ring[i].old);
        }
        free(s->ring);
    }
    free(s->ls);
    free(s);
}

int64_t store_rv(const struct store *s)
{
    return s->rv;
}

int64_t store_oldest_rv(const struct store *s)
{
    return s->oldest_rv;
}

json_t *store_map(struct store *s, const char *res)
{
    return json_object_get(s->index, res);
}

json_t *store_get(struct store *s, const char *res, const char *ns, const char *name)
{
    json_t *m = json_object_get(s->index, res);
    char *k;
    json_t *o;

    if (!m)
        return NULL;
    k = obj_key(ns, name);
    o = json_object_get(m, k);
    free(k);
    return o;
}

static void ring_push(struct store *s, enum store_ev type, const char *res, json_t *obj,
                      json_t *old)
{
    size_t i = (s->ring_head + s->ring_len) % s->ring_cap;
    struct ring_ev *e = &s->ring[i];

    if (s->ring_len == s->ring_cap) {
        s->oldest_rv = s->ring[s->ring_head].rv;
        s->ring_head = (s->ring_head + 1) % s->ring_cap;
        free(e->res);
        json_decref(e->obj);
        json_decref(e->old);
    } else {
        s->ring_len++;
    }
    e->rv = s->rv;
    e->type = type;
    e->res = xstrdup(res);
    e->obj = json_incref(obj);
    e->old = old ? json_incref(old) : NULL;
}

static void notify(struct store *s, enum store_ev type, const char *res, json_t *obj, json_t *old)
{
    ring_push(s, type, res, obj, old);
    s->notifying++;
    for (int i = 0; i < s->nls; i++)
        if (!s->ls[i].dead)
            s->ls[i].fn(type, res, obj, old, s->rv, s->ls[i].ctx);
    if (--s->notifying == 0) {
        int j = 0;

        for (int i = 0; i < s->nls; i++)
            if (!s->ls[i].dead)
                s->ls[j++] = s->ls[i];
        s->nls = j;
    }
}

static int txn_write(struct store *s, const char *res, const char *ns, const char *name,
                     const char *data, struct err *err)
{
    int rc = 0;

    if (db_exec(s->db, "BEGIN IMMEDIATE", err) < 0)
        return -E_INTERNAL;
    if (data) {
        sqlite3_reset(s->put);
        sqlite3_bind_text(s->put, 1, res, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->put, 2, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->put, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->put, 4, s->rv + 1);
        sqlite3_bind_text(s->put, 5, data, -1, SQLITE_STATIC);
        if (sqlite3_step(s->put) != SQLITE_DONE)
            rc = -E_INTERNAL;
    } else {
        sqlite3_reset(s->del);
        sqlite3_bind_text(s->del, 1, res, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->del, 2, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->del, 3, name, -1, SQLITE_STATIC);
        if (sqlite3_step(s->del) != SQLITE_DONE)
            rc = -E_INTERNAL;
    }
    sqlite3_reset(s->setrv);
    sqlite3_bind_int64(s->setrv, 1, s->rv + 1);
    if (rc == 0 && sqlite3_step(s->setrv) != SQLITE_DONE)
        rc = -E_INTERNAL;
    if (rc < 0) {
        err_set(err, rc, "sqlite write failed: %s", sqlite3_errmsg(s->db));
        db_exec(s->db, "ROLLBACK", err);
        return rc;
    }
    if (db_exec(s->db, "COMMIT", err) < 0) {
        db_exec(s->db, "ROLLBACK", err);
        return -E_INTERNAL;
    }
    s->rv++;
    return 0;
}

int store_put(struct store *s, const char *res, json_t *obj, json_t **out, struct err *err)
{
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    json_t *old;
    char rvs[32], *data;
    int rc;

    if (!ns)
        ns = "";
    if (!name) {
        json_decref(obj);
        return err_set(err, -E_INTERNAL, "store_put without a name");
    }
    old = store_get(s, res, ns, name);
    if (old)
        json_incref(old);
    snprintf(rvs, sizeof rvs, "%lld", (long long)s->rv + 1);
    jx_set(obj, "metadata.resourceVersion", json_string(rvs));
    data = jx_dump(obj);
    rc = txn_write(s, res, ns, name, data, err);
    free(data);
    if (rc < 0) {
        json_decref(old);
        json_decref(obj);
        return rc;
    }
    index_set(s, res, ns, name, obj);
    if (out)
        *out = obj;
    notify(s, old ? STORE_MODIFIED : STORE_ADDED, res, obj, old);
    json_decref(old);
    json_decref(obj);
    return 0;
}

int store_remove(struct store *s, const char *res, const char *ns, const char *name, json_t **last,
                 struct err *err)
{
    json_t *old = store_get(s, res, ns ? ns : "", name), *gone;
    char rvs[32];
    int rc;

    if (!old)
        return err_set(err, -E_NOT_FOUND, "not found");
    json_incref(old);
    rc = txn_write(s, res, ns ? ns : "", name, NULL, err);
    if (rc < 0) {
        json_decref(old);
        return rc;
    }
    index_set(s, res, ns ? ns : "", name, NULL);
    gone = json_deep_copy(old);
    snprintf(rvs, sizeof rvs, "%lld", (long long)s->rv);
    jx_set(gone, "metadata.resourceVersion", json_string(rvs));
    notify(s, STORE_DELETED, res, gone, old);
    if (last)
        *last = json_incref(gone);
    json_decref(gone);
    json_decref(old);
    return 0;
}

void store_subscribe(struct store *s, store_event_fn *fn, void *ctx)
{
    s->ls = xrealloc(s->ls, (size_t)(s->nls + 1) * sizeof *s->ls);
    s->ls[s->nls++] = (struct listener){fn, ctx, 0};
}

void store_unsubscribe(struct store *s, store_event_fn *fn, void *ctx)
{
    for (int i = 0; i < s->nls; i++)
        if (s->ls[i].fn == fn && s->ls[i].ctx == ctx)
            s->ls[i].dead = 1;
    if (!s->notifying) {
        int j = 0;

        for (int i = 0; i < s->nls; i++)
            if (!s->ls[i].dead)
                s->ls[j++] = s->ls[i];
        s->nls = j;
    }
}

int store_replay(struct store *s, const char *res, int64_t since, store_event_fn *fn, void *ctx)
{
    if (since < s->oldest_rv)
        return -E_GONE;
    for (size_t n = 0; n < s->ring_len; n++) {
        struct ring_ev *e = &s->ring[(s->ring_head + n) % s->ring_cap];

        if (e->rv <= since)
            continue;
        if (res && strcmp(res, e->res) != 0)
            continue;
        fn(e->type, e->res, e->obj, e->old, e->rv, ctx);
    }
    return 0;
}
