/* A multithreaded parent (threads allocating in a loop, so malloc's locks are often held at
 * fork time) that forks and execs /bin/true COUNT times. Each child runs the library's hook
 * right after fork; a hook that allocated or locked would deadlock here sooner or later. */
#include "probe.h"
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define THREADS 3

static atomic_int stop;

static void *churn(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        void *blocks[16];
        for (int i = 0; i < 16; i++)
            blocks[i] = malloc(64 + i * 512);
        for (int i = 0; i < 16; i++)
            free(blocks[i]);
        /* A short pause leaves CPU to the daemon on small machines; the bursts still hold
         * malloc's locks at random moments. */
        struct timespec pause = {0, 20000};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s COUNT\n", argv[0]);
        return 2;
    }
    int count = atoi(argv[1]);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, churn, NULL);
    int failed = 0;
    for (int i = 0; i < count; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {"true", NULL};
            execv("/bin/true", args);
            _exit(127);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
            failed++;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    printf("forked %d failed %d\n", count, failed);
    return failed == 0 ? 0 : 1;
}
