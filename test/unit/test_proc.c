/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec_proc_pid: getpid() in this process, and each child's own ID in a
 * child, whether it came from fork() (atfork handlers run) or from a raw
 * clone() that runs none, and in a grandchild.
 */
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "parsec_proc.h"

/* In the child: 0 if parsec_proc_pid() is the child's own ID, else 1. */
static int child_sees_itself(void)
{
    return parsec_proc_pid() == (pid_t)syscall(SYS_getpid) ? 0 : 1;
}

static void expect_child_ok(pid_t pid)
{
    int status = 0;

    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_same_process(void **state)
{
    (void)state;
    assert_int_equal(parsec_proc_pid(), getpid());
    assert_int_equal(parsec_proc_pid(), getpid()); /* the cached value */
}

static void test_fork_child(void **state)
{
    pid_t parent = parsec_proc_pid(), pid;

    (void)state;
    pid = fork();
    if (pid == 0) {
        pid_t grandchild;
        int status = 0;

        if (child_sees_itself() != 0 || parsec_proc_pid() == parent)
            _exit(1);
        grandchild = fork();
        if (grandchild == 0)
            _exit(child_sees_itself());
        if (grandchild < 0 || waitpid(grandchild, &status, 0) != grandchild || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            _exit(2);
        _exit(child_sees_itself());
    }
    expect_child_ok(pid);
    assert_int_equal(parsec_proc_pid(), parent); /* the parent's value is untouched */
}

/* A copy of the process made by the kernel alone: no pthread_atfork handler runs. */
static void test_raw_clone_child(void **state)
{
    pid_t parent = parsec_proc_pid();
    long pid;

    (void)state;
    pid = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0UL);
    if (pid == 0)
        syscall(SYS_exit_group, child_sees_itself());
    expect_child_ok((pid_t)pid);
    assert_int_equal(parsec_proc_pid(), parent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_process),
        cmocka_unit_test(test_fork_child),
        cmocka_unit_test(test_raw_clone_child),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
