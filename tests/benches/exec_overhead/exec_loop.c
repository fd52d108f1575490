/* exec_loop N [CHILD_PRELOAD]
 *
 * Runs N iterations of fork + execve("/bin/true") + waitpid and prints each iteration's
 * wall time in nanoseconds (CLOCK_MONOTONIC), one per line, after the loop so that the
 * printing is not measured.
 *
 * Without CHILD_PRELOAD the child execs with the driver's own environment: run the driver
 * under LD_PRELOAD to measure a hooked exec. With CHILD_PRELOAD the driver (itself not
 * preloaded) adds LD_PRELOAD=CHILD_PRELOAD to the child's envp only, so /bin/true loads the
 * library but no hooked exec runs: that measures the library's load time alone. The child
 * also gets the proof a guarded parent gives a program it judged and spawned
 * (WARDEN_CHECKED=s<parent pid>.<n>.<FNV-1a of the n arguments>, see
 * preload/src/checked.rs), so the library takes the path of every guarded process and does
 * not ask the daemon about itself at load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "timing.h"

extern char **environ;

/* FNV-1a of no bytes: the proof's hash for a child started with no arguments. */
#define FNV_OF_NO_ARGUMENTS "14695981039346656037"

/* environ without LD_PRELOAD or WARDEN_CHECKED, plus LD_PRELOAD=lib and the proof of a
 * judged start of /bin/true (no arguments) by this process. */
static char **env_with_preload(const char *lib) {
    size_t count = 0;
    while (environ[count]) count++;
    char **env = calloc(count + 3, sizeof *env);
    size_t size = strlen("LD_PRELOAD=") + strlen(lib) + 1;
    char *entry = malloc(size);
    char *proof = malloc(64);
    if (!env || !entry || !proof) return NULL;
    snprintf(entry, size, "LD_PRELOAD=%s", lib);
    snprintf(proof, 64, "WARDEN_CHECKED=s%ld.0." FNV_OF_NO_ARGUMENTS, (long)getpid());
    size_t out = 0;
    env[out++] = entry;
    env[out++] = proof;
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
            strncmp(environ[i], "WARDEN_CHECKED=", 15) != 0)
            env[out++] = environ[i];
    env[out] = NULL;
    return env;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s N [CHILD_PRELOAD]\n", argv[0]);
        return 2;
    }
    long iterations = strtol(argv[1], NULL, 10);
    char **child_env = argc == 3 ? env_with_preload(argv[2]) : environ;
    long long *elapsed = calloc(iterations > 0 ? iterations : 1, sizeof *elapsed);
    if (iterations <= 0 || !child_env || !elapsed) {
        fprintf(stderr, "exec_loop: bad iteration count or out of memory\n");
        return 2;
    }
    char *const child_argv[] = {"/bin/true", NULL};
    for (long i = 0; i < iterations; i++) {
        long long start = now_ns();
        pid_t pid = fork();
        if (pid < 0) {
            perror("exec_loop: fork");
            return 1;
        }
        if (pid == 0) {
            execve("/bin/true", child_argv, child_env);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "exec_loop: iteration %ld: /bin/true did not exit 0 (status %d)\n", i,
                    status);
            return 1;
        }
        elapsed[i] = now_ns() - start;
    }
    print_samples(elapsed, iterations);
    return 0;
}
