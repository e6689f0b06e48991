// SPDX-License-Identifier: GPL-2.0
/*
 * contid_stress - race stress of audit container IDs, for the test VM only
 * (it becomes the audit daemon, changes the backlog limit and registers
 * processes).
 *
 *   contid_stress [--seed N] [--duration SEC] [--workers N] [--small SEC]
 *
 * Phase 1 (--duration, default 60 s): worker processes (orchestrators, in no
 * container) race registration and moves of their children against what the
 * children do at the same time: fork, thread creation, exec, exit, unshare,
 * setns into a sibling's namespaces, clone3 with CLONE_NEW*, signals. An
 * auditor process, registered as the audit daemon with a large backlog,
 * reads every record. When all processes are gone and the stream is quiet,
 * the invariants are checked:
 *   - every write returned 0 or ESRCH (the only errors the contract allows
 *     a privileged orchestrator writing to its own unreaped child);
 *   - "stable" IDs (kept alive by a keeper process, never reused after it is
 *     killed): exactly one op=destroy each; no record names one after it;
 *   - "volatile" IDs (registered racing with their members' exits, so they
 *     may die and be created again): at least one op=destroy each that had a
 *     successful write, and no more than the writes that could have created
 *     an object;
 *   - writes racing their target's exit (--exiting per process, 4 processes,
 *     default 10 a second of --duration, after the workers), each with an ID
 *     of its own: one that succeeded has one op=set and one op=destroy, one
 *     that failed with ESRCH has neither (the container created for it died
 *     unreported);
 *   - AUDIT_NS_CREATE (op=clone|unshare|resurrect) and AUDIT_NS_DESTROY
 *     balance per namespace, and a DESTROY never comes first;
 *   - the audit lost counter (AUDIT_GET) did not move;
 *   - /sys/kernel/debug/audit_container/objects reads 0 (SKIP when the kernel
 *     has no such file).
 * Phase 2 (--small, default duration/6): backlog_limit 4 and no wait, the
 * auditor reads slowly: the run must survive and the lost counter must rise.
 *
 * Output is KTAP with the seed; exit 0 on success, 1 on failure.
 */
#include "../common/ac_common.h"
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/sched.h>

#define OBJECTS_FILE "/sys/kernel/debug/audit_container/objects"
#define STABLE_BASE 100000000ULL	/* worker w, slot k: STABLE_BASE + w * 100000 + k */
#define VOLATILE_BASE 200000000ULL	/* + w * 100 + k, k < 8 */
#define EXITING_BASE 300000000ULL	/* + p * exiting + i: writes racing exits */
#define EXITING_PROCS 4
#define MAX_IDS 65536		/* power of two: hash tables */
#define MAX_NS 262144

static uint64_t seed = 0x57e55ULL;
static double duration = 60, small = -1;
static int nworkers = 6;
static long exiting = -1;
static char self_exe[256];

/* Shared between the processes (MAP_SHARED). */
struct shared {
	volatile int stop;		/* workers: finish up */
	volatile int auditor_stop;	/* auditor: drain and count */
	volatile int auditor_slow;	/* auditor: read slowly (phase 2) */
	long writes, write_ok, write_esrch, write_bad, open_fail;
	long spawns, moves, keepers, signals;
	long exit_writes, exit_ok, exit_esrch, exit_bad;
	char bad[256];
	/* Per ID, from successful writes (worker side). */
	struct idstat {
		uint64_t id;
		long ok_writes;		/* res=1 writes that could create the object */
	} ids[MAX_IDS];
	int nids;
	pthread_mutex_t lock;
	/* Auditor's view. */
	long records, containers, destroys, ns_creates, ns_destroys, other;
	struct aid {
		uint64_t id;
		long sets, creators, destroys, after_destroy;
	} aids[MAX_IDS];
	int naids;
	struct ans {
		uint64_t nsid;
		long live;
		long negative;
	} ns[MAX_NS];
	int nns;
	long ns_negative_unknown;
};
static struct shared *sh;

