// SPDX-License-Identifier: GPL-2.0
/*
 * acbench - the guest side of `make bench` (scripts/bench.sh).
 *
 * Runs, in one guest, every workload of the audit container ID benchmark and
 * prints one line per measurement:
 *
 *   ACB group=G name=N variant=V rep=R value=X unit=U
 *
 * which scripts/bench-report.py turns into the table. The same binary runs
 * on the unpatched kernel (no /proc/PID/audit_containerid: the variants that
 * need a container are skipped) and on the patched one.
 *
 * Phases, in this order (audit is never enabled before phase B, so phase A
 * sees the kernel as a host without auditd does):
 *   A  audit off: process lifecycle (fork+exit+wait, clone3 without and with
 *      CLONE_NEW* flags, thread create+join) in no container and in one;
 *      namespace create+destroy (unshare(CLONE_NEWUTS)); a container's
 *      start and end with 7 namespaces (clone3, fork+unshare).
 *   B  audit on, this program's daemon process draining the audit socket:
 *      an audited cheap syscall (getppid, exit-list rule) in no container and
 *      in one; the cost of one record of each kind; namespace
 *      create+destroy; container starts, without a rule and with those of
 *      41-containers.rules; registration (set, move, destroy)
 *      with 1, 1 000 and 100 000 live containers; memory per container and
 *      per process from /proc/slabinfo.
 *
 * Times come from CLOCK_MONOTONIC in the guest. Under QEMU -icount that
 * clock follows the number of executed instructions, so the figures are
 * "guest ns" and what matters is their ratios.
 *
 * Usage: acbench [-r REPS] [-s SCALE] [-N CONTAINERS] [-p PHASES]
 *   PHASES: any of A, B, M (the default, all); P alone runs the audited
 *   syscall only, for a profile (Pc: in a container); R alone runs the
 *   cost of one record only, N alone the namespaces with audit off only, S
 *   alone the container starts with audit on only.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef AUDIT_CONTAINER
#define AUDIT_CONTAINER 1344
#endif
#ifndef AUDIT_CONTAINER_INFO
#define AUDIT_CONTAINER_INFO 1340
#endif
#ifndef AUDIT_NS_CREATE
#define AUDIT_NS_CREATE 1341
#endif
#ifndef AUDIT_NS_DESTROY
#define AUDIT_NS_DESTROY 1342
#endif
#ifndef AUDIT_NS_CHANGE
#define AUDIT_NS_CHANGE 1343
#endif
#define TEXT_MAX 8970
#define SYNC_TEXT "acbench-sync"

static int reps = 7;
static double scale = 1.0;
static long big_n = 100000;
static const char *phases = "ABM";
static int have_contid;
static uint64_t next_id_ = 1000;
static long created;	/* container IDs written for the first time */

static uint64_t new_id(void)
{
	created++;
	return next_id_++;
}

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int iters(int n)
{
	int v = (int)(n * scale);

	return v < 1 ? 1 : v;
}

static void emit(const char *group, const char *name, const char *variant,
		 int rep, double value, const char *unit)
{
	printf("ACB group=%s name=%s variant=%s rep=%d value=%.1f unit=%s\n",
	       group, name, variant, rep, value, unit);
	fflush(stdout);
}

