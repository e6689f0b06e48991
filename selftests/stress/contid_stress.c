// SPDX-License-Identifier: GPL-2.0
/*
 * contid_stress - race stress of audit container IDs, for the test VM only
 * (it becomes the audit daemon, changes the backlog limit and registers
 * processes).
 *
 *   contid_stress [--seed N] [--duration SEC] [--workers N] [--small SEC]
 *                 [--exiting N] [--nest SEC] [--tree SEC]
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
 * Nesting, alongside phase 1's workers and checked from the same auditor
 * (--nest SEC, default --duration; 0 leaves it out; SKIP on a kernel without
 * /proc/PID/audit_containerid_quota; KTAP cases 7-12): NEST_OUTERS outer
 * orchestrators (in no container, child subreapers) each keep NEST_FAMILIES
 * delegates alive: each registered in a fresh top-level container (its home)
 * and granted a quota of 1..6. The delegates, concurrently: create
 * sub-containers on children that wait (keepers, which keep them alive) and
 * on children that run, fork, exec, unshare (UTS, IPC) and exit (members);
 * put new members into and move members between their live sub-containers;
 * write their own home (EEXIST expected); fork delegates that share their
 * pool (and may use their parent's sub-containers); create sub-delegates (a
 * child put into a new sub-container and granted 1..3 carved from the pool;
 * homes down to depth NEST_SUBDEL_DEPTH), re-carve or revoke them; retire
 * sub-containers (kill the keeper; the ID is never written again); read
 * their quota; exit. At
 * the same time the outer orchestrators revoke (0) and re-grant (a new pool)
 * the quota of any delegate, move members out of sub-containers (into a
 * fresh top-level container or into their delegate's home), read the quota
 * of delegates and members, and end families (a new one with a new home
 * replaces it). Every ID is handed out once (NEST_BASE + k): the invariants
 *   - nest_delegate_errnos: each write's errno is one its operation allows:
 *     0, ESRCH only for a member that may be exiting, EDQUOT only where a new
 *     sub-container (or a carved grant) was asked for, EEXIST only for a
 *     write of the home (always) or of a sub-container that another pool of
 *     the writer created, EPERM only when the writer's pool was revoked or
 *     replaced (before or during the write), or the target was moved by an
 *     outer orchestrator or is in a sub-container of a replaced pool; the
 *     outer orchestrators' writes only 0 or ESRCH (a delegate that exits);
 *     no keeper died unasked;
 *   - nest_quota_reads: every read of audit_containerid_quota is exactly
 *     "USED LIMIT\n" (decimal, no sign), USED <= LIMIT, and LIMIT 0 or a
 *     quota that was granted;
 *   - nest_one_destroy_per_container: an ID whose creating write succeeded
 *     has op=set/move res=1 records and exactly one op=destroy, nothing
 *     after it; an ID whose creating write failed has neither; the lost
 *     counter did not move;
 *   - nest_sub_destroyed_before_parent: parent-contid= of a sub-container is
 *     its creator's home in every record, and its op=destroy comes before
 *     its parent's;
 *   - nest_live_subs_within_quota: from the records, per home, the
 *     sub-containers alive (first res=1 record with parent-contid= to
 *     op=destroy) never exceed the quotas granted in that home (op=delegate
 *     res=1 contid=HOME). A pool is known in the records only by its home:
 *     with one grant in a home (most of them) this is the pool's own limit;
 *     with several (re-grants in place) it is the sum of their limits. The
 *     kernel's own count is checked by nest_quota_reads;
 *   - nest_no_container_objects_left: debugfs objects back to the count
 *     before phase 1.
 * Tree rule (--tree SEC, default duration/4, after phase 1 with the same
 * auditor; SKIP as the nesting part): an AUDIT_CONTID_TREE rule on a
 * top-level container X audits getppid(). A delegate in X creates
 * sub-containers A and B (kept alive by keepers) and moves a member, born in
 * X, into A and then between A and B as fast as it can, while the member
 * calls getppid() as fast as it can. The member is in X's tree at every
 * moment, so
 *   - tree_rule_sees_every_event: the SYSCALL records with the rule's key
 *     are exactly the member's calls, and every move succeeded.
 * A reader that paired the ID of one container with the chain of another
 * (the ID and the chain are two words of signal_struct) would miss events.
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
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/sched.h>

#define OBJECTS_FILE "/sys/kernel/debug/audit_container/objects"
#define STABLE_BASE 100000000ULL	/* worker w, slot k: STABLE_BASE + w * 100000 + k */
#define VOLATILE_BASE 200000000ULL	/* + w * 100 + k, k < 8 */
#define EXITING_BASE 300000000ULL	/* + p * exiting + i: writes racing exits */
#define EXITING_PROCS 4
#define TREE_BASE 500000000ULL	/* the tree rule part: X, A, B */
#define TREE_KEY "ac_tree"
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
	volatile int nesting;		/* auditor: the nesting part's records too */
	long writes, write_ok, write_esrch, write_bad, open_fail;
	long spawns, moves, keepers, signals;
	long exit_writes, exit_ok, exit_esrch, exit_bad;
	char bad[256];
	/* The tree rule part. */
	volatile int tree_go, tree_stop;
	long tree_calls, tree_moves, tree_bad, tree_events;
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

static bool nest_record(const char *text);

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
		if (sh->nesting && nest_record(text))
			break;
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
	case AUDIT_SYSCALL:
		if (strstr(text, " key=\"" TREE_KEY "\""))
			sh->tree_events++;
		sh->other++;
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

