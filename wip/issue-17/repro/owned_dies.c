// Reproducer (scratch, not part of the project): a delegate writes the ID of its own
// sub-container S while S dies (its only member is reaped by another thread of the delegate).
#include "/work/main/selftests/common/ac_common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static int quota_set(pid_t pid, unsigned n)
{
	char p[64], t[16]; int fd, l, e = 0;
	snprintf(p, sizeof(p), "/proc/%d/audit_containerid_quota", pid);
	if ((fd = open(p, O_WRONLY)) < 0) return -errno;
	l = snprintf(t, sizeof(t), "%u\n", n);
	if (write(fd, t, l) != l) e = -errno;
	close(fd); return e;
}
static pid_t victim;
static volatile int go;
static void *reaper(void *a) { while (!go) ; waitpid(victim, NULL, 0); return NULL; }
static pid_t paused(void) { pid_t p = fork(); if (!p) { prctl(PR_SET_PDEATHSIG, SIGKILL); for (;;) pause(); } return p; }

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000, counts[8] = {}, eexist = 0, created = 0, joined = 0;
	uint64_t A = 520000000ULL;
	pid_t d;
	int st, pp[2];

	if (pipe(pp)) return 2;
	d = fork();
	if (!d) {
		char c;
		if (read(pp[0], &c, 1) != 1) _exit(2);
		for (long i = 0; i < n; i++) {
			uint64_t S = A + 1 + i;
			pid_t m = paused(), t = paused();
			int e = contid_set(m, 0, S), r;
			pthread_t th;
			if (e) { printf("create %llu: %d\n", (unsigned long long)S, e); _exit(3); }
			kill(m, SIGKILL);
			/* wait until m is a zombie, so that the reap is what ends S */
			{ siginfo_t si; waitid(P_PID, m, &si, WEXITED | WNOWAIT); }
			victim = m; go = 0;
			pthread_create(&th, NULL, reaper, NULL);
			for (volatile long k = 0; k < (i * 7919) % 4000; k++) ;
			go = 1;
			for (volatile long k = 0; k < (i * 104729) % 3000; k++) ;
			r = contid_set(t, 0, S);
			pthread_join(th, NULL);
			if (r == -EEXIST) {
				eexist++;
				if (eexist <= 3) printf("iteration %ld: writing own sub-container %llu while it dies: EEXIST; target's contid now %lld\n",
				       i, (unsigned long long)S, (long long)contid_get(t, 0));
			} else if (r == 0) {
				/* joined the dying S, or created a new sub-container S */
				if (contid_get(t, 0) == S) joined++; else created++;
			} else counts[r == -EDQUOT ? 1 : r == -EPERM ? 2 : 3]++;
			kill(t, SIGKILL); waitpid(t, NULL, 0);
		}
		printf("%ld iterations: ok=%ld EEXIST=%ld EDQUOT=%ld EPERM=%ld other=%ld\n", n, joined + created, eexist, counts[1], counts[2], counts[3]);
		fflush(stdout);
		_exit(eexist ? 1 : 0);
	}
	if (contid_set(d, 0, A) || quota_set(d, 4)) { printf("setup failed\n"); return 2; }
	if (write(pp[1], "x", 1) != 1) return 2;
	waitpid(d, &st, 0);
	{ FILE *f = fopen("/sys/kernel/debug/audit_container/objects", "r"); long o = -1; if (f) { if (fscanf(f, "%ld", &o) != 1) o = -1; fclose(f); } printf("objects left: %ld\n", o); }
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}