static uint64_t hash64(uint64_t x)
{
	return x * 0x9e3779b97f4a7c15ULL >> 20;
}

/* Open addressing; key 0 is never an ID or an nsid used here. */
static struct aid *aid_get(uint64_t id)
{
	for (uint64_t h = hash64(id), i = 0; i < MAX_IDS; i++) {
		struct aid *a = &sh->aids[(h + i) & (MAX_IDS - 1)];

		if (a->id == id)
			return a;
		if (!a->id) {
			if (sh->naids >= MAX_IDS / 2)
				return NULL;
			a->id = id;
			sh->naids++;
			return a;
		}
	}
	return NULL;
}

static struct ans *ns_get(uint64_t nsid, bool create)
{
	for (uint64_t h = hash64(nsid), i = 0; i < MAX_NS; i++) {
		struct ans *n = &sh->ns[(h + i) & (MAX_NS - 1)];

		if (n->nsid == nsid)
			return n;
		if (!n->nsid) {
			if (!create || sh->nns >= MAX_NS / 2)
				return NULL;
			n->nsid = nsid;
			sh->nns++;
			return n;
		}
	}
	return NULL;
}

/* The auditor: the audit daemon of the run. */
static void auditor_record(int type, const char *text)
{
	uint64_t contid, old, nsid;
	struct aid *a;
	struct ans *n;

	sh->records++;
	switch (type) {
	case AUDIT_CONTAINER:
		sh->containers++;
		if (!ac_field(text, "contid", &contid))
			break;
		if (strstr(text, "op=destroy")) {
			sh->destroys++;
			if ((a = aid_get(contid)))
				a->destroys++;
			break;
		}
		if (!strstr(text, "res=1") || !(a = aid_get(contid)))
			break;
		a->sets++;
		if (a->destroys)
			a->after_destroy++;
		if (!ac_field(text, "old-contid", &old) || old != contid)
			a->creators++;
		break;
	case AUDIT_NS_CREATE:
		sh->ns_creates++;
		if (ac_field(text, "nsid", &nsid) && (n = ns_get(nsid, true)))
			n->live++;
		break;
	case AUDIT_NS_DESTROY:
		sh->ns_destroys++;
		if (!ac_field(text, "nsid", &nsid))
			break;
		n = ns_get(nsid, false);
		if (!n)
			sh->ns_negative_unknown++;	/* created before the auditor */
		else if (--n->live < 0)
			n->negative++;
		break;
	default:
		sh->other++;
	}
}

static pid_t auditor_pid;

/*
 * The auditor of phase 1 keeps the container and namespace records in a file,
 * so that a broken invariant can be shown with the records of the ID.
 */
#define TRAIL_FILE "/tmp/contid_stress.trail"
#define TRAIL_MAX 40

static FILE *trail;

static void trail_record(int type, const char *text)
{
	if (trail && (type == AUDIT_CONTAINER || (type >= AUDIT_NS_CREATE && type <= AUDIT_NS_CHANGE)))
		fprintf(trail, "type=%d %s\n", type, text);
}

/* Prints the records of phase 1 that name container @id. */
/* Shows the records of the trail with the field @key ("name=value"). */
static void trail_grep(const char *key)
{
	int n = 0, len = strlen(key);
	char line[1024];
	FILE *f = fopen(TRAIL_FILE, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = line;

		line[strcspn(line, "\n")] = 0;
		while ((p = strstr(p, key))) {
			if ((p == line || p[-1] == ' ' || p[-1] == ',') &&
			    (!p[len] || p[len] == ' ' || p[len] == ','))
				break;
			p += len;
		}
		if (!p)
			continue;
		if (n++ == TRAIL_MAX) {
			diag("  (more records)");
			break;
		}
		diag("  %s", line);
	}
	fclose(f);
}