/* Kills and reaps every process left below this one, a subreaper: orphans come to it. */
static void reap_orphans(void)
{
	for (;;) {
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
	reap_orphans();
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

/* Nesting, alongside phase 1 (see the top). */
#define NEST_BASE 400000000ULL	/* + k, k < NEST_IDS: each ID handed out once */
#define NEST_IDS 32768
#define NEST_DELS 1024
#define NEST_MEMS 4096
#define NEST_POOLS 16384
#define NEST_OUTERS 2
#define NEST_FAMILIES 2		/* top-level delegates per outer orchestrator */
#define NEST_SUBDEL_DEPTH 2	/* deepest home of a sub-delegate */
#define NEST_CHILDREN 20	/* per delegate */
#define NEST_SUBS 10		/* sub-containers with a keeper, per delegate */

enum { NK_NONE, NK_HOME, NK_SUB, NK_OUT };
enum {
	NO_CREATE_KEEPER, NO_CREATE_MEMBER, NO_JOIN, NO_MOVE, NO_PROBE, NO_CREATE_SUBDEL, NO_CARVE,
	NO_UNCARVE, NO_READ, NO_OUT_REGISTER, NO_OUT_GRANT, NO_OUT_REVOKE, NO_OUT_REGRANT,
	NO_OUT_MOVE, NO_OUT_READ, NO_NOPS
};
static const char *const nest_op_name[NO_NOPS] = {
	"create(keeper)", "create(member)", "join", "move", "probe(home)", "create(sub-delegate)",
	"carve", "uncarve", "read-own-quota", "outer:register", "outer:grant", "outer:revoke",
	"outer:regrant", "outer:move-out", "outer:read-quota",
};
enum { NE_OK, NE_ESRCH, NE_EDQUOT, NE_EEXIST, NE_EPERM, NE_EMLINK, NE_EINVAL, NE_OTHER, NE_N };
static const char *const nest_err_name[NE_N] = {
	"0", "ESRCH", "EDQUOT", "EEXIST", "EPERM", "EMLINK", "EINVAL", "other"
};

/* Shared by the processes of the phase (MAP_SHARED). */
struct nest_shared {
	pthread_mutex_t lock;	/* robust; guards del[], mem[], pool[] changes */
	volatile int stop;
	int next;		/* IDs handed out */
	long recno;		/* auditor: AUDIT_CONTAINER records seen (positions) */
	long records;		/* auditor: those about the nesting part's IDs */
	/* Per ID, writer side. */
	struct nid_w {
		uint8_t kind;
		uint8_t created;	/* the write that was to create it succeeded */
		int32_t parent;		/* NK_SUB: k of the writer's home */
	} w[NEST_IDS];
	/* Per ID, from the records. */
	struct nid_a {
		int32_t parent;	/* from the first res=1 op=set|move: k, -1 none, -3 outside */
		int32_t sets, destroys, after_destroy, parent_bad, live, max_live, grants;
		long destroy_pos, grant_sum;
	} a[NEST_IDS];
	/* Delegates: an outer orchestrator's ('d'), forked ('f'), sub-delegates ('n'). */
	struct ndel {
		pid_t pid;
		int used, kind, home, pool;	/* pool: index in pool[], -1 none */
		volatile int seq;		/* odd while its pool changes */
		volatile int stop, go;
	} del[NEST_DELS];
	struct npool {
		int limit;
		volatile int revoked, by_outer;
	} pool[NEST_POOLS];
	int npools;
	/* Members that an outer orchestrator may move out. */
	struct nmem {
		pid_t pid;
		int used, home;
		volatile int moved;
	} mem[NEST_MEMS];
	volatile uint32_t granted;	/* bit n: a quota of n was granted */
	long ops[NO_NOPS][NE_N];
	long unexpected, refused_records;
	char unexpected_msg[6][400];
	long qreads, qbad;
	char qbad_msg[3][160];
	long keeper_lost, exhausted, lock_dead, families, forks, subdels, retired;
};
static struct nest_shared *nsh;
static double nest_secs = -1;
static double nest_t0, nest_end;

static inline uint64_t nid(int k)
{
	return NEST_BASE + k;
}

static int nest_k(uint64_t id)
{
	return id >= NEST_BASE && id < NEST_BASE + NEST_IDS ? (int)(id - NEST_BASE) : -1;
}

static int nid_alloc(int kind, int parent)
{
	int k = __sync_fetch_and_add(&nsh->next, 1);

	if (k >= NEST_IDS) {
		__sync_fetch_and_add(&nsh->exhausted, 1);
		return -1;
	}
	nsh->w[k].kind = kind;
	nsh->w[k].parent = parent;
	return k;
}

static void nlock(void)
{
	if (pthread_mutex_lock(&nsh->lock) == EOWNERDEAD) {
		__sync_fetch_and_add(&nsh->lock_dead, 1);
		pthread_mutex_consistent(&nsh->lock);
	}
}

static void nunlock(void)
{
	pthread_mutex_unlock(&nsh->lock);
}

static int nerr(int err)
{
	switch (-err) {
	case 0: return NE_OK;
	case ESRCH: return NE_ESRCH;
	case EDQUOT: return NE_EDQUOT;
	case EEXIST: return NE_EEXIST;
	case EPERM: return NE_EPERM;
	case EMLINK: return NE_EMLINK;
	case EINVAL: return NE_EINVAL;
	}
	return NE_OTHER;
}

/* Counts the result of an operation; @ok false: not one it allows. */
static void __attribute__((format(printf, 4, 5)))
nest_note(int op, int err, bool ok, const char *fmt, ...)
{
	long n;
	va_list ap;
	int o;

	__sync_fetch_and_add(&nsh->ops[op][nerr(err)], 1);
	if (ok)
		return;
	n = __sync_fetch_and_add(&nsh->unexpected, 1);
	if (n >= 6)
		return;
	o = snprintf(nsh->unexpected_msg[n], sizeof(nsh->unexpected_msg[n]), "%s: %s (pid %d): ",
		     nest_op_name[op], err ? strerror(-err) : "success", getpid());
	va_start(ap, fmt);
	vsnprintf(nsh->unexpected_msg[n] + o, sizeof(nsh->unexpected_msg[n]) - o, fmt, ap);
	va_end(ap);
}


/* What the writer and the target look like now, for a message about a refusal. */
static const char *nest_context(pid_t target)
{
	static char buf[200];
	char q[32] = "?", stat[256] = "", *p;
	int fd, ppid = -1, n = quota_get(getpid(), 0, q, sizeof(q));

	if (n > 0)
		q[strcspn(q, "\n")] = 0;
	snprintf(stat, sizeof(stat), "/proc/%d/stat", target);
	if ((fd = open(stat, O_RDONLY)) >= 0) {
		n = read(fd, stat, sizeof(stat) - 1);
		close(fd);
		stat[n > 0 ? n : 0] = 0;
		if ((p = strrchr(stat, ')')))
			sscanf(p + 2, "%*c %d", &ppid);
	}
	snprintf(buf, sizeof(buf), "[writer contid %lld quota \"%s\"; target contid %lld ppid %d]",
		 (long long)contid_get(getpid(), 0), q, (long long)contid_get(target, 0), ppid);
	return buf;
}

/* A decimal without sign or leading zero; the rest of the text in @end. */
static bool parse_dec(const char *p, const char **end, unsigned long *v)
{
	const char *q = p;

	*v = 0;
	while (*q >= '0' && *q <= '9' && q - p < 12)
		*v = *v * 10 + (*q++ - '0');
	*end = q;
	return q > p && !(*p == '0' && q - p > 1);
}

/* Reads the quota of @pid and checks it (nest_quota_reads). */
static void nest_quota_check(pid_t pid, const char *who)
{
	char buf[64], why[64] = "";
	unsigned long used = 0, limit = 0;
	const char *p;
	int n = quota_get(pid, 0, buf, sizeof(buf));

	__sync_fetch_and_add(&nsh->qreads, 1);
	if (n < 0)
		snprintf(why, sizeof(why), "read: %s", strerror(-n));
	else if (!parse_dec(buf, &p, &used) || *p != ' ' || !parse_dec(p + 1, &p, &limit) ||
		 strcmp(p, "\n"))
		snprintf(why, sizeof(why), "malformed");
	else if (used > limit)
		snprintf(why, sizeof(why), "used above the limit");
	else if (limit && (limit > 31 || !(nsh->granted & (1U << limit))))
		snprintf(why, sizeof(why), "a limit never granted");
	if (*why) {
		long k = __sync_fetch_and_add(&nsh->qbad, 1);

		if (k < 3) {
			buf[strcspn(buf, "\n")] = 0;
			snprintf(nsh->qbad_msg[k], sizeof(nsh->qbad_msg[k]),
				 "%s %d reads \"%.20s\": %s", who, pid, buf, why);
		}
	}
}

/* Under the lock. */
static int pool_alloc(int limit, bool by_outer)
{
	int p = nsh->npools;

	if (p >= NEST_POOLS)
		return -1;
	nsh->npools++;
	nsh->pool[p] = (struct npool){ .limit = limit, .by_outer = by_outer };
	__sync_fetch_and_or(&nsh->granted, 1U << limit);
	return p;
}

/* Under the lock. */
static int del_alloc(int kind, int home, int pool)
{
	for (int i = 0; i < NEST_DELS; i++)
		if (!nsh->del[i].used) {
			nsh->del[i] = (struct ndel){ .used = 1, .kind = kind, .home = home,
						     .pool = pool };
			return i;
		}
	return -1;
}

/* Under the lock. */
static int mem_alloc(pid_t pid, int home)
{
	for (int i = 0; i < NEST_MEMS; i++)
		if (!nsh->mem[i].used) {
			nsh->mem[i] = (struct nmem){ .pid = pid, .used = 1, .home = home };
			return i;
		}
	return -1;
}

/* A delegate's own view (each delegate process has its copy). */
struct dchild {
	pid_t pid;
	char kind;	/* 'k' keeper, 'r' running member, 'i' idle member, 'f' forked, 'n' sub-delegate */
	bool dying;	/* killed by the delegate */
	int mem;	/* slot in nsh->mem, or -1 */
	int del;	/* slot in nsh->del, or -1 */
	int cpool;	/* the pool that created its container: -1 the home, -2 unknown */
};
struct dsub {
	int k;		/* its ID */
	pid_t keeper;	/* a child of the delegate that created it */
	int pool;	/* the pool that created it, -2 unknown */
	bool mine, retired;
};
static struct {
	int me, home, phome, depth;
	bool forked;
	uint64_t s;
	double born;
	struct dchild c[NEST_CHILDREN];
	int nc;
	struct dsub sub[NEST_SUBS];
	int nsub;
} ds;

/* A write's view of the writer's pool, to explain a refusal afterwards. */
struct wctx {
	int pool0, seq0;
};

static int del_pool(int me, int *seq)
{
	*seq = __atomic_load_n(&nsh->del[me].seq, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&nsh->del[me].pool, __ATOMIC_SEQ_CST);
}

static void wbegin(struct wctx *w)
{
	w->pool0 = del_pool(ds.me, &w->seq0);
}

/* Whether the writer's pool was replaced during the write; @p: the pool now. */
static bool wchanged(const struct wctx *w, int *p)
{
	int seq1;

	*p = del_pool(ds.me, &seq1);
	return seq1 != w->seq0 || (w->seq0 & 1) || *p != w->pool0;
}

/* The pool that a write charged, if known. */
static int wpool(const struct wctx *w)
{
	int p;

	return wchanged(w, &p) || p < 0 ? -2 : p;
}

/* EPERM is explained: no active pool now or during the write, or a target out of its reach. */
static bool eperm_ok(const struct wctx *w, const struct dchild *c)
{
	int p;

	if (wchanged(w, &p) || p < 0 || nsh->pool[p].revoked)
		return true;
	if (c && c->mem >= 0 && nsh->mem[c->mem].moved)
		return true;
	return c && (c->cpool == -2 || (c->cpool >= 0 && c->cpool != p));
}

/* EEXIST for an own sub-container is explained: another pool of the writer created it. */
static bool eexist_ok(const struct wctx *w, int subpool)
{
	int p;

	return wchanged(w, &p) || subpool == -2 || subpool != p;
}

/*
 * What a running member of the nesting part does: phase 1's member() made
 * lighter (namespaces of the cheap kinds only, which are still attributed to
 * its container), as its delegate's writes are what counts here.
 */
static void nest_member(uint64_t s, int depth)
{
	int steps = 1 + rng_below(&s, 8);

	for (int i = 0; i < steps; i++) {
		switch (rng_below(&s, 8)) {
		case 0:
			if (depth < 2 && fork() == 0) {
				nest_member(rng_next(&s), depth + 1);
				_exit(0);
			}
			break;
		case 1: {
			pthread_t t;

			if (!pthread_create(&t, NULL, member_thread, (void *)(uintptr_t)rng_next(&s)))
				pthread_detach(t);
			break;
		}
		case 2:
			if (depth < 2) {
				char arg[32], d[16];

				snprintf(arg, sizeof(arg), "%llu", (unsigned long long)rng_next(&s));
				snprintf(d, sizeof(d), "%d", depth + 1);
				execl(self_exe, self_exe, "--nest-member", arg, d, (char *)NULL);
			}
			break;
		case 3:
			_exit(0);
		case 4:
			unshare(CLONE_NEWUTS | (rng_below(&s, 2) ? CLONE_NEWIPC : 0));
			break;
		default:
			usleep(rng_below(&s, 5000));
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	usleep(rng_below(&s, 30000));
}

static struct dchild *spawn_child(char kind)
{
	struct dchild *c;
	pid_t parent = getpid(), pid;

	if (ds.nc >= NEST_CHILDREN)
		return NULL;
	pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		if (kind == 'r') {
			nest_member(rng_next(&ds.s) ^ getpid(), 0);
			_exit(0);
		}
		for (;;)
			pause();
	}
	c = &ds.c[ds.nc++];
	*c = (struct dchild){ .pid = pid, .kind = kind, .mem = -1, .del = -1, .cpool = -1 };
	if (kind == 'r' || kind == 'i') {
		nlock();
		c->mem = mem_alloc(pid, ds.home);
		nunlock();
	}
	return c;
}

static struct dsub *sub_of_keeper(pid_t pid)
{
	for (int i = 0; i < ds.nsub; i++)
		if (ds.sub[i].keeper == pid)
			return &ds.sub[i];
	return NULL;
}

/* A child exited: the tables forget it before it is reaped, so that its pid is never reused there. */
static void forget(pid_t pid)
{
	struct dchild *c = NULL;
	struct dsub *sb;

	for (int i = 0; i < ds.nc; i++)
		if (ds.c[i].pid == pid)
			c = &ds.c[i];
	if (!c)
		return;
	if (c->mem >= 0 || c->del >= 0) {
		nlock();
		if (c->mem >= 0)
			nsh->mem[c->mem].used = 0;
		if (c->del >= 0)
			nsh->del[c->del].used = 0;
		nunlock();
	}
	if (c->kind == 'k' && (sb = sub_of_keeper(pid))) {
		if (!sb->retired)
			__sync_fetch_and_add(&nsh->keeper_lost, 1);
		*sb = ds.sub[--ds.nsub];
	}
	*c = ds.c[--ds.nc];
}

static void del_reap(bool block)
{
	for (;;) {
		siginfo_t si = {};

		if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT | (block ? 0 : WNOHANG)) || !si.si_pid)
			return;
		forget(si.si_pid);
		waitpid(si.si_pid, NULL, 0);
		if (block)
			return;
	}
}

static int count_kind(char kind)
{
	int n = 0;

	for (int i = 0; i < ds.nc; i++)
		n += ds.c[i].kind == kind;
	return n;
}

static struct dchild *pick_child(const char *kinds)
{
	int n = 0, i;

	for (i = 0; i < ds.nc; i++)
		n += !!strchr(kinds, ds.c[i].kind);
	if (!n)
		return NULL;
	n = rng_below(&ds.s, n);
	for (i = 0; i < ds.nc; i++)
		if (strchr(kinds, ds.c[i].kind) && n-- == 0)
			return &ds.c[i];
	return NULL;
}

static struct dsub *pick_sub(void)
{
	int n = 0, i;

	for (i = 0; i < ds.nsub; i++)
		n += !ds.sub[i].retired;
	if (!n)
		return NULL;
	n = rng_below(&ds.s, n);
	for (i = 0; i < ds.nsub; i++)
		if (!ds.sub[i].retired && n-- == 0)
			return &ds.sub[i];
	return NULL;
}

static void __attribute__((noreturn)) del_exit(void)
{
	nsh->del[ds.me].stop = 1;
	for (int i = 0; i < ds.nc; i++)
		if (ds.c[i].del >= 0)
			nsh->del[ds.c[i].del].stop = 1;
	/* Delegates below stop first: nobody uses a sub-container of ours after its keeper. */
	while (count_kind('f') + count_kind('n'))
		del_reap(true);
	nlock();
	for (int i = 0; i < ds.nc; i++)
		if (ds.c[i].mem >= 0)
			nsh->mem[ds.c[i].mem].used = 0;
	nunlock();
	_exit(0);
}

/* Writes a new ID to @c: a sub-container of the home. */
static int create_on(struct dchild *c, int op, int *kp)
{
	struct wctx w;
	int k = nid_alloc(NK_SUB, ds.home), err;
	bool ok;

	*kp = k;
	if (k < 0)
		return -ENOSPC;
	wbegin(&w);
	err = contid_set(c->pid, 0, nid(k));
	ok = !err || err == -EDQUOT || (err == -ESRCH && c->kind == 'r') ||
	     (err == -EPERM && eperm_ok(&w, c));
	nest_note(op, err, ok, "pid %d (%c) id %llu (writer pool %d seq %d) %s", c->pid, c->kind,
		  (unsigned long long)nid(k), w.pool0, w.seq0, ok ? "" : nest_context(c->pid));
	if (!err) {
		nsh->w[k].created = 1;
		c->cpool = wpool(&w);
	}
	return err;
}

/* Writes a sub-container of ours that a keeper keeps alive to @c. */
static void join(struct dchild *c, struct dsub *sb, int op)
{
	struct wctx w;
	int err;
	bool ok;

	wbegin(&w);
	err = contid_set(c->pid, 0, nid(sb->k));
	ok = !err || (err == -ESRCH && (c->kind == 'r' || c->dying)) ||
	     (err == -EPERM && eperm_ok(&w, c)) || (err == -EEXIST && eexist_ok(&w, sb->pool));
	nest_note(op, err, ok, "pid %d (%c%s) id %llu (%s, pool %d; writer pool %d seq %d, target cpool %d) %s",
		  c->pid, c->kind, c->dying ? ", killed" : "", (unsigned long long)nid(sb->k),
		  sb->mine ? "own" : "parent's", sb->pool, w.pool0, w.seq0, c->cpool,
		  ok ? "" : nest_context(c->pid));
	if (!err)
		c->cpool = sb->pool;
}

/* Carves @q (0: revokes) for the sub-delegate @c; under the lock, as the outer ones write. */
static int carve(struct dchild *c, unsigned int q)
{
	struct ndel *t = &nsh->del[c->del];
	struct wctx w;
	int old, p = -1, err;
	bool ok;

	nlock();
	wbegin(&w);
	old = t->pool;
	if (q && (p = pool_alloc(q, false)) < 0) {
		nunlock();
		return -ENOSPC;
	}
	t->seq++;
	t->pool = p;
	/*
	 * Revoked before the write, as the outer orchestrators do: processes
	 * forked from the sub-delegate share the pool and may be refused as soon
	 * as the kernel revokes it. A failed write leaves it marked, which only
	 * excuses more.
	 */
	if (old >= 0)
		nsh->pool[old].revoked = 1;
	err = quota_set(c->pid, 0, q);
	if (err)
		t->pool = old;
	t->seq++;
	ok = !err || (q && err == -EDQUOT) || (err == -ESRCH && (t->stop || nsh->stop)) ||
	     (err == -EPERM && (eperm_ok(&w, c) || (old >= 0 && nsh->pool[old].by_outer)));
	nunlock();
	nest_note(q ? NO_CARVE : NO_UNCARVE, err, ok, "pid %d quota %u", c->pid, q);
	return err;
}

static void __attribute__((noreturn)) delegate_loop(void);

static void op_fork(void)
{
	struct dchild *c;
	int d;
	pid_t pid;

	if (ds.forked || count_kind('f') >= 2 || ds.nc >= NEST_CHILDREN)
		return;
	/* Under the lock: the child shares the pool that the table says the parent has. */
	nlock();
	d = del_alloc('f', ds.home, nsh->del[ds.me].pool);
	if (d < 0 || (pid = fork()) < 0) {
		if (d >= 0)
			nsh->del[d].used = 0;
		nunlock();
		return;
	}
	if (pid == 0) {
		ds.me = d;
		ds.forked = true;
		ds.nc = 0;
		ds.s ^= 0x666f726bULL * getpid();
		for (int i = 0; i < ds.nsub; i++)
			ds.sub[i].mine = false;
		delegate_loop();
	}
	nsh->del[d].pid = pid;
	nsh->del[d].go = 1;
	nunlock();
	c = &ds.c[ds.nc++];
	*c = (struct dchild){ .pid = pid, .kind = 'f', .mem = -1, .del = d, .cpool = -1 };
	__sync_fetch_and_add(&nsh->forks, 1);
}

static void op_subdel(void)
{
	struct dchild *c;
	int k, d, err;
	pid_t pid, parent = getpid();

	if (ds.depth >= NEST_SUBDEL_DEPTH || count_kind('n') >= 2 || ds.nc >= NEST_CHILDREN)
		return;
	k = nid_alloc(NK_SUB, ds.home);
	if (k < 0)
		return;
	nlock();
	d = del_alloc('n', k, -1);
	nunlock();
	if (d < 0)
		return;
	pid = fork();
	if (pid < 0) {
		nlock();
		nsh->del[d].used = 0;
		nunlock();
		return;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		while (!nsh->del[d].go && !nsh->stop)
			usleep(500);
		if (nsh->del[d].stop || nsh->stop)
			_exit(0);
		ds.phome = ds.home;
		ds.home = k;
		ds.depth++;
		ds.me = d;
		ds.forked = false;
		ds.nc = ds.nsub = 0;
		ds.s ^= 0x6e657374ULL * getpid();
		delegate_loop();
	}
	nlock();
	nsh->del[d].pid = pid;
	nunlock();
	c = &ds.c[ds.nc++];
	*c = (struct dchild){ .pid = pid, .kind = 'n', .mem = -1, .del = d, .cpool = -1 };
	/* Into a new sub-container of ours, then a grant carved from our pool. */
	{
		struct wctx w;
		bool ok;

		wbegin(&w);
		err = contid_set(pid, 0, nid(k));
		/* It waits for us, unless the phase ends. */
		ok = !err || err == -EDQUOT || (err == -EPERM && eperm_ok(&w, c)) ||
		     (err == -ESRCH && nsh->stop);
		nest_note(NO_CREATE_SUBDEL, err, ok, "pid %d id %llu", pid, (unsigned long long)nid(k));
		if (!err) {
			nsh->w[k].created = 1;
			c->cpool = wpool(&w);
		}
	}
	if (!err)
		err = carve(c, 1 + rng_below(&ds.s, 3));
	if (err)
		nsh->del[d].stop = 1;
	else
		__sync_fetch_and_add(&nsh->subdels, 1);
	nsh->del[d].go = 1;
}

static void __attribute__((noreturn)) delegate_loop(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ds.born = now_s();
	while (!nsh->stop && !nsh->del[ds.me].stop) {
		uint64_t r = rng_below(&ds.s, 100);
		struct dchild *c;
		struct dsub *sb;
		int k;

		del_reap(false);
		if (ds.nc >= NEST_CHILDREN - 2 && (c = pick_child("ir")) && !c->dying) {
			/* Make room. */
			kill(c->pid, SIGKILL);
			c->dying = true;
			r = 100;
		}
		if (r < 14) {
			/* A keeper in a new sub-container. */
			if (ds.nsub < NEST_SUBS && (c = spawn_child('k'))) {
				if (!create_on(c, NO_CREATE_KEEPER, &k)) {
					ds.sub[ds.nsub++] = (struct dsub){ k, c->pid, c->cpool, true, false };
				} else {
					kill(c->pid, SIGKILL);
					c->dying = true;
				}
			}
		} else if (r < 24) {
			/* A member in a new sub-container that it alone keeps alive. */
			if ((c = spawn_child(rng_below(&ds.s, 2) ? 'r' : 'i')))
				create_on(c, NO_CREATE_MEMBER, &k);
		} else if (r < 36) {
			/* A new member into a live sub-container of ours (or of our parent's). */
			if ((sb = pick_sub()) && (c = spawn_child(rng_below(&ds.s, 2) ? 'r' : 'i')))
				join(c, sb, NO_JOIN);
		} else if (r < 52) {
			/* A member from where it is to a live sub-container of ours. */
			if ((sb = pick_sub()) && (c = pick_child("ri")))
				join(c, sb, NO_MOVE);
		} else if (r < 56) {
			/* Our home, or our parent's: a live container that no pool of ours created. */
			if ((c = pick_child("krin"))) {
				int h = ds.phome >= 0 && rng_below(&ds.s, 2) ? ds.phome : ds.home;
				struct wctx w;
				int err;

				wbegin(&w);
				err = contid_set(c->pid, 0, nid(h));
				bool ok = err == -EEXIST || (err == -EPERM && eperm_ok(&w, c));

				nest_note(NO_PROBE, err, ok, "pid %d (%c) id %llu (writer pool %d seq %d, target cpool %d) %s",
					  c->pid, c->kind, (unsigned long long)nid(h), w.pool0, w.seq0,
					  c->cpool, ok ? "" : nest_context(c->pid));
			}
		} else if (r < 61) {
			nest_quota_check(getpid(), "delegate (own)");
			__sync_fetch_and_add(&nsh->ops[NO_READ][NE_OK], 1);
		} else if (r < 64) {
			op_fork();
		} else if (r < 67) {
			op_subdel();
		} else if (r < 69) {
			if ((c = pick_child("n")) && nsh->del[c->del].go && !nsh->del[c->del].stop)
				carve(c, rng_below(&ds.s, 3) ? 1 + rng_below(&ds.s, 3) : 0);
		} else if (r < 73) {
			/* Retire a sub-container: never written again. Not while a forked delegate may use it. */
			if (!count_kind('f') && (sb = pick_sub()) && sb->mine) {
				kill(sb->keeper, SIGKILL);
				sb->retired = true;
				__sync_fetch_and_add(&nsh->retired, 1);
			}
		} else if (r < 78) {
			if ((c = pick_child("i")) && !c->dying) {
				kill(c->pid, SIGKILL);
				c->dying = true;
			}
		} else if (r < 79 && now_s() - ds.born > 1) {
			del_exit();
		} else {
			usleep(rng_below(&ds.s, 3000));
		}
	}
	del_exit();
}

/* The outer orchestrators */

struct family {
	pid_t pid;
	int del;
};

static void start_family(struct family *f, uint64_t *s)
{
	int k = nid_alloc(NK_HOME, -1), d, p, err;
	unsigned int q = 1 + rng_below(s, 6);
	pid_t pid;

	if (k < 0)
		return;
	nlock();
	d = del_alloc('d', k, -1);
	nunlock();
	if (d < 0)
		return;
	memset(&ds, 0, sizeof(ds));
	ds.me = d;
	ds.home = k;
	ds.phome = -1;
	ds.s = rng_next(s);
	pid = fork();
	if (pid < 0) {
		nsh->del[d].used = 0;
		return;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		while (!nsh->del[d].go && !nsh->stop)
			usleep(500);
		if (nsh->del[d].stop || nsh->stop)
			_exit(0);
		delegate_loop();
	}
	nlock();
	nsh->del[d].pid = pid;
	nunlock();
	err = contid_set(pid, 0, nid(k));
	nest_note(NO_OUT_REGISTER, err, !err || (err == -ESRCH && nsh->stop), "pid %d id %llu", pid,
		  (unsigned long long)nid(k));
	if (!err) {
		nsh->w[k].created = 1;
		nlock();
		p = pool_alloc(q, true);
		nsh->del[d].seq++;
		nsh->del[d].pool = p;
		err = p < 0 ? -ENOSPC : quota_set(pid, 0, q);
		if (err)
			nsh->del[d].pool = -1;
		nsh->del[d].seq++;
		nunlock();
		/* A delegate that was waiting exits when the phase ends. */
		nest_note(NO_OUT_GRANT, err, !err || (err == -ESRCH && nsh->stop), "pid %d quota %u",
			  pid, q);
	}
	if (err)
		nsh->del[d].stop = 1;
	nsh->del[d].go = 1;
	f->pid = pid;
	f->del = d;
	__sync_fetch_and_add(&nsh->families, 1);
}

/* Under the lock: a random used slot of @n whose used field is at @used (stride @size). */
static int pick_slot(uint64_t *s, const void *base, size_t size, int n, size_t used_off, size_t pid_off)
{
	int start = rng_below(s, n);

	for (int i = 0; i < n; i++) {
		const char *e = (const char *)base + ((start + i) % n) * size;

		if (*(const int *)(e + used_off) && *(const pid_t *)(e + pid_off))
			return (start + i) % n;
	}
	return -1;
}

#define PICK_DEL(s) pick_slot(s, nsh->del, sizeof(nsh->del[0]), NEST_DELS, \
			      offsetof(struct ndel, used), offsetof(struct ndel, pid))