static void info(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
	va_list ap;

	printf("ACB-INFO ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void fail(const char *what)
{
	printf("ACB-ERROR %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

/* The proc file */

static int open_contid(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/audit_containerid", pid);
	return open(path, O_WRONLY | O_CLOEXEC);
}

static int write_contid_fd(int fd, uint64_t id)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%llu\n", (unsigned long long)id);

	return pwrite(fd, b, n, 0) == n ? 0 : -errno;
}

static int set_contid(pid_t pid, uint64_t id)
{
	int fd = open_contid(pid), r;

	if (fd < 0)
		return -errno;
	r = write_contid_fd(fd, id);
	close(fd);
	return r;
}

/* The audit socket */

struct audit_msg {
	struct nlmsghdr hdr;
	union {
		struct audit_status status;
		struct audit_rule_data rule;
		struct nlmsgerr err;
		char data[TEXT_MAX];
	};
};

static int audit_send(int fd, int type, const void *data, size_t len)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	static struct audit_msg msg;

	memset(&msg.hdr, 0, sizeof(msg.hdr));
	msg.hdr.nlmsg_len = NLMSG_SPACE(len);
	msg.hdr.nlmsg_type = type;
	msg.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	memcpy(msg.data, data, len);
	if (sendto(fd, &msg, msg.hdr.nlmsg_len, 0, (struct sockaddr *)&addr,
		   sizeof(addr)) < 0)
		return -errno;
	return 0;
}

static int audit_request(int fd, int type, const void *data, size_t len)
{
	static struct audit_msg msg;
	int ret = audit_send(fd, type, data, len);
	ssize_t n;

	if (ret)
		return ret;
	for (;;) {
		n = recv(fd, &msg, sizeof(msg), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (msg.hdr.nlmsg_type == NLMSG_ERROR &&
		    msg.err.msg.nlmsg_type == type)
			return msg.err.error;
	}
}

static int audit_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);

	if (fd < 0)
		fail("socket(NETLINK_AUDIT)");
	return fd;
}

/* Counters of the daemon, in memory shared with it. */
struct shared {
	volatile long total, eoe, info, cont_setmove, cont_destroy;
	volatile long ns_create, ns_destroy, ns_change, syncs, lost;
};

static struct shared *S;
static pid_t daemon_pid;
static int sync_pipe[2];
static int ctl_fd = -1;	/* this process's control socket */

/*
 * The audit daemon: registers itself, then counts every record until killed.
 * On the record of a sync message it writes one byte to sync_pipe.
 */
static void daemon_main(int ready)
{
	static struct audit_msg msg;
	int fd = audit_socket(), rcv = 8 << 20;
	struct audit_status s = {
		.mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID |
			AUDIT_STATUS_BACKLOG_LIMIT,
		.enabled = 1,
		.pid = getpid(),
		.backlog_limit = 200000,
	};
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
	if (audit_request(fd, AUDIT_SET, &s, sizeof(s)))
		fail("AUDIT_SET");
	if (write(ready, "r", 1) != 1)
		fail("ready");
	close(ready);
	for (;;) {
		n = recv(fd, &msg, sizeof(msg) - 1, 0);
		if (n < 0) {
			if (errno == ENOBUFS)
				S->lost++;
			continue;
		}
		((char *)&msg)[n] = '\0';
		S->total++;
		switch (msg.hdr.nlmsg_type) {
		case AUDIT_EOE:
			S->eoe++;
			break;
		case AUDIT_CONTAINER_INFO:
			S->info++;
			break;
		case AUDIT_CONTAINER:
			if (strstr(msg.data, "op=destroy"))
				S->cont_destroy++;
			else
				S->cont_setmove++;
			break;
		case AUDIT_NS_CREATE:
			S->ns_create++;
			break;
		case AUDIT_NS_DESTROY:
			S->ns_destroy++;
			break;
		case AUDIT_NS_CHANGE:
			S->ns_change++;
			break;
		case AUDIT_USER:
			if (strstr(msg.data, SYNC_TEXT)) {
				S->syncs++;
				if (write(sync_pipe[1], "s", 1) != 1)
					_exit(1);
			}
			break;
		}
	}
}

static void daemon_start(void)
{
	int ready[2];
	char c;

	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (S == MAP_FAILED)
		fail("mmap");
	if (pipe2(sync_pipe, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		fail("pipe");
	daemon_pid = fork();
	if (daemon_pid < 0)
		fail("fork");
	if (daemon_pid == 0) {
		close(ready[0]);
		daemon_main(ready[1]);
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		fail("audit daemon did not start");
	close(ready[0]);
	ctl_fd = audit_socket();
}

/*
 * Waits until the daemon has received every record queued before this call:
 * a user message goes through the same queue, after them.
 */
static void acb_sync(int fd)
{
	char c;

	if (audit_request(fd, AUDIT_USER, SYNC_TEXT, sizeof(SYNC_TEXT)))
		fail("AUDIT_USER");
	if (read(sync_pipe[0], &c, 1) != 1)
		fail("sync");
}

/* Adds (or with !@add deletes) a rule "@field = @value" on @list; @nr: its syscall, or -1. */
static int one_field_rule(int list, int action, int nr, int field, uint32_t value, int add)
{
	struct audit_rule_data r;

	memset(&r, 0, sizeof(r));
	r.flags = list;
	r.action = action;
	if (nr >= 0)
		r.mask[nr / 32] |= 1U << (nr % 32);
	r.field_count = 1;
	r.fields[0] = field;
	r.fieldflags[0] = AUDIT_EQUAL;
	r.values[0] = value;
	return audit_request(ctl_fd, add ? AUDIT_ADD_RULE : AUDIT_DEL_RULE,
			     &r, sizeof(r));
}

static int add_syscall_rule(int nr, int add)
{
	return one_field_rule(AUDIT_FILTER_EXIT, AUDIT_ALWAYS, nr, AUDIT_ARCH,
			      AUDIT_ARCH_X86_64, add);
}

/*
 * The rules of audit-userspace's rules/41-containers.rules, 64-bit half:
 *   -a always,exit -F arch=b64 -S clone -F a0&0x7C020000 -F key=container-create
 *   -a always,exit -F arch=b64 -S unshare,setns -F key=container-config
 */
static int key_rule(const int *nr, int n, uint32_t a0_mask, const char *key, int add)
{
	struct {
		struct audit_rule_data r;
		char key[32];
	} m;
	int f = 0;

	memset(&m, 0, sizeof(m));
	m.r.flags = AUDIT_FILTER_EXIT;
	m.r.action = AUDIT_ALWAYS;
	for (int i = 0; i < n; i++)
		m.r.mask[nr[i] / 32] |= 1U << (nr[i] % 32);
	m.r.fields[f] = AUDIT_ARCH;
	m.r.fieldflags[f] = AUDIT_EQUAL;
	m.r.values[f++] = AUDIT_ARCH_X86_64;
	if (a0_mask) {
		m.r.fields[f] = AUDIT_ARG0;
		m.r.fieldflags[f] = AUDIT_BIT_MASK;
		m.r.values[f++] = a0_mask;
	}
	m.r.fields[f] = AUDIT_FILTERKEY;
	m.r.fieldflags[f] = AUDIT_EQUAL;
	m.r.values[f++] = strlen(key);
	m.r.field_count = f;
	m.r.buflen = strlen(key);
	memcpy(m.key, key, strlen(key));
	return audit_request(ctl_fd, add ? AUDIT_ADD_RULE : AUDIT_DEL_RULE, &m,
			     sizeof(m.r) + m.r.buflen);
}

static int containers_rules(int add)
{
	static const int create[] = { SYS_clone }, config[] = { SYS_unshare, SYS_setns };

	return key_rule(create, 1, 0x7C020000, "container-create", add) ?:
	       key_rule(config, 2, 0, "container-config", add);
}

/* Running a workload in a child process, in no container or in one */

struct work {
	const char *group, *name;
	int n;			/* iterations per repetition */
	void (*op)(void);
	int sync;		/* wait for the daemon at the end of each rep */
};

static void measure(const struct work *w, const char *variant)
{
	int fd = -1;

	if (w->sync)
		fd = audit_socket();
	for (int i = 0; i < w->n / 10 + 1; i++)
		w->op();
	if (w->sync)
		acb_sync(fd);
	for (int r = 0; r < reps; r++) {
		long long t0 = now_ns();

		for (int i = 0; i < w->n; i++)
			w->op();
		if (w->sync)
			acb_sync(fd);
		emit(w->group, w->name, variant, r,
		     (double)(now_ns() - t0) / w->n, "ns");
	}
	if (fd >= 0)
		close(fd);
}

/* Runs @w in a new child process, registered in a new container if @cont. */
static void run(const struct work *w, int cont, const char *variant)
{
	int go[2];
	pid_t pid;
	char c;

	if (cont && !have_contid)
		return;
	if (pipe2(go, O_CLOEXEC))
		fail("pipe");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		measure(w, variant);
		_exit(0);
	}
	close(go[0]);
	if (cont && set_contid(pid, new_id()))
		fail("registering the worker");
	if (write(go[1], "g", 1) != 1)
		fail("go");
	close(go[1]);
	waitpid(pid, NULL, 0);
}

/*
 * Nested containers (contract v2). A chain is built by delegates: the outer
 * orchestrator (this process, in no container) registers a child in a new
 * top-level container and grants it a quota; that child, a delegate,
 * registers its own child in a new sub-container and carves it the rest of
 * its quota less the one sub-container; and so on, @depth times. The
 * process at the bottom is in a container @depth levels below the top
 * (its records carry a chain of @depth + 1 IDs) and keeps a quota of
 * @inner_quota of its own.
 */
#define NEST_CHAIN 7		/* chain of 8 IDs */

struct nest_run {
	int depth, inner_quota;
	uint64_t base;		/* IDs base + (level << 20) + i */
	void (*fn)(const struct nest_run *, void *);
	void *arg;
};

static int set_quota(pid_t pid, unsigned int n)
{
	char path[64], b[16];
	int fd, len, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/audit_containerid_quota", pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(b, sizeof(b), "%u\n", n);
	if (write(fd, b, len) != len)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Starts a child that waits for a byte on the pipe returned in @go, then
 * runs @fn(@nr, @level) if @fn; it exits when the pipe closes without one.
 */
static pid_t paused_fork(int (*fn)(const struct nest_run *, int), const struct nest_run *nr,
			 int level, int *go)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe2(fds, O_CLOEXEC))
		fail("pipe");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(1);
		_exit(fn ? fn(nr, level) : 0);
	}
	close(fds[0]);
	*go = fds[1];
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The process at @level of the chain: a delegate above the bottom. */
static int nest_level(const struct nest_run *nr, int level)
{
	int go, err;
	pid_t pid;

	if (level == nr->depth) {
		nr->fn(nr, nr->arg);
		return 0;
	}
	pid = paused_fork(nest_level, nr, level + 1, &go);
	/* Without the feature (the base kernel): the same processes, no container. */
	err = have_contid ? set_contid(pid, nr->base + ((uint64_t)(level + 1) << 20)) : 0;
	if (!err && have_contid && level + 1 < nr->depth)
		err = set_quota(pid, nr->depth - level - 1 + nr->inner_quota);
	else if (!err && have_contid && nr->inner_quota)
		err = set_quota(pid, nr->inner_quota);
	if (err) {
		errno = -err;
		fail("a delegate's registration");
	}
	if (write(go, "g", 1) != 1)
		fail("go");
	close(go);
	return wait_status(pid);
}

/* Runs @nr->fn at the bottom of a new chain of @nr->depth nested containers. */
static void run_nested(struct nest_run *nr)
{
	int go, err;
	pid_t pid;

	nr->base = next_id_;
	next_id_ += 1ULL << 24;
	pid = paused_fork(nest_level, nr, 0, &go);
	err = have_contid ? set_contid(pid, nr->base) : 0;
	if (!err && have_contid && (nr->depth || nr->inner_quota))
		err = set_quota(pid, nr->depth + nr->inner_quota);
	if (err) {
		errno = -err;
		fail("registering the top of the chain");
	}
	if (write(go, "g", 1) != 1)
		fail("go");
	close(go);
	if (wait_status(pid))
		fail("the chain of delegates");
}

static void measure_nested(const struct nest_run *nr, void *w)
{
	measure(w, "nested");
}

/*
 * @w in a container nested NEST_CHAIN levels deep (a chain of NEST_CHAIN + 1
 * IDs), at the bottom of a chain of NEST_CHAIN + 1 processes; on a kernel
 * without the feature, at the bottom of the same chain of processes, in no
 * container, to compare with.
 */
static void run_deep(const struct work *w)
{
	struct nest_run nr = { NEST_CHAIN, 0, 0, measure_nested, (void *)w };

	run_nested(&nr);
}

static void run_both(const struct work *w)
{
	run(w, 0, "nocont");
	run(w, 1, "cont");
}

/*
 * Registration by a delegate: the bottom of a chain moves its paused child
 * into a new sub-container, over and over (each write creates one, and the
 * one it leaves dies), the child's file opened by the delegate itself.
 * Depth 1: the delegate is in a top-level container; depth 8: in one 7
 * levels down, so the new sub-containers are at the limit.
 */
static void delegate_moves(const struct nest_run *nr, void *arg)
{
	const char *variant = arg;
	int n = iters(400), go, fd, afd;
	uint64_t id = nr->base + ((uint64_t)(nr->depth + 1) << 20);
	pid_t pid = paused_fork(NULL, nr, 0, &go);

	fd = open_contid(pid);
	if (fd < 0)
		fail("open audit_containerid");
	afd = audit_socket();
	for (int i = 0; i < n / 10 + 1; i++)
		if (write_contid_fd(fd, id++))
			fail("a delegate's move (warm-up)");
	for (int r = 0; r < reps; r++) {
		long long t0 = now_ns();

		for (int i = 0; i < n; i++)
			if (write_contid_fd(fd, id++))
				fail("a delegate's move");
		acb_sync(afd);
		emit("nesting", "delegate_move_new", variant, r, (double)(now_ns() - t0) / n, "ns");
	}
	close(afd);
	close(fd);
	close(go);
	waitpid(pid, NULL, 0);
}

/* The same moves by the orchestrator outside, into new top-level containers. */
static void outer_moves(void)
{
	struct nest_run nr = { 0, 0, 0, NULL, NULL };

	nr.base = next_id_;
	next_id_ += 1ULL << 24;
	delegate_moves(&nr, "outer");
}

static void nesting(void)
{
	struct nest_run d1 = { 0, 2, 0, delegate_moves, "depth1" };
	struct nest_run d8 = { NEST_CHAIN, 2, 0, delegate_moves, "depth8" };

	if (!have_contid)
		return;
	outer_moves();
	run_nested(&d1);
	run_nested(&d8);
}

/* The operations */

static void op_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
}

static void do_clone3(uint64_t flags)
{
	struct clone_args a = { .flags = flags, .exit_signal = SIGCHLD };
	pid_t pid = syscall(SYS_clone3, &a, sizeof(a));

	if (pid == 0)
		syscall(SYS_exit_group, 0);
	if (pid < 0)
		fail("clone3");
	waitpid(pid, NULL, 0);
}

static void op_clone3(void)
{
	do_clone3(0);
}

static void op_clone3_ns(void)
{
	do_clone3(CLONE_NEWUTS | CLONE_NEWIPC);
}

/*
 * The namespaces a container runtime gives a container: all but the user
 * namespace (7).
 */
#define RUNTIME_NS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | \
		    CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME)

