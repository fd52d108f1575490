/* The variadic exec functions, which Rust cannot define: collect the arguments into an argv
 * array on the stack (as glibc does) and hand it to the library's execv/execvp/execve hooks. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

/* Declares `argv`, a NULL-terminated array on the stack (as glibc does) holding `first` and
 * the variadic arguments up to their terminating NULL; leaves `ap` just after that NULL. */
#define COLLECT_ARGV(first, argv, ap)                                                           \
    size_t count_ = 1;                                                                          \
    va_start(ap, first);                                                                        \
    while (va_arg(ap, const char *) != NULL)                                                    \
        count_++;                                                                               \
    va_end(ap);                                                                                 \
    const char *argv[count_ + 1];                                                               \
    va_start(ap, first);                                                                        \
    argv[0] = first;                                                                            \
    for (size_t i_ = 1; i_ <= count_; i_++)                                                     \
        argv[i_] = va_arg(ap, const char *)

int execl(const char *path, const char *arg, ...) {
    va_list ap;
    COLLECT_ARGV(arg, argv, ap);
    va_end(ap);
    return execv(path, (char *const *)argv);
}

int execlp(const char *file, const char *arg, ...) {
    va_list ap;
    COLLECT_ARGV(arg, argv, ap);
    va_end(ap);
    return execvp(file, (char *const *)argv);
}

int execle(const char *path, const char *arg, ...) {
    va_list ap;
    COLLECT_ARGV(arg, argv, ap);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, (char *const *)argv, envp);
}

/* Unoptimised builds of a no_std Rust library still reference the unwinding personality from
 * libcore, although panics abort; this never runs, and the version script keeps it private.
 * Weak, so that the unit tests (linked with std, which defines it) take std's. */
__attribute__((weak)) void rust_eh_personality(void) {}
