/* Starts `PROGRAM ARGS...` with fork + execve and passes on its exit status, like any parent
 * that is not itself guarded (compiled with -static, the library never loads into it).
 * `--checked VALUE` first sets WARDEN_CHECKED in the child to VALUE, or to e<this pid> for
 * VALUE `parent` (a proof copied from the parent), to show that a forged proof is worthless.
 * `--bare` starts the child with the execve system call itself and an empty environment: no
 * hook sees the start, and the program gets neither the library nor its proof.
 * Prints how the child ended: `child status=N`, or `child signal=N` (exit status 128 + N). */
#include "probe.h"
#include <sys/syscall.h>

int main(int argc, char **argv) {
    const char *checked = NULL;
    int bare = 0;
    if (argc > 2 && strcmp(argv[1], "--checked") == 0) {
        checked = argv[2];
        argv += 2;
        argc -= 2;
    } else if (argc > 1 && strcmp(argv[1], "--bare") == 0) {
        bare = 1;
        argv += 1;
        argc -= 1;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: run_child [--checked VALUE | --bare] PROGRAM [ARG...]\n");
        return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 99;
    if (pid == 0) {
        if (bare) {
            char *no_environment[] = {NULL};
            syscall(SYS_execve, argv[1], argv + 1, no_environment);
            _exit(exec_failed("SYS_execve"));
        }
        if (checked) {
            char copied[32];
            snprintf(copied, sizeof copied, "e%d", (int)getppid());
            setenv("WARDEN_CHECKED", strcmp(checked, "parent") == 0 ? copied : checked, 1);
        }
        execve(argv[1], argv + 1, environ);
        _exit(exec_failed("execve"));
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