/* A container start and end: clone3() with the namespace flags, exit. */
static void op_start_clone3(void)
{
	do_clone3(RUNTIME_NS);
}

/* The same as runc does it: fork, then unshare() in the child, exit. */
static void op_start_unshare(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (unshare(RUNTIME_NS))
			_exit(1);
		syscall(SYS_exit_group, 0);
	}
	if (pid < 0)
		fail("fork");
	waitpid(pid, NULL, 0);
}

static void *thread_fn(void *arg)
{
	return arg;
}

static void op_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_fn, NULL))
		fail("pthread_create");
	pthread_join(t, NULL);
}

static void op_unshare_uts(void)
{
	if (unshare(CLONE_NEWUTS))
		fail("unshare");
}

static void op_getppid(void)
{
	syscall(SYS_getppid);
}

/* Memory: /proc/slabinfo */

#define MAX_CACHES 512
struct slab_snap {
	int n;
	char name[MAX_CACHES][40];
	long active[MAX_CACHES], size[MAX_CACHES];
};

static void slab_snap(struct slab_snap *s)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512];

	s->n = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && s->n < MAX_CACHES) {
		long act, num, sz;

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%39s %ld %ld %ld", s->name[s->n], &act, &num,
			   &sz) != 4)
			continue;
		s->active[s->n] = act;
		s->size[s->n] = sz;
		s->n++;
	}
	fclose(f);
}

