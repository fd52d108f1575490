/* What the benchmark's C drivers share: the clock they time with, and the output format the
 * benchmark parses (workload.rs, parse_driver): one line per sample with its nanoseconds.
 * (The CPU time of a run is measured by the benchmark itself, for the whole process tree it
 * started, a strict-mode supervisor included.) */
#include <stdio.h>
#include <time.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Prints the samples; call it after the measured loop. */
static void print_samples(const long long *samples, long n) {
    for (long i = 0; i < n; i++) printf("%lld\n", samples[i]);
}
