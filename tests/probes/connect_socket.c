/* Tries a plain connect() to $WARDEN_SOCKET and reports the outcome: inside Codex's sandbox
 * it fails with EPERM, which is why the library has the door. */
#include "probe.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(void) {
    const char *path = getenv("WARDEN_SOCKET");
    if (!path) {
        printf("connect no-socket-variable\n");
        return 1;
    }
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) == 0) {
        printf("connect ok\n");
        return 0;
    }
    printf("connect errno=%d\n", errno);
    return 1;
}