#define PICK_MEM(s) pick_slot(s, nsh->mem, sizeof(nsh->mem[0]), NEST_MEMS, \
			      offsetof(struct nmem, used), offsetof(struct nmem, pid))

/* Revokes (@q 0) or grants a new pool to a delegate. */
static void outer_quota(uint64_t *s, unsigned int q)
{
	struct ndel *d;
	int e, old, p = -1, err;

	nlock();
	e = PICK_DEL(s);
	if (e < 0 || !nsh->del[e].go || nsh->del[e].stop) {
		nunlock();
		return;
	}
	d = &nsh->del[e];
	old = d->pool;
	if (q && (p = pool_alloc(q, true)) < 0) {
		nunlock();
		return;
	}
	d->seq++;
	/* Revoked before the write: a refusal of a write racing with it is explained. */
	if (old >= 0)
		nsh->pool[old].revoked = 1;
	d->pool = p;
	err = quota_set(d->pid, 0, q);
	if (err)
		d->pool = old;
	d->seq++;
	nest_note(q ? NO_OUT_REGRANT : NO_OUT_REVOKE, err,
		  !err || (err == -ESRCH && (d->stop || nsh->stop)), "pid %d (%c) quota %u", d->pid,
		  d->kind, q);
	nunlock();
}

/* Moves a member out of wherever it is: into a new top-level container, or its delegate's home. */
static void outer_move(uint64_t *s)
{
	struct nmem *m;
	int e, k, err;

	nlock();
	e = PICK_MEM(s);
	if (e < 0) {
		nunlock();
		return;
	}
	m = &nsh->mem[e];
	m->moved = 1;
	k = rng_below(s, 2) ? nid_alloc(NK_OUT, -1) : m->home;
	if (k >= 0) {
		err = contid_set(m->pid, 0, nid(k));
		nest_note(NO_OUT_MOVE, err, !err || err == -ESRCH, "pid %d id %llu", m->pid,
			  (unsigned long long)nid(k));
		if (!err && nsh->w[k].kind == NK_OUT)
			nsh->w[k].created = 1;
	}
	nunlock();
}

