/* round_trip N SOCKET
 *
 * The least any design pays that asks a daemon on a fresh Unix-socket connection per exec:
 * a forked C server that accepts, reads one request and writes a fixed reply, and a client
 * that N times connects, sends a request the size of the library's, reads the reply and
 * closes. Each round trip's wall time in nanoseconds is printed, one per line (the server
 * is reaped before, so its CPU time counts with the client's). The client pauses 0.5 ms between requests, about the
 * time an exec loop spends between two questions, so the server is woken from idle each
 * time, as the daemon is. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "timing.h"

static const char REPLY[] = "HTTP/1.1 200 OK\r\ncontent-length: 20\r\n\r\n{\"decision\":\"allow\"}";

static void serve(int listener) {
    char request[4096];
    for (;;) {
        int conn = accept(listener, NULL, NULL);
        if (conn < 0) continue;
        if (read(conn, request, sizeof request) > 0) write(conn, REPLY, sizeof REPLY - 1);
        close(conn);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: round_trip N SOCKET\n");
        return 2;
    }
    int n = atoi(argv[1]);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (n <= 0 || strlen(argv[2]) >= sizeof address.sun_path) return 2;
    strcpy(address.sun_path, argv[2]);
    unlink(argv[2]);
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0 || bind(listener, (void *)&address, sizeof address) != 0 ||
        listen(listener, 128) != 0) {
        perror("round_trip: listen");
        return 1;
    }
    pid_t server = fork();
    if (server < 0) return 1;
    if (server == 0) serve(listener);

    long long *times = malloc(n * sizeof *times);
    char request[300], reply[4096];
    memset(request, 'x', sizeof request);
    if (!times) return 1;
    for (int i = 0; i < n; i++) {
        usleep(500);
        long long start = now_ns();
        int conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (conn < 0 || connect(conn, (void *)&address, sizeof address) != 0 ||
            write(conn, request, sizeof request) != sizeof request ||
            read(conn, reply, sizeof reply) <= 0) {
            perror("round_trip: exchange");
            kill(server, SIGKILL);
            return 1;
        }
        close(conn);
        times[i] = now_ns() - start;
    }
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    unlink(argv[2]);
    print_samples(times, n);
    return 0;
}