static void trail_show(uint64_t id)
{
	char key[40];

	snprintf(key, sizeof(key), "contid=%llu", (unsigned long long)id);
	trail_grep(key);
}

static void trail_show_ns(uint64_t nsid)
{
	char key[40];

	snprintf(key, sizeof(key), "nsid=%llu", (unsigned long long)nsid);
	trail_grep(key);
}

static int start_auditor(uint32_t backlog, uint32_t wait)
{
	int ready[2];
	char c = 0;

	if (pipe(ready))
		return -errno;
	auditor_pid = fork();
	if (auditor_pid == 0) {
		struct audit_status st = {
			.mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID | AUDIT_STATUS_BACKLOG_LIMIT |
				AUDIT_STATUS_BACKLOG_WAIT_TIME,
			.enabled = 1, .pid = getpid(), .backlog_limit = backlog,
			.backlog_wait_time = wait,
		};
		static struct ac_msg msg;
		double quiet_since = 0;
		int fd = ac_open(200), rcv = 4 << 20;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
		c = fd >= 0 && ac_set(fd, &st) == 0;
		if (!sh->auditor_slow)
			trail = fopen(TRAIL_FILE, "w");
		if (write(ready[1], &c, 1) != 1 || !c)
			_exit(1);
		for (;;) {
			int type = ac_recv(fd, &msg, 0);

			if (type >= 0) {
				quiet_since = 0;
				trail_record(type, msg.data);
				auditor_record(type, msg.data);
				if (sh->auditor_slow)
					usleep(20000);
				continue;
			}
			if (type != -EAGAIN && type != -ENOBUFS)
				_exit(2);
			if (!sh->auditor_stop)
				continue;
			/* Quiet for 2 s after the end: the stream is complete. */
			if (!quiet_since)
				quiet_since = now_s();
			else if (now_s() - quiet_since > 2) {
				if (trail)
					fclose(trail);
				_exit(0);
			}
		}
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1 || !c)
		return -EEXIST;
	close(ready[0]);
	return 0;
}

