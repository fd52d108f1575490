/* fork_loop N process|thread
 *
 * Runs N iterations of fork + _exit + waitpid (process) or pthread_create + pthread_join of a
 * thread that returns at once (thread), and prints each iteration's wall time in nanoseconds
 * (timing.h). No program starts: under strict mode this measures what the
 * ptrace stops of a new process or thread cost (the fork or clone event, the new tracee's
 * first stop, its exit), without any question to the daemon. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "timing.h"

static void *nothing(void *arg) { return arg; }

int main(int argc, char **argv) {
    long iterations = argc == 3 ? strtol(argv[1], NULL, 10) : 0;
    int threads = argc == 3 && strcmp(argv[2], "thread") == 0;
    long long *elapsed = calloc(iterations > 0 ? iterations : 1, sizeof *elapsed);
    if (iterations <= 0 || !elapsed || (!threads && strcmp(argv[2], "process") != 0)) {
        fprintf(stderr, "usage: %s N process|thread\n", argv[0]);
        return 2;
    }
    for (long i = 0; i < iterations; i++) {
        long long start = now_ns();
        if (threads) {
            pthread_t thread;
            if (pthread_create(&thread, NULL, nothing, NULL) != 0 || pthread_join(thread, NULL) != 0) {
                fprintf(stderr, "fork_loop: thread %ld failed\n", i);
                return 1;
            }
        } else {
            pid_t pid = fork();
            if (pid == 0) _exit(0);
            int status;
            if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) {
                fprintf(stderr, "fork_loop: fork %ld failed\n", i);
                return 1;
            }
        }
        elapsed[i] = now_ns() - start;
    }
    print_samples(elapsed, iterations);
    return 0;
}