/*
 * Lets deferred frees (RCU callbacks, workqueues) finish before a snapshot:
 * idle time is cheap, the guest clock jumps over it.
 */
static void settle(void)
{
	if (ctl_fd >= 0)
		acb_sync(ctl_fd);
	for (int i = 0; i < 3; i++)
		usleep(100000);
}

/*
 * Flushes the per-CPU slabs of every cache, so that /proc/slabinfo's
 * active_objs counts exactly the objects in use: otherwise the free objects
 * of per-CPU (partial) slabs are counted as active.
 */
static void slab_shrink(void)
{
	DIR *d = opendir("/sys/kernel/slab");
	struct dirent *e;
	char path[300];

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", e->d_name);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) < 0) {
			/* best effort */
		}
		close(fd);
	}
	closedir(d);
}

static void snap(struct slab_snap *s)
{
	settle();
	slab_shrink();
	slab_snap(s);
}

/* Bytes of slab objects in use added between @a and @b; logs the top caches. */
static double slab_delta(const struct slab_snap *a, const struct slab_snap *b,
			 long per, const char *what)
{
	double total = 0;
	char top[512] = "";
	int len = 0;

	for (int i = 0; i < b->n; i++) {
		long before = 0;

		for (int j = 0; j < a->n; j++)
			if (!strcmp(a->name[j], b->name[i]))
				before = a->active[j];
		double d = (double)(b->active[i] - before) * b->size[i];

		total += d;
		if (d / per >= 8 || d / per <= -8)
			len += snprintf(top + len, sizeof(top) - len > 0 ?
					sizeof(top) - len : 0, " %s:%+.0f",
					b->name[i], d / per);
	}
	info("slab %s: %.1f bytes per item over %ld items;%s", what,
	     total / per, per, top);
	return total / per;
}

