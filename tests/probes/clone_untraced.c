/* Tries to leave a tracer's sight: clone with CLONE_UNTRACED (a child the tracer's
 * PTRACE_O_TRACEFORK does not follow), whose child starts `PROGRAM ARGS...` through the execve
 * system call with an empty environment. Prints `clone_untraced errno=N` when the clone is
 * refused, else how the child ended. */
#include "probe.h"
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: clone_untraced PROGRAM [ARG...]\n");
        return 2;
    }
    fflush(stdout);
    long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0) {
        printf("clone_untraced errno=%d\n", errno);
        return REFUSED;
    }
    if (pid == 0) {
        char *no_environment[] = {NULL};
        syscall(SYS_execve, argv[1], argv + 1, no_environment);
        _exit(exec_failed("SYS_execve"));
    }
    int status;
    if (waitpid((pid_t)pid, &status, 0) != pid)
        return 99;
    printf("child status=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