static void outer_read(uint64_t *s)
{
	int e;

	nlock();
	if (rng_below(s, 2)) {
		if ((e = PICK_DEL(s)) >= 0)
			nest_quota_check(nsh->del[e].pid, "delegate");
	} else if ((e = PICK_MEM(s)) >= 0) {
		nest_quota_check(nsh->mem[e].pid, "member");
	}
	nunlock();
	__sync_fetch_and_add(&nsh->ops[NO_OUT_READ][NE_OK], 1);
}

static void outer_reap(struct family *fam, bool block)
{
	for (;;) {
		siginfo_t si = {};

		if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT | (block ? 0 : WNOHANG)) || !si.si_pid)
			return;
		for (int f = 0; f < NEST_FAMILIES; f++)
			if (fam[f].pid == si.si_pid) {
				nlock();
				nsh->del[fam[f].del].used = 0;
				nunlock();
				fam[f].pid = 0;
			}
		waitpid(si.si_pid, NULL, 0);
		if (block)
			return;
	}
}

static void __attribute__((noreturn)) outer(uint64_t s)
{
	struct family fam[NEST_FAMILIES] = {};

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (!nsh->stop && now_s() < nest_end) {
		uint64_t r = rng_below(&s, 100);

		outer_reap(fam, false);
		for (int f = 0; f < NEST_FAMILIES; f++)
			if (!fam[f].pid && !nsh->stop && now_s() < nest_end)
				start_family(&fam[f], &s);
		if (r < 4) {
			outer_quota(&s, 0);
		} else if (r < 8) {
			outer_quota(&s, 1 + rng_below(&s, 6));
		} else if (r < 26) {
			outer_move(&s);
		} else if (r < 36) {
			outer_read(&s);
		} else if (r < 37) {
			int f = rng_below(&s, NEST_FAMILIES);

			if (fam[f].pid)
				nsh->del[fam[f].del].stop = 1;
		} else {
			usleep(rng_below(&s, 6000));
		}
	}
	for (int f = 0; f < NEST_FAMILIES; f++)
		if (fam[f].pid)
			nsh->del[fam[f].del].stop = 1;
	for (;;) {
		bool any = false;

		for (int f = 0; f < NEST_FAMILIES; f++)
			any |= fam[f].pid != 0;
		if (!any)
			break;
		outer_reap(fam, true);
	}
	reap_orphans();
	_exit(0);
}

