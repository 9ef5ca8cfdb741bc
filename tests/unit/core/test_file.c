/* core/file.c: the one atomic writer. Contents complete under the name, exactly the mode asked
 * for whatever the umask, no temporary file left behind on failure. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/file.h"

static char dir[] = "/tmp/kroll-test-file.XXXXXX";

static void test_write_read_mode(void **state)
{
    char path[256], *got;
    struct stat st;
    size_t len;
    mode_t old = umask(077);

    (void)state;
    snprintf(path, sizeof path, "%s/a.json", dir);
    assert_int_equal(file_write_atomic(path, "first", 5, 0644), 0);
    assert_int_equal(file_write_atomic(path, "second", 6, 0644), 0);
    umask(old);
    got = file_read_all(path, &len);
    assert_non_null(got);
    assert_int_equal(len, 6);
    assert_string_equal(got, "second");
    free(got);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(file_write_atomic(path, "x", 1, 0600), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_failures(void **state)
{
    char path[256], cmd[300], longp[5000];
    FILE *ls;
    int n = 0;

    (void)state;
    snprintf(path, sizeof path, "%s/missing/a", dir);
    assert_int_equal(file_write_atomic(path, "x", 1, 0644), -ENOENT);
    /* Renaming onto a directory fails: the old name stays a directory, no tmp file is left. */
    snprintf(path, sizeof path, "%s/d", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_true(file_write_atomic(path, "x", 1, 0644) < 0);
    snprintf(cmd, sizeof cmd, "ls -A %s", dir);
    ls = popen(cmd, "r");
    assert_non_null(ls);
    while (fgets(path, sizeof path, ls)) {
        assert_null(strstr(path, ".tmp"));
        n++;
    }
    pclose(ls);
    assert_true(n >= 1);
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    assert_int_equal(file_write_atomic(longp, "x", 1, 0644), -ENAMETOOLONG);
    assert_null(file_read_all("/nonexistent/kroll", NULL));
}

static void test_read_into(void **state)
{
    char path[256], buf[4];

    (void)state;
    snprintf(path, sizeof path, "%s/pid", dir);
    assert_int_equal(file_write_atomic(path, "12345\n", 6, 0644), 0);
    /* Bounded by the buffer, always terminated. */
    assert_int_equal(file_read_into(path, buf, sizeof buf), 3);
    assert_string_equal(buf, "123");
    assert_int_equal(file_read_into("/nonexistent/kroll", buf, sizeof buf), -ENOENT);
    assert_string_equal(buf, "");
    /* /proc files report size 0 to stat but have contents. */
    assert_true(file_read_into("/proc/self/cmdline", buf, sizeof buf) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_read_mode),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_read_into),
    };
    int rc;
    char cmd[300];

    if (!mkdtemp(dir))
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
