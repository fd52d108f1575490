/* Starts `PROGRAM ARGS...` with fork + execve and passes on its exit status, like any parent
 * that is not itself guarded (compiled with -static, the library never loads into it).
 * `--checked VALUE` first sets WARDEN_CHECKED in the child to VALUE, or to e<this pid> for
 * VALUE `parent` (a proof copied from the parent), to show that a forged proof is worthless. */
#include "probe.h"

int main(int argc, char **argv) {
    const char *checked = NULL;
    if (argc > 2 && strcmp(argv[1], "--checked") == 0) {
        checked = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: run_child [--checked VALUE] PROGRAM [ARG...]\n");
        return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 99;
    if (pid == 0) {
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
    printf("child status=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}