static long object_size(const char *cache)
{
	char path[128], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/object_size", cache);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return atol(buf);
}

/* A helper process that unshares its UTS namespace on command */

struct holder {
	pid_t pid;
	int cmd, ack, cfd;
};

static void holder_start(struct holder *h)
{
	int c[2], a[2];
	char x;

	if (pipe2(c, O_CLOEXEC) || pipe2(a, O_CLOEXEC))
		fail("pipe");
	h->pid = fork();
	if (h->pid < 0)
		fail("fork");
	if (h->pid == 0) {
		close(c[1]);
		close(a[0]);
		while (read(c[0], &x, 1) == 1) {
			if (x == 'u' && unshare(CLONE_NEWUTS))
				_exit(2);
			if (x == 'q')
				_exit(0);
			if (write(a[1], "k", 1) != 1)
				_exit(3);
		}
		_exit(0);
	}
	close(c[0]);
	close(a[1]);
	h->cmd = c[1];
	h->ack = a[0];
	h->cfd = have_contid ? open_contid(h->pid) : -1;
}

static void holder_unshare(struct holder *h)
{
	char x;

	if (write(h->cmd, "u", 1) != 1 || read(h->ack, &x, 1) != 1)
		fail("holder");
}

static int holder_pin(struct holder *h)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/uts", h->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open ns");
	return fd;
}

static void holder_stop(struct holder *h)
{
	if (write(h->cmd, "q", 1) != 1)
		fail("holder stop");
	close(h->cmd);
	close(h->ack);
	if (h->cfd >= 0)
		close(h->cfd);
	waitpid(h->pid, NULL, 0);
}

static void set_holder(struct holder *h, uint64_t id)
{
	if (write_contid_fd(h->cfd, id))
		fail("write audit_containerid");
}

/* Phase A and the first half of B */

static void lifecycle(void)
{
	static const struct work w[] = {
		{ "lifecycle", "fork_exit_wait", 400, op_fork, 0 },
		{ "lifecycle", "clone3", 400, op_clone3, 0 },
		{ "lifecycle", "clone3_newuts_newipc", 200, op_clone3_ns, 0 },
		{ "lifecycle", "thread_create_join", 4800, op_thread, 0 },
	};

	for (unsigned int i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		struct work x = w[i];

		x.n = iters(x.n);
		run_both(&x);
		run_deep(&x);
	}
}

/*
 * Namespaces created and destroyed. With audit on and no rule (phase B,
 * after audited() deleted its rule), a process in no container logs no
 * namespace record (contract v2): the "no container" ratio is the cost of
 * the hooks alone.
 */
