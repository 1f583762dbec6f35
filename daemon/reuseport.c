/*
 * reuseport.c: --reuse-port. libwebsockets 4.1 creates and binds its
 * listening socket itself and sets only SO_REUSEADDR on Linux: its
 * LWS_SERVER_OPTION_ALLOW_LISTEN_SHARE changes nothing there (strace
 * shows no SO_REUSEPORT), and it has no callback between socket() and
 * bind(). So roomd's own bind() stands in for libc's (lws calls it
 * through the dynamic linker, which finds the executable's first): while
 * server.c creates the vhost with --reuse-port, a TCP socket gets
 * SO_REUSEPORT before it is bound. Every other bind is passed on as is.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "roomd.h"

static int reuse_port_armed;

void
reuse_port_arm(int on)
{
	reuse_port_armed = on;
}

int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	int one = 1, type = 0;
	socklen_t tl = sizeof type;

	if (reuse_port_armed && sa != NULL && (sa->sa_family == AF_INET ||
	    sa->sa_family == AF_INET6) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
	    type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
		return -1;
	return (int)syscall(SYS_bind, fd, sa, len);
}
