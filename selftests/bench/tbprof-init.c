// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the profile guest (scripts/profile.sh): repeats one operation
 * while the host logs every translation block that QEMU executes.
 *
 *   init MODE OP N    (arguments after "--" on the kernel command line)
 *
 * MODE is "nocont" (the worker is in no container) or "member" (its parent
 * registers it in container 4242 first); OP is unshare (CLONE_NEWUTS),
 * pthread (create + join) or fork (fork + exit + wait). The worker runs OP
 * 200 times to warm up, prints READY and waits for a line on the console,
 * runs OP N times, prints DONE and waits for another line: the host logs
 * between the two lines. Then the guest powers off.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

static void waitbyte(const char *msg)
{
	char c[64];
	printf("%s\n", msg);
	fflush(stdout);
	if (read(0, c, sizeof(c)) < 1)
		printf("read failed\n");
}

static void *thr(void *a) { return a; }

static void work(const char *op, int n)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(op, "unshare")) {
			if (unshare(CLONE_NEWUTS))
				perror("unshare");
		} else if (!strcmp(op, "pthread")) {
			pthread_t t;
			pthread_create(&t, NULL, thr, NULL);
			pthread_join(t, NULL);
		} else if (!strcmp(op, "fork")) {
			pid_t p = fork();
			if (!p)
				_exit(0);
			waitpid(p, NULL, 0);
		}
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "nocont";
	const char *op = argc > 2 ? argv[2] : "unshare";
	int n = argc > 3 ? atoi(argv[3]) : 2000;
	int p[2];

	mount("proc", "/proc", "proc", 0, NULL);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (pipe(p))
		return 1;
	pid_t child = fork();
	if (child == 0) {
		char c;
		close(p[1]);
		read(p[0], &c, 1);
		work(op, 200);
		waitbyte("READY");
		work(op, n);
		waitbyte("DONE");
		_exit(0);
	}
	if (!strcmp(mode, "member")) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/audit_containerid", child);
		int fd = open(path, O_WRONLY);
		if (fd < 0 || write(fd, "4242", 4) != 4)
			printf("register failed\n");
		close(fd);
	}
	write(p[1], "x", 1);
	waitpid(child, NULL, 0);
	printf("END\n");
	reboot(RB_POWER_OFF);
	return 0;
}