/*
 * The auditor's part: an AUDIT_CONTAINER record; false when it is not about
 * an ID of the nesting part (phase 1's records then).
 */
static bool nest_record(const char *text)
{
	uint64_t contid, v;
	struct nid_a *a;
	long pos = ++nsh->recno;
	int k, pk;

	if (!ac_field(text, "contid", &contid) || (k = nest_k(contid)) < 0)
		return false;
	nsh->records++;
	a = &nsh->a[k];
	if (strstr(text, "op=destroy")) {
		if (a->destroys++ == 0) {
			a->destroy_pos = pos;
			if (a->sets && a->parent >= 0)
				nsh->a[a->parent].live--;
		}
		return true;
	}
	if (!ac_field(text, "res", &v) || v != 1) {
		nsh->refused_records++;
		return true;
	}
	if (strstr(text, "op=delegate")) {
		if (ac_field(text, "quota", &v)) {
			a->grants++;
			a->grant_sum += v;
		}
		return true;
	}
	if (!strstr(text, "op=set") && !strstr(text, "op=move"))
		return true;
	pk = -1;
	if (ac_field(text, "parent-contid", &v) && (pk = nest_k(v)) < 0)
		pk = -3;
	if (a->destroys)
		a->after_destroy++;
	if (a->sets++ == 0) {
		a->parent = pk;
		if (pk >= 0 && ++nsh->a[pk].live > nsh->a[pk].max_live)
			nsh->a[pk].max_live = nsh->a[pk].live;
	} else if (pk != a->parent) {
		a->parent_bad++;
	}
	return true;
}