static void namespaces(const char *group, int sync)
{
	struct work w[] = {
		{ group, "unshare_uts", iters(600), op_unshare_uts, sync },
		{ group, "clone3_newuts_newipc", iters(200), op_clone3_ns,
		  sync },
	};

	for (unsigned int i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		run_both(&w[i]);
}

static void audited(void)
{
	struct work w = { "audit", "getppid_audited", iters(400), op_getppid,
			  1 };
	struct work u = { "audit", "getppid_unaudited", iters(2000),
			  op_getppid, 1 };
	long info0, eoe0;
	int err;

	/* The syscall without a rule, for reference: no record at all. */
	run_both(&u);
	err = add_syscall_rule(SYS_getppid, 1);
	if (err) {
		errno = -err;
		fail("AUDIT_ADD_RULE");
	}
	info0 = S->info;
	eoe0 = S->eoe;
	run(&w, 0, "nocont");
	info("audit nocont: %ld events, %ld AUDIT_CONTAINER_INFO", S->eoe - eoe0,
	     S->info - info0);
	info0 = S->info;
	eoe0 = S->eoe;
	run(&w, 1, "cont");
	if (have_contid)
		info("audit cont: %ld events, %ld AUDIT_CONTAINER_INFO",
		     S->eoe - eoe0, S->info - info0);
	info0 = S->info;
	eoe0 = S->eoe;
	run_deep(&w);
	if (have_contid)
		info("audit nested (chain of %d): %ld events, %ld AUDIT_CONTAINER_INFO",
		     NEST_CHAIN + 1, S->eoe - eoe0, S->info - info0);
	add_syscall_rule(SYS_getppid, 0);
	run_deep(&u);
}

/*
 * The cost of one record of each kind: the same event with and without one
 * record, which a "never,exclude -F msgtype=TYPE" rule drops in
 * audit_log_start(), before anything is allocated or formatted. Each run
 * has exactly one exclude rule; the reference run's names a type that
 * nothing here logs, so that the exclude list costs the same in every run.
 * A record's cost is then the reference minus the run without it.
 */
#define UNLOGGED_TYPE 1399

static int exclude_rule(int type, int add)
{
	return one_field_rule(AUDIT_FILTER_EXCLUDE, AUDIT_NEVER, -1, AUDIT_MSGTYPE,
			      type, add);
}

struct record_kind {
	const char *name;
	int type;
};

/*
 * run(), and the records of each kind the daemon got per operation (warm-up
 * included), as group "record_count", named GROUP.NAME.KIND: the report
 * divides a run's saving by the records it did not get. (An exclude rule does not drop the
 * AUDIT_CONTAINER_INFO that audit attaches to a record logged outside a
 * syscall event: like upstream's other auxiliary records, it goes with its
 * main record.)
 */
static void run_counted(const struct work *w, int cont, const char *variant)
{
	long c = S->ns_create, x = S->ns_change, d = S->ns_destroy;
	long i = S->info, e = S->eoe;
	double ops = w->n / 10 + 1 + (double)reps * w->n;
	char name[80];

	if (cont && !have_contid)
		return;
	run(w, cont, variant);
#define COUNT(kind, now, before)						\
	do {								\
		snprintf(name, sizeof(name), "%s.%s.%s", w->group,	\
			 w->name, kind);				\
		emit("record_count", name, variant, 0,			\
		     ((now) - (before)) / ops, "records");		\
	} while (0)
	COUNT("eoe", S->eoe, e);
	COUNT("container_info", S->info, i);
	COUNT("ns_create", S->ns_create, c);
	COUNT("ns_change", S->ns_change, x);
	COUNT("ns_destroy", S->ns_destroy, d);
#undef COUNT
}

/* Runs @w once per kind, under that kind's exclude rule; @deep: nested too. */
static void without_each(struct work *w, const struct record_kind *k, int n,
			 int nocont, int deep)
{
	for (int i = 0; i < n; i++) {
		int err = exclude_rule(k[i].type, 1);

		if (err) {
			errno = -err;
			fail("AUDIT_ADD_RULE (exclude)");
		}
		w->name = k[i].name;
		if (nocont)
			run_counted(w, 0, "nocont");
		run_counted(w, 1, "cont");
		if (deep)
			run_deep(w);
		exclude_rule(k[i].type, 0);
	}
}

static void record_costs(void)
{
	static const struct record_kind event[] = {
		{ "getppid_all", UNLOGGED_TYPE },
		{ "getppid_no_eoe", AUDIT_EOE },
		{ "getppid_no_proctitle", AUDIT_PROCTITLE },
		{ "getppid_no_container_info", AUDIT_CONTAINER_INFO },
	};
	static const struct record_kind ns[] = {
		{ "unshare_uts_all", UNLOGGED_TYPE },
		{ "unshare_uts_no_ns_create", AUDIT_NS_CREATE },
		{ "unshare_uts_no_ns_change", AUDIT_NS_CHANGE },
		{ "unshare_uts_no_ns_destroy", AUDIT_NS_DESTROY },
		{ "unshare_uts_no_container_info", AUDIT_CONTAINER_INFO },
	};
	struct work w = { "record", NULL, iters(4000), op_getppid, 1 };
	struct work u = { "record", NULL, iters(4000), op_unshare_uts, 1 };
	int err;

	/* An audited getppid(): SYSCALL, PROCTITLE, (CONTAINER_INFO,) EOE. */
	err = add_syscall_rule(SYS_getppid, 1);
	if (err) {
		errno = -err;
		fail("AUDIT_ADD_RULE");
	}
	without_each(&w, event, sizeof(event) / sizeof(event[0]), 1, 1);
	add_syscall_rule(SYS_getppid, 0);
	/* A member's unshare(NEWUTS), no rule: the records of its container. */
	without_each(&u, ns, sizeof(ns) / sizeof(ns[0]), 0, 0);
}

/*
 * A container's start and end as a runtime does them, with 7 namespaces
 * (RUNTIME_NS): clone3() with the flags, or fork() and unshare(), then
 * exit. In no container the patched kernel must cost what the unpatched one
 * does, with audit off and with audit on and no rule. "cont" runs the
 * runtime in a container (a runtime nested in a container), whose new
 * namespaces are all the container's and logged.
 */
static void container_start(const char *group, int sync)
{
	struct work w[] = {
		{ group, "clone3_7ns", iters(40), op_start_clone3, sync },
		{ group, "fork_unshare_7ns", iters(40), op_start_unshare, sync },
	};

	for (unsigned int i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		if (sync) {
			run_counted(&w[i], 0, "nocont");
			run_counted(&w[i], 1, "cont");
		} else {
			run_both(&w[i]);
		}
	}
}

/* The same with audit on: no rule, then the rules of 41-containers.rules. */
static void container_start_audited(void)
{
	int err;

	container_start("start_audit_on", 1);
	err = containers_rules(1);
	if (err) {
		errno = -err;
		fail("AUDIT_ADD_RULE (41-containers.rules)");
	}
	container_start("start_rules", 1);
	containers_rules(0);
}

/* Registration and memory (patched kernel only) */

static int *pins;
static long npins;
static uint64_t pop_base = 1000000;
static long pop;		/* containers of the population so far */
static struct holder F;

/* Grows the population to @n containers, each alive through a pinned UTS namespace. */
static void populate(long n)
{
	for (; pop < n; pop++) {
		set_holder(&F, pop_base + pop);
		created++;
		holder_unshare(&F);
		pins[npins++] = holder_pin(&F);
	}
}

/*
 * A paused process that shares this process's file table (CLONE_FILES), so
 * that it neither copies nor holds the pinned namespace files.
 */
static pid_t paused_child(void)
{
	struct clone_args a = { .flags = CLONE_FILES, .exit_signal = SIGCHLD };
	pid_t pid = syscall(SYS_clone3, &a, sizeof(a));

	if (pid == 0) {
		for (;;)
			pause();
	}
	if (pid < 0)
		fail("clone3");
	return pid;
}

static void kill_wait(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static struct holder F2, F3;

static void registration(long live, uint64_t a_id, uint64_t b_id)
{
	int m = iters(50);
	char name[64];
	pid_t *kids = calloc(m, sizeof(*kids));

	for (int r = 0; r < reps; r++) {
		long long t, set = 0, move = 0, destroy = 0, close_plain = 0;
		long d0 = S->cont_destroy;

		/* set: a new process in no container gets a new ID */
		for (int i = 0; i < m; i++)
			kids[i] = paused_child();
		for (int i = 0; i < m; i++) {
			int fd = open_contid(kids[i]);

			t = now_ns();
			if (write_contid_fd(fd, new_id()))
				fail("set");
			set += now_ns() - t;
			close(fd);
		}
		for (int i = 0; i < m; i++)
			kill_wait(kids[i]);
		/* move: a member goes to another existing container */
		for (int i = 0; i < m; i++) {
			t = now_ns();
			set_holder(&F, i % 2 ? a_id : b_id);
			move += now_ns() - t;
		}
		/* destroy: the last namespace of a container is closed */
		for (int i = 0; i < m; i++) {
			int fd;

			set_holder(&F2, new_id());
			holder_unshare(&F2);
			fd = holder_pin(&F2);
			set_holder(&F2, a_id);
			holder_unshare(&F2);
			t = now_ns();
			close(fd);
			destroy += now_ns() - t;
		}
		/* the same close for a namespace of no container */
		for (int i = 0; i < m; i++) {
			int fd;

			holder_unshare(&F3);
			fd = holder_pin(&F3);
			holder_unshare(&F3);
			t = now_ns();
			close(fd);
			close_plain += now_ns() - t;
		}
		acb_sync(ctl_fd);
		if (S->cont_destroy - d0 != 2L * m)
			info("registration: expected %d op=destroy, got %ld",
			     2 * m, S->cont_destroy - d0);
		snprintf(name, sizeof(name), "live%ld", live);
		emit("registration", "set", name, r, (double)set / m, "ns");
		emit("registration", "move", name, r, (double)move / m, "ns");
		emit("registration", "destroy", name, r, (double)destroy / m,
		     "ns");
		emit("registration", "ns_close_nocont", name, r,
		     (double)close_plain / m, "ns");
	}
	free(kids);
}

/* Containers created since the snapshot @c0/@d0 less those destroyed since. */
static long live_containers(long c0, long d0)
{
	acb_sync(ctl_fd);
	return (created - c0) - (S->cont_destroy - d0);
}

/* Slab bytes per process: @m paused processes, in container @id if not 0. */
static double per_process(struct slab_snap *s0, struct slab_snap *s1, int m,
			  uint64_t id)
{
	pid_t *kids = calloc(m, sizeof(*kids));
	double per;

	snap(s0);
	for (int i = 0; i < m; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			for (;;)
				pause();
		}
		if (kids[i] < 0)
			fail("fork");
		if (id && set_contid(kids[i], id))
			fail("set");
		/* The same /proc/PID inodes and dentries without a registration. */
		if (!id && have_contid) {
			int fd = open_contid(kids[i]);

			if (fd >= 0)
				close(fd);
		}
	}
	snap(s1);
	per = slab_delta(s0, s1, m, id ? "process in a container" :
			 "process in no container");
	for (int i = 0; i < m; i++)
		kill_wait(kids[i]);
	free(kids);
	return per;
}

static void scale_and_memory(void)
{
	struct rlimit rl = { big_n * 2 + 10000, big_n * 2 + 10000 };
	long checkpoints[] = { 1, 1000, big_n };
	uint64_t a_id = 900001, b_id = 900002;
	struct slab_snap *s0 = malloc(sizeof(*s0)), *s1 = malloc(sizeof(*s1));
	long nctl = big_n / 5 > 0 ? big_n / 5 : 1, d0, c0;
	struct holder C, A, B;
	double per_ns, per_cont, pp0, pp1;

	if (setrlimit(RLIMIT_NOFILE, &rl))
		fail("setrlimit(RLIMIT_NOFILE)");
	/* The default allows about max_threads / 2 UTS namespaces per user. */
	{
		FILE *f = fopen("/proc/sys/user/max_uts_namespaces", "w");

		if (!f || fprintf(f, "%ld\n", big_n * 2 + 10000) < 0 || fclose(f))
			fail("max_uts_namespaces");
	}
	pins = calloc(big_n + nctl + 16, sizeof(*pins));
	/* Every helper exists before the first pinned namespace file. */
	holder_start(&C);
	holder_start(&A);
	holder_start(&B);
	holder_start(&F);
	holder_start(&F2);
	holder_start(&F3);
	d0 = S->cont_destroy;
	c0 = created;
	set_holder(&A, a_id);
	set_holder(&B, b_id);
	created += 2;

	/* Control: pinned UTS namespaces of no container. */
	snap(s0);
	for (long i = 0; i < nctl; i++) {
		holder_unshare(&C);
		pins[npins++] = holder_pin(&C);
	}
	holder_unshare(&C);
	snap(s1);
	per_ns = slab_delta(s0, s1, nctl, "pinned uts namespace, no container");
	while (npins)
		close(pins[--npins]);
	holder_stop(&C);

	/* Per process: paused processes in no container, then in one. */
	pp0 = per_process(s0, s1, iters(1000), 0);
	pp1 = per_process(s0, s1, iters(1000), a_id);
	emit("memory", "process_slab", "nocont", 0, pp0, "bytes");
	emit("memory", "member_process_extra", "patched", 0, pp1 - pp0, "bytes");

	for (unsigned int c = 0; c < 3; c++) {
		long long t0 = now_ns();
		long p0 = pop;

		if (c == 2) {
			snap(s0);
		}
		populate(checkpoints[c]);
		/* Out of the last one: each is held by its namespace alone. */
		set_holder(&F, a_id);
		holder_unshare(&F);
		if (c == 2) {
			snap(s1);
			per_cont = slab_delta(s0, s1, pop - p0,
					      "pinned uts namespace of its own container");
			emit("memory", "container_object", "patched", 0,
			     per_cont - per_ns, "bytes");
			emit("memory", "pinned_uts_ns_nocont", "patched", 0,
			     per_ns, "bytes");
		}
		long live = live_containers(c0, d0);

		info("population %ld containers (+2 to move between) in %.1f guest s; live containers by the records: %ld",
		     pop, (now_ns() - t0) / 1e9, live);
		emit("registration", "live_containers", "checkpoint", c, live, "count");
		registration(live, a_id, b_id);
	}

	/* Tear down: every container of the population dies, once. */
	d0 = S->cont_destroy;
	while (npins)
		close(pins[--npins]);
	acb_sync(ctl_fd);
	info("teardown: %ld op=destroy for %ld population containers",
	     S->cont_destroy - d0, pop);
	holder_stop(&F);
	holder_stop(&F2);
	holder_stop(&F3);
	holder_stop(&A);
	holder_stop(&B);
	free(s0);
	free(s1);
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "r:s:N:p:")) != -1) {
		switch (opt) {
		case 'r': reps = atoi(optarg); break;
		case 's': scale = atof(optarg); break;
		case 'N': big_n = atol(optarg); break;
		case 'p': phases = optarg; break;
		default:
			fprintf(stderr, "usage: acbench [-r REPS] [-s SCALE] [-N CONTAINERS] [-p PHASES]\n");
			return 2;
		}
	}
	have_contid = access("/proc/self/audit_containerid", F_OK) == 0;
	info("kernel with audit container IDs: %s; reps %d, scale %.2f",
	     have_contid ? "yes" : "no", reps, scale);
	info("object_size task_struct=%ld signal_cache=%ld uts_namespace=%ld",
	     object_size("task_struct"), object_size("signal_cache"),
	     object_size("uts_namespace"));
	emit("memory", "task_struct_object", "-", 0, object_size("task_struct"), "bytes");
	emit("memory", "signal_struct_object", "-", 0, object_size("signal_cache"), "bytes");

	if (strchr(phases, 'A')) {
		lifecycle();
		namespaces("ns_audit_off", 0);
		container_start("start_audit_off", 0);
	} else if (strchr(phases, 'N')) {
		/* For a profile: only the namespaces, audit off. */
		namespaces("ns_audit_off", 0);
	}
	if (strchr(phases, 'B') || strchr(phases, 'M') || strchr(phases, 'P') ||
	    strchr(phases, 'R') || strchr(phases, 'S')) {
		daemon_start();
		if (strchr(phases, 'P')) {
			/* For a profile: only the audited syscall, in one variant. */
			struct work w = { "audit", "getppid_audited", iters(400),
					  op_getppid, 1 };

			add_syscall_rule(SYS_getppid, 0);
			if (add_syscall_rule(SYS_getppid, 1))
				fail("AUDIT_ADD_RULE");
			run(&w, strchr(phases, 'c') != NULL,
			    strchr(phases, 'c') ? "cont" : "nocont");
		}
		if (strchr(phases, 'B')) {
			audited();
			record_costs();
			namespaces("ns_audit_on", 1);
			container_start_audited();
			nesting();
		} else if (strchr(phases, 'R')) {
			/* For a profile: only the cost of one record. */
			record_costs();
		} else if (strchr(phases, 'S')) {
			/* Only the container starts with audit on. */
			container_start_audited();
		}
		if (have_contid && strchr(phases, 'M')) {
			scale_and_memory();
		} else if (strchr(phases, 'M')) {
			struct slab_snap *s0 = malloc(sizeof(*s0)), *s1 = malloc(sizeof(*s1));

			emit("memory", "process_slab", "nocont", 0,
			     per_process(s0, s1, iters(1000), 0), "bytes");
		}
		acb_sync(ctl_fd);
		info("daemon: %ld records, %ld lost, %ld op=set/move, %ld op=destroy, %ld NS_CREATE, %ld NS_DESTROY",
		     S->total, S->lost, S->cont_setmove, S->cont_destroy,
		     S->ns_create, S->ns_destroy);
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	printf("ACB-DONE\n");
	fflush(stdout);
	return 0;
}