static int stop_auditor(void)
{
	int status;

	sh->auditor_stop = 1;
	waitpid(auditor_pid, &status, 0);
	sh->auditor_stop = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Members: what a container's processes do while they are relabelled. */
static void *member_thread(void *arg)
{
	uint64_t s = (uintptr_t)arg;

	for (int i = 0, n = rng_below(&s, 20); i < n; i++) {
		if (rng_below(&s, 4) == 0)
			unshare(CLONE_NEWUTS | (rng_below(&s, 2) ? CLONE_NEWIPC : 0));
		usleep(rng_below(&s, 2000));
	}
	return NULL;
}

static const int ns_flags[] = { CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWPID,
				CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWUSER };

static void member(uint64_t s, int depth)
{
	static const char *const nsf[] = { "uts", "ipc", "net", "mnt", "pid", "time", "cgroup" };
	int steps = rng_below(&s, 12);

	for (int i = 0; i < steps; i++) {
		int flags = 0;

		switch (rng_below(&s, 10)) {
		case 0:	/* fork: the child inherits (or races a move) */
			if (depth < 3 && fork() == 0) {
				member(rng_next(&s), depth + 1);
				_exit(0);
			}
			break;
		case 1: {	/* threads */
			pthread_t t;

			if (!pthread_create(&t, NULL, member_thread, (void *)(uintptr_t)rng_next(&s)))
				pthread_detach(t);
			break;
		}
		case 2:	/* exec, continuing as a member */
			if (depth < 3) {
				char arg[32], d[16];

				snprintf(arg, sizeof(arg), "%llu", (unsigned long long)rng_next(&s));
				snprintf(d, sizeof(d), "%d", depth + 1);
				execl(self_exe, self_exe, "--member", arg, d, (char *)NULL);
			}
			break;
		case 3:	/* exit now, threads and all */
			_exit(0);
		case 4:
		case 5:
			for (int b = 0; b < 8; b++)
				if (rng_below(&s, 4) == 0)
					flags |= ns_flags[b];
			unshare(flags);
			break;
		case 6: {	/* setns into the namespaces of the parent (a sibling member, or the worker) */
			char path[64];
			int fd;

			snprintf(path, sizeof(path), "/proc/%d/ns/%s", getppid(), nsf[rng_below(&s, 7)]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				setns(fd, 0);
				close(fd);
			}
			break;
		}
		case 7: {	/* clone3 with new namespaces */
			struct clone_args a = { .exit_signal = SIGCHLD };

			for (int b = 0; b < 8; b++)
				if (rng_below(&s, 4) == 0)
					a.flags |= ns_flags[b];
			if (depth < 3 && syscall(SYS_clone3, &a, sizeof(a)) == 0) {
				member(rng_next(&s), depth + 1);
				_exit(0);
			}
			break;
		}
		case 8:	/* signals to the family */
			kill(getppid(), 0);
			kill(0, SIGCONT);
			break;
		default:
			usleep(rng_below(&s, 5000));
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	usleep(rng_below(&s, 20000));
}

/* Workers: orchestrators. */
struct child {
	pid_t pid;
	uint64_t contid;
	bool keeper;
};

#define MAX_CHILDREN 32

static void note_write(int err, uint64_t id, uint64_t old, pid_t pid)
{
	__sync_fetch_and_add(&sh->writes, 1);
	if (err == 0) {
		__sync_fetch_and_add(&sh->write_ok, 1);
		if (id != old) {
			pthread_mutex_lock(&sh->lock);
			int i;

			for (i = 0; i < sh->nids && sh->ids[i].id != id; i++)
				;
			if (i == sh->nids && sh->nids < MAX_IDS)
				sh->ids[sh->nids++].id = id;
			if (i < MAX_IDS)
				sh->ids[i].ok_writes++;
			pthread_mutex_unlock(&sh->lock);
		}
	} else if (err == -ESRCH) {
		__sync_fetch_and_add(&sh->write_esrch, 1);
	} else if (err == -ENOENT) {
		__sync_fetch_and_add(&sh->open_fail, 1);
	} else {
		__sync_fetch_and_add(&sh->write_bad, 1);
		snprintf(sh->bad, sizeof(sh->bad), "write of %llu to %d: %s",
			 (unsigned long long)id, pid, strerror(-err));
	}
}

static pid_t spawn_member(uint64_t s, bool paused)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (paused) {
			for (;;)
				pause();
		}
		member(s, 0);
		_exit(0);
	}
	return pid;
}

static void reap(struct child *c, int *n)
{
	pid_t pid;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		for (int i = 0; i < *n; i++)
			if (c[i].pid == pid) {
				c[i] = c[--*n];
				break;
			}
}

static void worker(int w, uint64_t s)
{
	struct child kids[MAX_CHILDREN];
	int n = 0, stable_next = 0;
	uint64_t stable[2];

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Two stable IDs at a time, each held by a keeper. */
	for (int k = 0; k < 2; k++) {
		stable[k] = STABLE_BASE + w * 100000ULL + stable_next++;
		kids[n] = (struct child){ spawn_member(0, true), stable[k], true };
		note_write(contid_set(kids[n].pid, 0, stable[k]), stable[k], UINT64_MAX, kids[n].pid);
		n++;
		__sync_fetch_and_add(&sh->keepers, 1);
	}
	while (!sh->stop) {
		uint64_t r = rng_below(&s, 100), id;
		struct child *c;
		int err;

		reap(kids, &n);
		if (r < 35 && n < MAX_CHILDREN) {
			/* A new member, registered while it runs. */
			bool vol = rng_below(&s, 3) == 0;

			id = vol ? VOLATILE_BASE + w * 100ULL + rng_below(&s, 8) : stable[rng_below(&s, 2)];
			kids[n] = (struct child){ spawn_member(rng_next(&s), false), id, false };
			err = contid_set(kids[n].pid, rng_below(&s, 4) ? 0 : kids[n].pid, id);
			note_write(err, id, UINT64_MAX, kids[n].pid);
			n++;
			__sync_fetch_and_add(&sh->spawns, 1);
		} else if (r < 65 && n) {
			/* Move a running member (or a keeper to its own ID). */
			c = &kids[rng_below(&s, n)];
			if (c->keeper)
				id = c->contid;
			else
				id = rng_below(&s, 3) ? stable[rng_below(&s, 2)] :
				     VOLATILE_BASE + w * 100ULL + rng_below(&s, 8);
			err = contid_set(c->pid, 0, id);
			note_write(err, id, c->contid, c->pid);
			if (!err)
				c->contid = id;
			__sync_fetch_and_add(&sh->moves, 1);
		} else if (r < 75 && n) {
			/* Through a thread's file, found in /proc. */
			char path[64];
			DIR *d;

			c = &kids[rng_below(&s, n)];
			snprintf(path, sizeof(path), "/proc/%d/task", c->pid);
			if ((d = opendir(path))) {
				pid_t tid = 0;

				for (struct dirent *e; (e = readdir(d));)
					if (atoi(e->d_name) > 0)
						tid = atoi(e->d_name);
				closedir(d);
				id = c->keeper ? c->contid : stable[rng_below(&s, 2)];
				if (tid) {
					err = contid_set(c->pid, tid, id);
					note_write(err, id, c->contid, c->pid);
					if (!err)
						c->contid = id;
				}
			}
		} else if (r < 85 && n) {
			c = &kids[rng_below(&s, n)];
			if (!c->keeper) {
				kill(c->pid, rng_below(&s, 2) ? SIGKILL : SIGTERM);
				__sync_fetch_and_add(&sh->signals, 1);
			}
		} else if (r < 87) {
			/* Retire a stable ID: kill its keeper; never use the ID again. */
			int k = rng_below(&s, 2);

			for (int i = 0; i < n; i++)
				if (kids[i].keeper && kids[i].contid == stable[k]) {
					kill(kids[i].pid, SIGKILL);
					kids[i].keeper = false;
				}
			/* Members still in it are moved out or die; nobody writes it again. */
			stable[k] = STABLE_BASE + w * 100000ULL + stable_next++;
			if (n < MAX_CHILDREN) {
				kids[n] = (struct child){ spawn_member(0, true), stable[k], true };
				note_write(contid_set(kids[n].pid, 0, stable[k]), stable[k], UINT64_MAX,
					   kids[n].pid);
				n++;
				__sync_fetch_and_add(&sh->keepers, 1);
			}
		} else {
			usleep(rng_below(&s, 3000));
		}
	}
	/* The end: everything below this worker dies. */
	for (int i = 0; i < n; i++)
		kill(kids[i].pid, SIGKILL);
	for (;;) {
		/* Orphans were reparented to us (subreaper); kill whatever is left. */
		char path[64];
		FILE *f;
		int pid, any = 0;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", getpid(), getpid());
		if ((f = fopen(path, "r"))) {
			while (fscanf(f, "%d", &pid) == 1) {
				kill(pid, SIGKILL);
				any = 1;
			}
			fclose(f);
		}
		pid = waitpid(-1, NULL, 0);
		if (pid < 0 && errno == ECHILD && !any)
			break;
	}
	_exit(0);
}

static long read_lost(void)
{
	struct audit_status st = {};
	int fd = ac_open(5000);
	int err = fd < 0 ? fd : ac_get(fd, &st);

	if (fd >= 0)
		close(fd);
	return err ? -1 : (long)st.lost;
}

static bool run_workers(double secs, uint64_t s)
{
	pid_t pids[64];
	double end = now_s() + secs;

	sh->stop = 0;
	for (int w = 0; w < nworkers; w++) {
		uint64_t ws = rng_next(&s);

		pids[w] = fork();
		if (pids[w] == 0)
			worker(w, ws);
	}
	while (now_s() < end)
		usleep(100000);
	sh->stop = 1;
	for (int w = 0; w < nworkers; w++)
		waitpid(pids[w], NULL, 0);
	return true;
}

/* Writes of a fresh ID to a child that is exiting, racing its exit (see the top). */
static void race_exits(void)
{
	pid_t pids[EXITING_PROCS];

	for (int p = 0; p < EXITING_PROCS; p++) {
		pids[p] = fork();
		if (pids[p])
			continue;
		for (long i = 0; i < exiting; i++) {
			uint64_t id = EXITING_BASE + p * exiting + i;
			char path[64], text[32], c = 0;
			int pp[2], f, n, err = 0;
			pid_t pid;

			if (pipe(pp))
				_exit(1);
			pid = fork();
			if (pid == 0) {
				/* Exits as soon as the writer is ready. */
				if (read(pp[0], &c, 1) < 0)
					_exit(1);
				_exit(0);
			}
			snprintf(path, sizeof(path), "/proc/%d/audit_containerid", pid);
			f = open(path, O_WRONLY | O_CLOEXEC);
			n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)id);
			if (write(pp[1], &c, 1) != 1)
				err = -EPIPE;
			/* A varying head start for the exit. */
			for (volatile long k = 0; k < (i * 37) % 3000; k++)
				;
			if (!err && (f < 0 || write(f, text, n) != n))
				err = -errno;
			__sync_fetch_and_add(&sh->exit_writes, 1);
			if (!err)
				__sync_fetch_and_add(&sh->exit_ok, 1);
			else if (err == -ESRCH)
				__sync_fetch_and_add(&sh->exit_esrch, 1);
			else
				__sync_fetch_and_add(&sh->exit_bad, 1);
			if (f >= 0)
				close(f);
			close(pp[0]);
			close(pp[1]);
			waitpid(pid, NULL, 0);
		}
		_exit(0);
	}
	for (int p = 0; p < EXITING_PROCS; p++)
		waitpid(pids[p], NULL, 0);
}

