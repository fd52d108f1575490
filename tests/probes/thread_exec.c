/* Starts `PROGRAM ARGS...` from a second thread, with the execve system call itself and an
 * empty environment, while the main thread waits: the kernel makes the execing thread the
 * new leader of the process (it takes the thread-group id). Prints nothing when the exec
 * works; `thread_exec errno=N` when it fails. */
#include "probe.h"
#include <pthread.h>
#include <sys/syscall.h>

static char **program;

static void *exec_from_thread(void *arg) {
    (void)arg;
    char *no_environment[] = {NULL};
    syscall(SYS_execve, program[0], program, no_environment);
    printf("thread_exec errno=%d\n", errno);
    fflush(stdout);
    _exit(REFUSED);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: thread_exec PROGRAM [ARG...]\n");
        return 2;
    }
    program = argv + 1;
    pthread_t thread;
    if (pthread_create(&thread, NULL, exec_from_thread, NULL) != 0)
        return 99;
    pthread_join(thread, NULL);
    return 99;
}
