/* What the benchmark's C drivers share: the clocks they time with, and the output format the
 * benchmark parses (workload.rs, parse_driver): one line per sample with its nanoseconds,
 * then `cpu <ns>`, the CPU time (user + system) of the driver and all its children, which
 * waiting for a busy machine's CPUs does not inflate. */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cpu_ns(int who) {
    struct rusage usage;
    getrusage(who, &usage);
    return ((long long)usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
           ((long long)usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
}

/* Prints the samples, then the CPU time; call it after the measured loop. */
static void print_samples(const long long *samples, long n) {
    for (long i = 0; i < n; i++) printf("%lld\n", samples[i]);
    printf("cpu %lld\n", cpu_ns(RUSAGE_SELF) + cpu_ns(RUSAGE_CHILDREN));
}
