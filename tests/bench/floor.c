/*
 * floor.c: the fan-out scenario's floor on this box, measured beside roomd
 * in `make bench`. It does only what no fan-out server over TCP can skip:
 * one send() of a frame per delivery to a loopback socket whose reader is
 * another process, woken from epoll_wait as often as a roomd node is, and
 * nothing else (no WebSocket, no Redis, no JSON). What it costs per 100k
 * deliveries is the part of roomd's figure that code cannot remove.
 *
 *   floor SOCKETS ROOM_MEMBERS FRAMES_PER_S WAKES_PER_S BYTES SECONDS
 *
 * SOCKETS connections in rooms of ROOM_MEMBERS local members; FRAMES_PER_S
 * room frames a second, each sent to every member of its room, rooms in
 * turn; the loop wakes WAKES_PER_S times a second (a timerfd), sending the
 * frames due. Prints one JSON object: sends, CPU seconds (user, system) of
 * the sending process over the run, and CPU seconds per 100k sends.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* The reader: drain every socket until the sender hangs up. */
static void
reader(int *fds, int n)
{
	static char buf[65536];
	struct epoll_event ev, evs[256];
	int ep = epoll_create1(0), nopen = n;

	for (int i = 0; i < n; i++) {
		ev.events = EPOLLIN;
		ev.data.fd = fds[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) == -1)
			err(1, "epoll_ctl");
	}
	while (nopen > 0) {
		int k = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < k; i++) {
			ssize_t r = read(evs[i].data.fd, buf, sizeof buf);

			if (r <= 0) {
				close(evs[i].data.fd);
				nopen--;
			}
		}
	}
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof sa;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	struct epoll_event ev;
	struct rusage r0, r1;
	int nsock, members, fps, wps, bytes, secs, lfd, tfd, ep, one = 1;
	int *srv, *cli;
	long long sends = 0, due = 0, done = 0;
	char *frame;
	pid_t pid;

	if (argc != 7)
		errx(2, "usage: floor SOCKETS ROOM_MEMBERS FRAMES_PER_S "
		    "WAKES_PER_S BYTES SECONDS");
	nsock = atoi(argv[1]);
	members = atoi(argv[2]);
	fps = atoi(argv[3]);
	wps = atoi(argv[4]);
	bytes = atoi(argv[5]);
	secs = atoi(argv[6]);
	if (nsock < 1 || members < 1 || members > nsock || fps < 1 ||
	    wps < 1 || bytes < 1 || secs < 1)
		errx(2, "every argument must be a positive number");

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    listen(lfd, 4096) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) == -1)
		err(1, "listen");
	srv = calloc((size_t)nsock, sizeof *srv);
	cli = calloc((size_t)nsock, sizeof *cli);
	if (srv == NULL || cli == NULL)
		err(1, "calloc");
	for (int i = 0; i < nsock; i++) {
		if ((cli[i] = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    connect(cli[i], (struct sockaddr *)&sa, sizeof sa) == -1 ||
		    (srv[i] = accept(lfd, NULL, NULL)) == -1)
			err(1, "connect");
		/* As lws sets it on every WebSocket connection. */
		setsockopt(srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	close(lfd);
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		for (int i = 0; i < nsock; i++)
			close(srv[i]);
		reader(cli, nsock);
	}
	for (int i = 0; i < nsock; i++)
		close(cli[i]);

	if ((frame = malloc((size_t)bytes)) == NULL)
		err(1, "malloc");
	memset(frame, 'x', (size_t)bytes);
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, 0)) == -1 ||
	    (ep = epoll_create1(0)) == -1)
		err(1, "timerfd");
	its.it_interval.tv_nsec = 1000000000L / wps;
	its.it_value.tv_nsec = its.it_interval.tv_nsec;
	ev.events = EPOLLIN;
	ev.data.fd = tfd;
	if (timerfd_settime(tfd, 0, &its, NULL) == -1 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) == -1)
		err(1, "timerfd_settime");

	getrusage(RUSAGE_SELF, &r0);
	for (long long tick = 0; tick < (long long)wps * secs; tick++) {
		uint64_t n;

		if (epoll_wait(ep, &ev, 1, -1) != 1 ||
		    read(tfd, &n, sizeof n) != sizeof n)
			err(1, "timer");
		/* The frames due by this tick, rooms taken in turn. */
		due = (tick + 1) * fps / wps;
		for (; done < due; done++) {
			int room = (int)(done % (nsock / members));

			for (int m = 0; m < members; m++) {
				if (send(srv[room * members + m], frame,
				    (size_t)bytes, MSG_NOSIGNAL) != bytes)
					err(1, "send");
				sends++;
			}
		}
	}
	getrusage(RUSAGE_SELF, &r1);

	for (int i = 0; i < nsock; i++)
		close(srv[i]);
	waitpid(pid, NULL, 0);
	{
		double u = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
		double s = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);

		printf("{\"sends\": %lld, \"user_s\": %.3f, \"sys_s\": %.3f, "
		    "\"cpu_per_100k\": %.3f}\n", sends, u, s,
		    (u + s) / ((double)sends / 100000));
	}
	return 0;
}
