/* The variadic exec functions, which Rust cannot define: collect the arguments into an argv
 * array on the stack (as glibc does) and hand it to the library's execv/execvp/execve hooks. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

/* Counts the arguments after `first` up to and including the terminating NULL. */
#define COUNT_ARGS(first, count)                                                                \
    do {                                                                                        \
        va_list ap;                                                                             \
        va_start(ap, first);                                                                    \
        count = 1;                                                                              \
        while (va_arg(ap, const char *) != NULL)                                                \
            count++;                                                                            \
        va_end(ap);                                                                             \
    } while (0)

/* Fills argv[0..count] (argv[count] = NULL) and leaves `ap` after the NULL. */
static void collect(const char **argv, size_t count, const char *first, va_list *ap) {
    argv[0] = first;
    for (size_t i = 1; i <= count; i++)
        argv[i] = va_arg(*ap, const char *);
}

int execl(const char *path, const char *arg, ...) {
    size_t count;
    COUNT_ARGS(arg, count);
    const char *argv[count + 1];
    va_list ap;
    va_start(ap, arg);
    collect(argv, count, arg, &ap);
    va_end(ap);
    return execv(path, (char *const *)argv);
}

int execlp(const char *file, const char *arg, ...) {
    size_t count;
    COUNT_ARGS(arg, count);
    const char *argv[count + 1];
    va_list ap;
    va_start(ap, arg);
    collect(argv, count, arg, &ap);
    va_end(ap);
    return execvp(file, (char *const *)argv);
}

int execle(const char *path, const char *arg, ...) {
    size_t count;
    COUNT_ARGS(arg, count);
    const char *argv[count + 1];
    va_list ap;
    va_start(ap, arg);
    collect(argv, count, arg, &ap);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, (char *const *)argv, envp);
}

/* Unoptimised builds of a no_std Rust library still reference the unwinding personality from
 * libcore, although panics abort; this never runs, and the version script keeps it private.
 * Weak, so that the unit tests (linked with std, which defines it) take std's. */
__attribute__((weak)) void rust_eh_personality(void) {}