static long read_objects(void)
{
	FILE *f = fopen(OBJECTS_FILE, "r");
	long objects = -1;

	if (!f)
		return -2;
	if (fscanf(f, "%ld", &objects) != 1)
		objects = -1;
	fclose(f);
	return objects;
}

#define NEST_CASES 6

static void nest_skip(const char *why)
{
	static const char *const names[NEST_CASES] = {
		"nest_delegate_errnos", "nest_quota_reads", "nest_one_destroy_per_container",
		"nest_sub_destroyed_before_parent", "nest_live_subs_within_quota",
		"nest_no_container_objects_left",
	};

	for (int i = 0; i < NEST_CASES; i++)
		ktap_result(true, why, "%s", names[i]);
}

static pid_t nest_pids[NEST_OUTERS];
static const char *nest_off;	/* why the nesting part does not run */
static long nest_objects0;

/* Before the auditor starts, which needs the shared memory. */
static void nest_setup(void)
{
	pthread_mutexattr_t a;

	if (nest_secs <= 0) {
		nest_off = "SKIP --nest 0";
		return;
	}
	if (access("/proc/self/audit_containerid_quota", F_OK)) {
		nest_off = "SKIP no /proc/PID/audit_containerid_quota";
		return;
	}
	nsh = mmap(NULL, sizeof(*nsh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (nsh == MAP_FAILED) {
		nsh = NULL;
		nest_off = "SKIP no memory";
		return;
	}
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&nsh->lock, &a);
	nest_objects0 = read_objects();
	sh->nesting = 1;
}

/* With phase 1's workers: the outer orchestrators, for --nest seconds. */
static void nest_start(void)
{
	uint64_t s = seed ^ 0x4e455354ULL;

	if (!nsh)
		return;
	nest_t0 = now_s();
	nest_end = nest_t0 + nest_secs;
	for (int o = 0; o < NEST_OUTERS; o++) {
		uint64_t os = rng_next(&s);

		nest_pids[o] = fork();
		if (nest_pids[o] == 0)
			outer(os);
	}
}

/* Waits for the end of the nesting part; false if the families did not end. */
static bool nest_stop(void)
{
	bool finished = true;
	double end;

	if (!nsh)
		return true;
	while (now_s() < nest_end)
		usleep(100000);
	nsh->stop = 1;
	/* The families end in order; a hang is a failure, not a hung run. */
	end = now_s() + 120;
	for (int o = 0; o < NEST_OUTERS; o++) {
		while (waitpid(nest_pids[o], NULL, WNOHANG) == 0) {
			if (now_s() > end) {
				finished = false;
				kill(nest_pids[o], SIGKILL);
				waitpid(nest_pids[o], NULL, 0);
				break;
			}
			usleep(50000);
		}
	}
	return finished;
}

/* After the auditor stopped: the cases. @rc: its exit; @lost_a, @lost_b: lost before and after. */
static void nest_report(bool finished, int rc, long lost_a, long lost_b)
{
	long objects0 = nest_objects0, objects1 = read_objects();
	int n;

	if (!nsh) {
		nest_skip(nest_off);
		return;
	}
	sh->nesting = 0;
	n = nsh->next < NEST_IDS ? nsh->next : NEST_IDS;
	diag("nesting: %.1f s; families=%ld forked-delegates=%ld sub-delegates=%ld retired=%ld ids=%d records=%ld refused-records=%ld",
	     nest_end - nest_t0, nsh->families, nsh->forks, nsh->subdels, nsh->retired, n, nsh->records,
	     nsh->refused_records);

	/* Errnos per operation. */
	{
		long total = 0;

		for (int op = 0; op < NO_NOPS; op++) {
			char line[256];
			int o = 0;
			long sum = 0;

			for (int e = 0; e < NE_N; e++)
				if (nsh->ops[op][e]) {
					o += snprintf(line + o, sizeof(line) - o, " %s=%ld", nest_err_name[e],
						      nsh->ops[op][e]);
					sum += nsh->ops[op][e];
				}
			if (op < NO_OUT_REGISTER && op != NO_READ)
				total += sum;
			diag("nest %s:%s", nest_op_name[op], sum ? line : " none");
		}
		for (long i = 0; i < nsh->unexpected && i < 6; i++)
			diag("unexpected: %s", nsh->unexpected_msg[i]);
		if (nsh->keeper_lost)
			diag("%ld keepers died unasked", nsh->keeper_lost);
		if (nsh->lock_dead)
			diag("%ld times the lock's owner died", nsh->lock_dead);
		if (nsh->exhausted)
			diag("ran out of IDs %ld times", nsh->exhausted);
		ktap_result(finished && !nsh->unexpected && !nsh->keeper_lost && !nsh->lock_dead &&
			    total > 0, NULL, "nest_delegate_errnos (%ld delegate writes, %ld unexpected)%s",
			    total, nsh->unexpected, finished ? "" : " # families did not end");
	}
	for (long i = 0; i < nsh->qbad && i < 3; i++)
		diag("quota read: %s", nsh->qbad_msg[i]);
	ktap_result(!nsh->qbad && nsh->qreads > 0, NULL, "nest_quota_reads (%ld reads, %ld bad)",
		    nsh->qreads, nsh->qbad);
	/* One op=destroy per object; none for a failed creation. */
	{
		long bad = 0, created = 0, failed = 0;

		for (int k = 0; k < n; k++) {
			struct nid_w *w = &nsh->w[k];
			struct nid_a *a = &nsh->a[k];
			bool good;

			if (w->kind == NK_NONE)
				continue;
			if (w->created) {
				created++;
				good = a->sets > 0 && a->destroys == 1 && !a->after_destroy;
			} else {
				failed++;
				good = !a->sets && !a->destroys;
			}
			if (!good && ++bad <= 5) {
				diag("contid %llu (%s, creating write %s): %d op=set/move res=1, %d op=destroy, %d records after it",
				     (unsigned long long)nid(k),
				     w->kind == NK_HOME ? "home" : w->kind == NK_SUB ? "sub-container" : "moved-out",
				     w->created ? "succeeded" : "failed", a->sets, a->destroys, a->after_destroy);
				trail_show(nid(k));
			}
		}
		diag("nest: %ld IDs created, %ld creations failed, %ld broken; auditor exit %d, lost %ld -> %ld",
		     created, failed, bad, rc, lost_a, lost_b);
		ktap_result(!bad && created > 0 && rc == 0 && lost_a >= 0 && lost_b == lost_a, NULL,
			    "nest_one_destroy_per_container (%ld)", created);
	}
	/* Parents: the creator's home in every record, destroyed after the child. */
	{
		long bad = 0, pairs = 0;

		for (int k = 0; k < n; k++) {
			struct nid_w *w = &nsh->w[k];
			struct nid_a *a = &nsh->a[k];
			int want = w->kind == NK_SUB ? w->parent : -1;
			const char *why = NULL;

			if (!a->sets)
				continue;
			if (a->parent != want || a->parent_bad)
				why = "parent-contid";
			else if (a->parent >= 0) {
				pairs++;
				if (a->destroys != 1 || nsh->a[a->parent].destroys != 1 ||
				    a->destroy_pos > nsh->a[a->parent].destroy_pos)
					why = "op=destroy order";
			}
			if (why && ++bad <= 5) {
				diag("contid %llu: %s (parent %lld, want %lld; destroyed at record %ld, parent at %ld)",
				     (unsigned long long)nid(k), why,
				     a->parent >= 0 ? (long long)nid(a->parent) : (long long)a->parent,
				     want >= 0 ? (long long)nid(want) : -1LL, a->destroy_pos,
				     a->parent >= 0 ? nsh->a[a->parent].destroy_pos : 0);
				trail_show(nid(k));
			}
		}
		diag("nest: %ld sub-containers checked against their parents, %ld broken", pairs, bad);
		ktap_result(!bad && pairs > 0, NULL, "nest_sub_destroyed_before_parent (%ld)", pairs);
	}
	/* Live sub-containers per home, from the records, within the quotas granted there. */
	{
		long bad = 0, homes = 0, exact = 0, full = 0, top = 0;

		for (int k = 0; k < n; k++) {
			struct nid_a *a = &nsh->a[k];

			if (!a->max_live && !a->grants)
				continue;
			homes++;
			exact += a->grants == 1;
			full += a->grants == 1 && a->max_live == a->grant_sum;
			if (a->max_live > top)
				top = a->max_live;
			if (a->max_live > a->grant_sum && ++bad <= 5) {
				diag("home %llu: %d sub-containers alive at once, %d grants of %ld in all",
				     (unsigned long long)nid(k), a->max_live, a->grants, a->grant_sum);
				trail_show(nid(k));
			}
		}
		diag("nest: %ld homes (%ld with one grant, %ld of those filled to it), at most %ld sub-containers alive in one, %ld over",
		     homes, exact, full, top, bad);
		ktap_result(!bad && homes > 0, NULL, "nest_live_subs_within_quota (%ld homes)", homes);
	}
	if (objects0 == -2)
		ktap_result(true, "SKIP " OBJECTS_FILE " not in this kernel", "nest_no_container_objects_left");
	else
		ktap_result(objects0 >= 0 && objects1 == objects0, NULL,
			    "nest_no_container_objects_left (%ld -> %ld)", objects0, objects1);
	munmap(nsh, sizeof(*nsh));
	nsh = NULL;
}

/* The tree rule part. */
static double tree_secs = -1;

/* The member: getppid() until told to stop, then the number of calls. */
static void __attribute__((noreturn)) tree_member(void)
{
	long n = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (!sh->tree_stop) {
		syscall(SYS_getppid);
		n++;
	}
	sh->tree_calls = n;
	_exit(0);
}

static pid_t tree_fork(bool member)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (member)
			tree_member();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

/* The delegate, in X with a quota of 2: A and B, and the moves. */
static void __attribute__((noreturn)) tree_delegate(void)
{
	pid_t keep[2], m;
	char path[64], text[2][32];
	int fd, len[2], i;
	double end;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (!sh->tree_go)
		usleep(1000);
	for (i = 0; i < 2; i++) {
		keep[i] = tree_fork(false);
		if (keep[i] < 0 || contid_set(keep[i], 0, TREE_BASE + 1 + i))
			sh->tree_bad++;
		len[i] = snprintf(text[i], sizeof(text[i]), "%llu\n", TREE_BASE + 1 + i);
	}
	m = tree_fork(true);
	contid_path(path, sizeof(path), m, 0);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (m < 0 || fd < 0)
		sh->tree_bad++;
	end = now_s() + tree_secs;
	for (i = 0; fd >= 0 && !sh->tree_stop && now_s() < end; i ^= 1) {
		if (pwrite(fd, text[i], len[i], 0) == len[i])
			sh->tree_moves++;
		else
			sh->tree_bad++;
	}
	sh->tree_stop = 1;
	if (m > 0)
		waitpid(m, NULL, 0);
	for (i = 0; i < 2; i++) {
		if (keep[i] > 0) {
			kill(keep[i], SIGKILL);
			waitpid(keep[i], NULL, 0);
		}
	}
	_exit(0);
}

/* An exit rule: getppid() (arch=b64) of the processes in X's tree, key TREE_KEY. */
static size_t tree_rule(struct audit_rule_data *r)
{
	uint64_t x = TREE_BASE;
	int i;

	r->flags = AUDIT_FILTER_EXIT;
	r->action = AUDIT_ALWAYS;
	r->mask[SYS_getppid / 32] |= 1U << (SYS_getppid % 32);
	i = r->field_count++;
	r->fields[i] = AUDIT_ARCH;
	r->fieldflags[i] = AUDIT_EQUAL;
	r->values[i] = AUDIT_ARCH_X86_64;
	i = r->field_count++;
	r->fields[i] = 28;	/* AUDIT_CONTID_TREE */
	r->fieldflags[i] = AUDIT_EQUAL;
	r->values[i] = sizeof(x);
	memcpy(r->buf + r->buflen, &x, sizeof(x));
	r->buflen += sizeof(x);
	i = r->field_count++;
	r->fields[i] = AUDIT_FILTERKEY;
	r->fieldflags[i] = AUDIT_EQUAL;
	r->values[i] = strlen(TREE_KEY);
	memcpy(r->buf + r->buflen, TREE_KEY, strlen(TREE_KEY));
	r->buflen += strlen(TREE_KEY);
	return sizeof(*r) + r->buflen;
}

/* With the auditor of phase 1; false (and why) when it could not run. */
static bool tree_race(const char **skip)
{
	static union {
		struct audit_rule_data r;
		char space[sizeof(struct audit_rule_data) + 64];
	} rule;
	bool added = false;
	size_t size;
	pid_t d;
	int fd;

	if (tree_secs <= 0) {
		*skip = "SKIP --tree 0";
		return false;
	}
	if (access("/proc/self/audit_containerid_quota", F_OK)) {
		*skip = "SKIP no /proc/PID/audit_containerid_quota";
		return false;
	}
	memset(&rule, 0, sizeof(rule));
	size = tree_rule(&rule.r);
	d = fork();
	if (d == 0)
		tree_delegate();
	fd = ac_open(5000);
	if (d < 0 || contid_set(d, 0, TREE_BASE) || quota_set(d, 0, 2) || fd < 0)
		sh->tree_bad++;
	else if (ac_request(fd, AUDIT_ADD_RULE, &rule, size, 0, NULL))
		*skip = "SKIP the kernel refuses AUDIT_CONTID_TREE rules";
	else
		added = true;
	sh->tree_stop = !added;
	sh->tree_go = 1;
	if (d > 0)
		waitpid(d, NULL, 0);
	if (added && ac_request(fd, AUDIT_DEL_RULE, &rule, size, 0, NULL))
		sh->tree_bad++;
	if (fd >= 0)
		close(fd);
	return added || !*skip;
}

int main(int argc, char **argv)
{
	struct audit_status st;
	long lost0, lost1, lost2;
	const char *tree_skip = NULL;
	bool nest_finished, tree_ran;
	int fd, rc;
	double t0 = now_s();

	if (argc == 4 && !strcmp(argv[1], "--member")) {
		/* A member after exec(). */
		member(strtoull(argv[2], NULL, 10), atoi(argv[3]));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--nest-member")) {
		nest_member(strtoull(argv[2], NULL, 10), atoi(argv[3]));
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
		else if (!strcmp(argv[i], "--nest") && i + 1 < argc)
			nest_secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--tree") && i + 1 < argc)
			tree_secs = atof(argv[++i]);
		else {
			fprintf(stderr,
				"usage: %s [--seed N] [--duration SEC] [--small SEC] [--workers N] [--exiting N] [--nest SEC] [--tree SEC]\n",
				argv[0]);
			return 2;
		}
	}
	if (small < 0)
		small = duration / 6;
	if (nest_secs < 0)
		nest_secs = duration;
	if (tree_secs < 0)
		tree_secs = duration / 4;
	if (nworkers < 1 || nworkers > 64)
		nworkers = 6;
	if (exiting < 0)
		exiting = duration * 10;
	if (exiting > 10000)
		exiting = 10000;
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..%d\n", 10 + NEST_CASES);
	diag("contid_stress seed=%#llx duration=%.0fs small-backlog=%.0fs nesting=%.0fs workers=%d cpus=%ld",
	     (unsigned long long)seed, duration, small, nest_secs, nworkers,
	     sysconf(_SC_NPROCESSORS_ONLN));
	if (access("/proc/self/audit_containerid", F_OK)) {
		for (int i = 0; i < 10 + NEST_CASES; i++)
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
	nest_setup();
	if (start_auditor(1000000, 60000)) {
		for (int i = 0; i < 10 + NEST_CASES; i++)
			ktap_result(true, "SKIP cannot become the audit daemon (auditd running?)",
				    "invariant %d", i + 1);
		return 4;
	}

	/* Phase 1, with the nesting part alongside. */
	nest_start();
	run_workers(duration, seed);
	race_exits();
	nest_finished = nest_stop();
	tree_ran = tree_race(&tree_skip);
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

	/* The nesting part's cases. */
	nest_report(nest_finished, rc, lost0, lost1);
	diag("tree rule: %ld moves, %ld getppid() calls, %ld records, %ld bad", sh->tree_moves,
	     sh->tree_calls, sh->tree_events, sh->tree_bad);
	if (!tree_ran)
		ktap_result(true, tree_skip, "tree_rule_sees_every_event");
	else
		ktap_result(rc == 0 && !sh->tree_bad && sh->tree_moves > 0 && sh->tree_calls > 0 &&
			    sh->tree_events == sh->tree_calls, NULL,
			    "tree_rule_sees_every_event (%ld of %ld calls, %ld moves)",
			    sh->tree_events, sh->tree_calls, sh->tree_moves);

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
