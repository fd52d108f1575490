/* Starts `PROGRAM ARGS...` in a child through fork and the execve system call itself, with an
 * empty environment: no hook sees the start, and the program gets neither the library nor
 * its proof. Prints how the child ended (`child status=N` or `child signal=N`) and exits
 * with its status (128 + the signal when killed). Compiled with -static for the strict-mode
 * tests, so no hook runs in this program either. */
#include "probe.h"
#include <sys/syscall.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: spawn_raw PROGRAM [ARG...]\n");
        return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 99;
    if (pid == 0) {
        char *no_environment[] = {NULL};
        syscall(SYS_execve, argv[1], argv + 1, no_environment);
        _exit(exec_failed("SYS_execve"));
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 99;
    if (WIFSIGNALED(status)) {
        printf("child signal=%d\n", WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    printf("child status=%d\n", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}