int main(int argc, char **argv)
{
	struct audit_status st;
	long lost0, lost1, lost2;
	int fd, rc;
	double t0 = now_s();

	if (argc == 4 && !strcmp(argv[1], "--member")) {
		/* A member after exec(). */
		member(strtoull(argv[2], NULL, 10), atoi(argv[3]));
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--duration") && i + 1 < argc)
			duration = atof(argv[++i]);
		else if (!strcmp(argv[i], "--small") && i + 1 < argc)
			small = atof(argv[++i]);
		else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
			nworkers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--exiting") && i + 1 < argc)
			exiting = atol(argv[++i]);
		else {
			fprintf(stderr,
				"usage: %s [--seed N] [--duration SEC] [--small SEC] [--workers N] [--exiting N]\n",
				argv[0]);
			return 2;
		}
	}
	if (small < 0)
		small = duration / 6;
	if (nworkers < 1 || nworkers > 64)
		nworkers = 6;
	if (exiting < 0)
		exiting = duration * 10;
	if (exiting > 10000)
		exiting = 10000;
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..9\n");
	diag("contid_stress seed=%#llx duration=%.0fs small-backlog=%.0fs workers=%d cpus=%ld",
	     (unsigned long long)seed, duration, small, nworkers, sysconf(_SC_NPROCESSORS_ONLN));
	if (access("/proc/self/audit_containerid", F_OK)) {
		for (int i = 0; i < 9; i++)
			ktap_result(true, "SKIP no /proc/PID/audit_containerid", "invariant %d", i + 1);
		return 4;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	{
		pthread_mutexattr_t a;

		pthread_mutexattr_init(&a);
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
		pthread_mutex_init(&sh->lock, &a);
	}
	/* Reset the lost counter (AUDIT_STATUS_LOST returns and zeroes it). */
	fd = ac_open(5000);
	st = (struct audit_status){ .mask = AUDIT_STATUS_LOST };
	if (fd >= 0)
		ac_set(fd, &st);
	lost0 = read_lost();
	if (start_auditor(1000000, 60000)) {
		for (int i = 0; i < 9; i++)
			ktap_result(true, "SKIP cannot become the audit daemon (auditd running?)",
				    "invariant %d", i + 1);
		return 4;
	}

	/* Phase 1 */
	run_workers(duration, seed);
	race_exits();
	rc = stop_auditor();
	lost1 = read_lost();
	diag("phase 1: %.1f s; writes=%ld ok=%ld esrch=%ld gone-before-open=%ld bad=%ld; spawns=%ld moves=%ld keepers=%ld signals=%ld",
	     now_s() - t0, sh->writes, sh->write_ok, sh->write_esrch, sh->open_fail, sh->write_bad,
	     sh->spawns, sh->moves, sh->keepers, sh->signals);
	diag("racing exits: writes=%ld ok=%ld esrch=%ld bad=%ld", sh->exit_writes, sh->exit_ok,
	     sh->exit_esrch, sh->exit_bad);
	diag("auditor (exit %d): records=%ld container=%ld destroy=%ld ns_create=%ld ns_destroy=%ld other=%ld ids=%d namespaces=%d",
	     rc, sh->records, sh->containers, sh->destroys, sh->ns_creates, sh->ns_destroys,
	     sh->other, sh->naids, sh->nns);

	ktap_result(sh->write_bad == 0 && sh->write_ok > 0, NULL, "writes_return_0_or_esrch%s%s",
		    sh->write_bad ? ": " : "", sh->bad);

	/* Destroys: stable IDs exactly once; volatile ones within bounds. */
	{
		long bad = 0, stable = 0, vol = 0;

		for (int i = 0; i < sh->nids; i++) {
			uint64_t id = sh->ids[i].id;
			struct aid *a = aid_get(id);
			bool is_stable = id < VOLATILE_BASE;

			if (!a)
				continue;
			if (is_stable) {
				stable++;
				if (a->destroys != 1 || a->after_destroy) {
					bad++;
					diag("stable contid %llu: %ld op=destroy, %ld records after it (want 1, 0)",
					     (unsigned long long)id, a->destroys, a->after_destroy);
					trail_show(id);
				}
			} else {
				vol++;
				if (a->destroys < 1 || a->destroys > a->creators) {
					bad++;
					diag("volatile contid %llu: %ld op=destroy for %ld writes that could create it",
					     (unsigned long long)id, a->destroys, a->creators);
					trail_show(id);
				}
			}
		}
		for (int i = 0; i < MAX_IDS; i++)
			if (sh->aids[i].id && sh->aids[i].id < EXITING_BASE && sh->aids[i].destroys &&
			    !sh->aids[i].sets) {
				bad++;
				diag("contid %llu destroyed but never set", (unsigned long long)sh->aids[i].id);
				trail_show(sh->aids[i].id);
			}
		diag("checked %ld stable and %ld volatile IDs", stable, vol);
		ktap_result(!bad && rc == 0 && stable > 0, NULL, "one_destroy_per_container");
	}
	/* Writes racing exits: a container that nobody joined dies unreported. */
	{
		long bad = 0, joined = 0;

		for (int i = 0; i < MAX_IDS; i++) {
			struct aid *a = &sh->aids[i];

			if (a->id < EXITING_BASE || a->id >= EXITING_BASE + EXITING_PROCS * exiting)
				continue;
			joined += a->sets == 1 && a->destroys == 1;
			if (a->sets > 1 || a->destroys != a->sets) {
				if (++bad <= 5) {
					diag("contid %llu: %ld op=set res=1, %ld op=destroy (want 1, 1 or 0, 0)",
					     (unsigned long long)a->id, a->sets, a->destroys);
					trail_show(a->id);
				}
			}
		}
		diag("racing exits: %ld containers joined and destroyed, %ld broken", joined, bad);
		ktap_result(!bad && rc == 0 && sh->exit_bad == 0 && joined == sh->exit_ok &&
			    sh->exit_writes == EXITING_PROCS * exiting, NULL,
			    "failed_writes_leave_no_destroy (%ld ok, %ld ESRCH)", sh->exit_ok,
			    sh->exit_esrch);
	}
	/* Namespaces balance. */
	{
		long open = 0, neg = 0;

		for (int i = 0; i < MAX_NS; i++) {
			if (!sh->ns[i].nsid)
				continue;
			if (sh->ns[i].live) {
				open++;
				if (open < 10) {
					diag("nsid %llu: %ld CREATE without DESTROY",
					     (unsigned long long)sh->ns[i].nsid, sh->ns[i].live);
					trail_show_ns(sh->ns[i].nsid);
				}
			}
			if (sh->ns[i].negative) {
				neg++;
				if (neg < 10) {
					diag("nsid %llu: DESTROY before its CREATE",
					     (unsigned long long)sh->ns[i].nsid);
					trail_show_ns(sh->ns[i].nsid);
				}
			}
		}
		diag("namespaces: %d seen, %ld unbalanced, %ld destroy-first, %ld destroys of namespaces created before the run",
		     sh->nns, open, neg, sh->ns_negative_unknown);
		ktap_result(!open && !neg && rc == 0 && sh->nns > 0, NULL, "ns_create_destroy_balanced");
	}
	ktap_result(lost0 >= 0 && lost1 == lost0, NULL, "no_loss_with_large_backlog (lost %ld -> %ld)",
		    lost0, lost1);
	/* The debugfs count of container objects alive (patch 7). */
	{
		FILE *f = fopen(OBJECTS_FILE, "r");
		long objects = -1;

		if (!f) {
			ktap_result(true, "SKIP " OBJECTS_FILE " not in this kernel", "no_container_objects_left");
		} else {
			if (fscanf(f, "%ld", &objects) != 1)
				objects = -1;
			fclose(f);
			ktap_result(objects == 0, NULL, "no_container_objects_left (%ld)", objects);
		}
	}

	/* Phase 2: a tiny backlog that the auditor cannot keep up with. */
	memset(sh->aids, 0, sizeof(sh->aids));
	memset(sh->ns, 0, sizeof(sh->ns));
	sh->naids = sh->nns = 0;
	sh->auditor_slow = 1;
	if (start_auditor(4, 0)) {
		ktap_result(false, NULL, "small_backlog_survives (no auditor)");
		ktap_result(false, NULL, "small_backlog_loss_counted");
	} else {
		long rec_before = sh->records;

		sh->write_bad = 0;
		run_workers(small, seed ^ 0x5a5a);
		sh->auditor_slow = 0;
		rc = stop_auditor();
		lost2 = read_lost();
		diag("phase 2: records=%ld lost %ld -> %ld, bad writes %ld",
		     sh->records - rec_before, lost1, lost2, sh->write_bad);
		ktap_result(rc == 0 && sh->write_bad == 0, NULL, "small_backlog_survives");
		ktap_result(lost2 > lost1, NULL, "small_backlog_loss_counted (lost %ld -> %ld)", lost1, lost2);
	}
	/* Back to the defaults: no daemon, default backlog. */
	st = (struct audit_status){ .mask = AUDIT_STATUS_PID | AUDIT_STATUS_BACKLOG_LIMIT |
					    AUDIT_STATUS_BACKLOG_WAIT_TIME,
				    .pid = 0, .backlog_limit = 64, .backlog_wait_time = 60 * 250 };
	if (fd >= 0) {
		ac_set(fd, &st);
		close(fd);
	}
	ktap_result(true, NULL, "kernel_alive_at_end");
	diag("contid_stress seed=%#llx done in %.1f s: %d failed", (unsigned long long)seed,
	     now_s() - t0, ktap_failed);
	return ktap_failed ? 1 : 0;
}
