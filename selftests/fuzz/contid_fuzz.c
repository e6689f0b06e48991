// SPDX-License-Identifier: GPL-2.0
/*
 * contid_fuzz - seeded, reproducible fuzzer of the audit container ID
 * interfaces, for the test VM only (it registers processes, loads audit
 * rules and becomes the audit daemon for its run).
 *
 *   contid_fuzz [--seed N] [--iterations N] [--rules N] [--ns N] [--threads N]
 *               [--quota N] [--nest N]
 *
 * 1. proc: N random writes (default 100000) to /proc/PID/audit_containerid
 *    and /proc/PID/task/TID/audit_containerid of a paused multi-threaded
 *    child (and, now and then, of itself, init, kthreadd and a zombie):
 *    random bytes, lengths 0..64, offsets through pwrite() and lseek(),
 *    writes split in two, buffers that run into an unmapped page, and
 *    concurrent writer threads. Every result is checked against the
 *    contract: success only for a decimal u64 != u64::MAX with an optional
 *    trailing newline, at offset 0, in at most 21 bytes; else EINVAL; then
 *    EPERM for a target the caller may not set; then ESRCH for a zombie.
 * 2. quota: N writes (--quota, default iterations / 5) the same way to
 *    /proc/PID[/task/TID]/audit_containerid_quota, with values around the
 *    edges of 0..=65536 and of u32/u64, leading zeros and junk: success for
 *    0..=65536 in the syntax above (65537: EINVAL); then EPERM (self, init,
 *    kthreadd); then EINVAL for a target in no container (the zombie that
 *    never was a member, the child until it is registered, which the phase
 *    does now and then, moving it between three IDs); then ESRCH (a zombie
 *    that was a member). After each sequential write the child's quota is
 *    read back: "0 N" for the last N granted, "0 0" after 0 or after a move.
 * 3. rules: random AUDIT_ADD_RULE / AUDIT_DEL_RULE messages with the
 *    AUDIT_CONTID field (lists, actions, ops, values[i], buffer lengths,
 *    truncated messages, other fields mixed in), each result checked against
 *    a model of the kernel's rule parser and of the rules loaded; every rule
 *    added is deleted at the end.
 * 4. ns: random sequences of unshare(), setns() and clone3() with CLONE_NEW*
 *    in children, some of them container members; errnos outside those the
 *    namespace syscalls document fail the run.
 * 5. nest: N random operations (--nest, default iterations / 10) on a tree of
 *    server processes, which drop every capability and then fork, exit, reap,
 *    write audit_containerid or audit_containerid_quota, read the quota, or
 *    write through a file of a process they reaped, as the fuzzer asks; the
 *    fuzzer itself is the orchestrator outside (subreaper of the tree). Each
 *    result is checked against a model of containers (parent, pool that
 *    created it, depth), pools (home, limit, used, carved from, revoked) and
 *    processes (parent, container, pool) written from the contract: for a
 *    delegate EPERM (not a delegate, own process, not a descendant, target
 *    out of reach, a pool it did not carve), EEXIST for a live ID its pool
 *    did not create, EDQUOT past its quota (sub-containers and carved
 *    grants), EMLINK below depth 8, ESRCH for an exiting or reaped target;
 *    for the outer one, EPERM/EINVAL/ESRCH; quota reads exactly ("USED
 *    LIMIT", "0 0" for none or revoked; EPERM for a server that is not a
 *    delegate above the target). Liveness too: a container lives while a
 *    process (zombies included), a sub-container or a pool holds it, a pool
 *    while a process or a charge does; after every step the debugfs count of
 *    container objects must equal the model's. Choices lean towards writes
 *    that can succeed, and now and then one level deeper (a delegate's child
 *    in a new sub-container, made a delegate by the fuzzer or by a grant the
 *    delegate carves), down to depth 8.
 *
 * Any unexpected result prints the seed, the phase, the iteration and the
 * input, and fails. Output is KTAP; exit 0 on success, 1 on failure.
 */
#include "../common/ac_common.h"
#include <dirent.h>
#include <stddef.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/sched.h>

#define MAX_WRITE 21
#define MAX_LEN 64

static uint64_t seed = 0xac0f022ULL;
static long iterations = 100000;
static long rule_iterations = 20000;
static long ns_iterations = 300;
static long quota_iterations = -1;	/* default: iterations / 5 */
static long nest_iterations = -1;	/* default: iterations / 10 */
static int nthreads = 4;

/* Expected results */

/* The contract's parser, written from SEMANTICS.md: value or -EINVAL. */
static int contract_parse(const unsigned char *b, size_t len, long long off,
			  uint64_t *val)
{
	static const char max_valid[] = "18446744073709551614";
	size_t n = len, i = 0;

	if (off != 0 || len > MAX_WRITE)
		return -EINVAL;
	if (n && b[n - 1] == '\n')
		n--;
	if (!n)
		return -EINVAL;
	for (size_t k = 0; k < n; k++)
		if (b[k] < '0' || b[k] > '9')
			return -EINVAL;
	while (i < n - 1 && b[i] == '0')
		i++;
	if (n - i > 20 || (n - i == 20 && memcmp(b + i, max_valid, 20) > 0))
		return -EINVAL;
	*val = 0;
	for (; i < n; i++)
		*val = *val * 10 + (b[i] - '0');
	return 0;
}

enum target_kind { T_CHILD, T_CHILD_THREAD, T_SELF, T_INIT, T_KTHREAD, T_ZOMBIE, T_ZOMBIE_MEMBER,
		   T_NKINDS };
static const char *const kind_name[] = { "child", "child-thread", "self", "init", "kthreadd", "zombie",
					 "zombie-member" };

/* EINVAL first, then the permission checks, then a target that is gone. */
static int contract_expect(int kind, const unsigned char *b, size_t len,
			   long long off, uint64_t *val)
{
	int ret = contract_parse(b, len, off, val);

	if (ret)
		return ret;
	switch (kind) {
	case T_SELF:
	case T_INIT:
	case T_KTHREAD:
		return -EPERM;
	case T_ZOMBIE:
	case T_ZOMBIE_MEMBER:
		return -ESRCH;
	}
	return 0;
}

/* The quota file (phase quota): whether the child is in a container, and its quota. */
static volatile bool quota_child_member;
static uint64_t quota_child_limit;

/*
 * /proc/PID/audit_containerid_quota: the same syntax with a value of at most
 * 65536, else EINVAL; then EPERM for a target the caller may not set; then
 * EINVAL for a target in no container (the zombie, never registered; the
 * child until it is); then ESRCH for one that is exiting (the zombie member).
 */
static int quota_expect(int kind, const unsigned char *b, size_t len, long long off, uint64_t *val)
{
	int ret = contract_parse(b, len, off, val);

	if (!ret && *val > 65536)
		ret = -EINVAL;
	if (ret)
		return ret;
	switch (kind) {
	case T_SELF:
	case T_INIT:
	case T_KTHREAD:
		return -EPERM;
	case T_ZOMBIE:
		return -EINVAL;
	case T_ZOMBIE_MEMBER:
		return -ESRCH;
	}
	return quota_child_member ? 0 : -EINVAL;
}

/* The targets */

static pid_t child_pid, child_tids[3], zombie_pid, zombie_member_pid;
static int child_go = -1;

static void *blocker(void *arg)
{
	char c;

	while (read(*(int *)arg, &c, 1) > 0)
		;
	return NULL;
}

/* A child with two more threads, all blocked on a pipe until it closes. */
static int start_child(void)
{
	int fds[2];
	DIR *dir;
	int n = 0;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	child_pid = fork();
	if (child_pid < 0)
		return -errno;
	if (child_pid == 0) {
		pthread_t t[2];

		close(fds[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, blocker, &fds[0]);
		blocker(&fds[0]);
		_exit(0);
	}
	close(fds[0]);
	child_go = fds[1];
	for (int tries = 0; tries < 1000 && n < 3; tries++) {
		char path[64];

		n = 0;
		snprintf(path, sizeof(path), "/proc/%d/task", child_pid);
		dir = opendir(path);
		if (!dir)
			return -errno;
		for (struct dirent *e; (e = readdir(dir)) && n < 3;)
			if (atoi(e->d_name) > 0)
				child_tids[n++] = atoi(e->d_name);
		closedir(dir);
		if (n < 3)
			usleep(1000);
	}
	if (n < 3)
		return -ECHILD;
	/* The zombie: exited, never reaped until the end. */
	zombie_pid = fork();
	if (zombie_pid == 0)
		_exit(0);
	for (;;) {
		siginfo_t si;

		if (waitid(P_PID, zombie_pid, &si, WEXITED | WNOWAIT) == 0)
			break;
	}
	return 0;
}

static void stop_child(void)
{
	close(child_go);
	waitpid(child_pid, NULL, 0);
	waitpid(zombie_pid, NULL, 0);
}

/* Inputs */

struct input {
	unsigned char buf[MAX_LEN + 8];
	size_t len;
	long long off;
	int kind;
	pid_t pid, tid;
	int how;		/* 0 pwrite, 1 lseek+write, 2 split, 3 fault */
	bool quota;		/* audit_containerid_quota, not audit_containerid */
};

static int expect(const struct input *in, const unsigned char *b, size_t len, long long off,
		  uint64_t *val)
{
	return in->quota ? quota_expect(in->kind, b, len, off, val) :
			   contract_expect(in->kind, b, len, off, val);
}

/* Appends the endings the parsers care about to @n bytes of @buf: the new length. */
static size_t mutate_tail(uint64_t *s, unsigned char *buf, size_t n)
{
	switch (rng_below(s, 8)) {
	case 0:
	case 1:
		if (n < MAX_LEN)
			buf[n++] = '\n';
		break;
	case 2:
		if (n + 2 <= MAX_LEN) {
			buf[n++] = '\n';
			buf[n++] = '\n';
		}
		break;
	case 3:
		if (n < MAX_LEN)
			buf[n++] = rng_next(s);
		break;
	case 4:
		if (n)
			buf[rng_below(s, n)] = rng_next(s);
		break;
	}
	return n;
}

static void gen_bytes(uint64_t *s, struct input *in)
{
	static const char alpha[] = "0123456789\n\0 +-xX\t9";
	char num[64];
	size_t n = 0;

	switch (rng_below(s, 8)) {
	case 0:
		n = rng_below(s, MAX_LEN + 1);
		for (size_t i = 0; i < n; i++)
			in->buf[i] = rng_next(s);
		break;
	case 1:
	case 2:
		n = rng_below(s, 25);
		for (size_t i = 0; i < n; i++)
			in->buf[i] = alpha[rng_below(s, sizeof(alpha) - 1)];
		break;
	case 3:
	case 4: {
		static const uint64_t edges[] = { 0, 1, 9, 10, UINT64_MAX - 1, UINT64_MAX,
						   UINT64_MAX / 10, UINT64_MAX / 10 + 1 };
		uint64_t v = edges[rng_below(s, 8)] + rng_below(s, 5) - 2;

		n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
		memcpy(in->buf, num, n);
		break;
	}
	case 5: {
		size_t z = rng_below(s, 23);

		memset(in->buf, '0', z);
		n = z + snprintf(num, sizeof(num), "%llu", (unsigned long long)rng_next(s));
		memcpy(in->buf + z, num, n - z);
		if (n > MAX_LEN)
			n = MAX_LEN;
		break;
	}
	case 6:
		n = 1 + rng_below(s, 24);
		for (size_t i = 0; i < n; i++)
			in->buf[i] = '0' + rng_below(s, 10);
		break;
	default:
		n = snprintf(num, sizeof(num), "%llu", (unsigned long long)rng_next(s));
		memcpy(in->buf, num, n);
		break;
	}
	in->len = mutate_tail(s, in->buf, n);
}

/* The pid and tid of a target of kind @in->kind. */
static void gen_target(uint64_t *s, struct input *in)
{
	switch (in->kind) {
	case T_CHILD:
		in->pid = child_pid;
		in->tid = rng_below(s, 2) ? child_pid : 0;
		break;
	case T_CHILD_THREAD:
		in->pid = child_pid;
		in->tid = child_tids[rng_below(s, 3)];
		break;
	case T_SELF:
		in->pid = getpid();
		in->tid = rng_below(s, 2) ? (pid_t)syscall(SYS_gettid) : 0;
		break;
	case T_INIT:
		in->pid = 1;
		break;
	case T_KTHREAD:
		in->pid = 2;
		break;
	case T_ZOMBIE:
		in->pid = zombie_pid;
		break;
	case T_ZOMBIE_MEMBER:
		in->pid = zombie_member_pid;
		break;
	}
}

/* Quotas: the edges of 0..=65536 and of u32/u64, with leading zeros; else what gen_bytes() makes. */
static void gen_quota_bytes(uint64_t *s, struct input *in)
{
	static const uint64_t edges[] = { 0, 1, 2, 9, 10, 65535, 65536, 65537, 99999, 100000,
					   4294967295ULL, 4294967296ULL, UINT64_MAX - 1, UINT64_MAX };
	char num[32];
	size_t z = 0, n;
	uint64_t v;

	if (rng_below(s, 3) == 0) {
		gen_bytes(s, in);
		return;
	}
	v = rng_below(s, 2) ? edges[rng_below(s, 14)] + rng_below(s, 5) - 2 : rng_below(s, 70000);
	if (rng_below(s, 6) == 0)
		z = rng_below(s, 22);
	memset(in->buf, '0', z);
	n = z + snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	memcpy(in->buf + z, num, n - z);
	in->len = mutate_tail(s, in->buf, n);
}

static void gen_input(uint64_t *s, struct input *in, bool concurrent)
{
	uint64_t r;

	memset(in, 0, sizeof(*in));
	gen_bytes(s, in);
	r = rng_below(s, 16);
	in->off = r == 0 ? 1 + rng_below(s, 64) : r == 1 ? (long long)rng_below(s, 1ULL << 40) : 0;
	r = rng_below(s, 100);
	in->kind = r < 45 ? T_CHILD : r < 90 ? T_CHILD_THREAD :
		   r < 94 ? T_SELF : r < 96 ? T_INIT : r < 97 ? T_KTHREAD : T_ZOMBIE;
	gen_target(s, in);
	r = rng_below(s, 20);
	in->how = r < 14 ? 0 : r < 17 ? 1 : r < 19 ? 2 : 3;
	(void)concurrent;
}

/* Quota writes: the targets of gen_input(), and a zombie that was a member. */
static void gen_quota_input(uint64_t *s, struct input *in)
{
	uint64_t r;

	memset(in, 0, sizeof(*in));
	in->quota = true;
	gen_quota_bytes(s, in);
	r = rng_below(s, 16);
	in->off = r == 0 ? 1 + rng_below(s, 64) : r == 1 ? (long long)rng_below(s, 1ULL << 40) : 0;
	r = rng_below(s, 100);
	in->kind = r < 45 ? T_CHILD : r < 85 ? T_CHILD_THREAD : r < 89 ? T_SELF : r < 91 ? T_INIT :
		   r < 92 ? T_KTHREAD : r < 96 ? T_ZOMBIE : T_ZOMBIE_MEMBER;
	gen_target(s, in);
	r = rng_below(s, 20);
	in->how = r < 14 ? 0 : r < 17 ? 1 : r < 19 ? 2 : 3;
}

static void describe(const struct input *in, char *out, size_t size)
{
	size_t o = snprintf(out, size, "file=%s target=%s pid=%d tid=%d how=%d off=%lld len=%zu bytes=",
			    in->quota ? "quota" : "contid", kind_name[in->kind], in->pid, in->tid,
			    in->how, in->off, in->len);

	for (size_t i = 0; i < in->len && o + 3 < size; i++)
		o += snprintf(out + o, size - o, "%02x", in->buf[i]);
}

/* One page that is readable, followed by one that is not. */
static unsigned char *fault_page;

struct wstats {
	long writes, ok, einval, eperm, esrch, efault, checks;
};

/* Runs one input; returns false (after printing it) when the result is wrong. */
static bool run_input(uint64_t run_seed, long iter, const struct input *in,
		      bool readback, struct wstats *st)
{
	char path[64], desc[512];
	uint64_t val = 0, got;
	long long off = in->off;
	int fd, want, ret = 0;
	size_t wlen = in->len;
	ssize_t n;

	if (in->quota)
		quota_path(path, sizeof(path), in->pid, in->tid);
	else
		contid_path(path, sizeof(path), in->pid, in->tid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		describe(in, desc, sizeof(desc));
		diag("seed=%#llx iteration=%ld: open %s: %s (%s)", (unsigned long long)run_seed,
		     iter, path, strerror(errno), desc);
		return false;
	}
	switch (in->how) {
	case 0:
		n = pwrite(fd, in->buf, in->len, off);
		break;
	case 1:
		if (lseek(fd, off, SEEK_SET) < 0) {
			/* Offsets the file refuses are not the parser's business. */
			off = 0;
			lseek(fd, 0, SEEK_SET);
		}
		off = lseek(fd, 0, SEEK_CUR);
		n = write(fd, in->buf, in->len);
		break;
	case 2: {
		/* Split in two write()s; each is judged at the offset it had. */
		size_t first = in->len ? rng_below(&(uint64_t){ run_seed ^ iter }, in->len + 1) : 0;
		uint64_t v1;
		int w1;

		off = lseek(fd, 0, SEEK_CUR);
		w1 = expect(in, in->buf, first, off, &v1);
		n = write(fd, in->buf, first);
		ret = n < 0 ? -errno : 0;
		if (n >= 0 && (size_t)n != first)
			ret = -EIO;
		st->writes++;
		if (ret != w1) {
			describe(in, desc, sizeof(desc));
			diag("seed=%#llx iteration=%ld: first part (%zu bytes at %lld): got %d want %d (%s)",
			     (unsigned long long)run_seed, iter, first, off, ret, w1, desc);
			close(fd);
			return false;
		}
		if (in->quota && !ret && (in->kind == T_CHILD || in->kind == T_CHILD_THREAD))
			quota_child_limit = v1;
		off = lseek(fd, 0, SEEK_CUR);
		wlen = in->len - first;
		want = expect(in, in->buf + first, wlen, off, &val);
		n = write(fd, in->buf + first, wlen);
		goto judge;
	}
	default: {
		/* The buffer runs into an unmapped page after @avail bytes. */
		size_t avail = rng_below(&(uint64_t){ run_seed ^ iter }, in->len + 1);
		unsigned char *p = fault_page + 4096 - avail;

		memcpy(p, in->buf, avail);
		n = pwrite(fd, p, in->len, off);
		want = expect(in, in->buf, in->len, off, &val);
		/* Length and offset are checked before the copy; then EFAULT. */
		if (avail < in->len && in->len <= MAX_WRITE && off == 0)
			want = -EFAULT;
		goto judge;
	}
	}
	want = expect(in, in->buf, in->len, off, &val);
judge:
	ret = n < 0 ? -errno : (size_t)n == wlen ? 0 : -EIO;
	close(fd);
	st->writes++;
	switch (ret) {
	case 0: st->ok++; break;
	case -EINVAL: st->einval++; break;
	case -EPERM: st->eperm++; break;
	case -ESRCH: st->esrch++; break;
	case -EFAULT: st->efault++; break;
	}
	if (ret != want) {
		describe(in, desc, sizeof(desc));
		diag("seed=%#llx iteration=%ld: got %d (%s) want %d (%s) at offset %lld (%s)",
		     (unsigned long long)run_seed, iter, ret, strerror(-ret), want,
		     strerror(-want), off, desc);
		return false;
	}
	if (in->quota && ret == 0 && (in->kind == T_CHILD || in->kind == T_CHILD_THREAD))
		quota_child_limit = val;
	if (readback && in->quota && (in->kind == T_CHILD || in->kind == T_CHILD_THREAD)) {
		/* "USED LIMIT": the child creates nothing, and a quota of 0 is none. */
		char text[32], want_text[32];

		st->checks++;
		quota_path(path, sizeof(path), child_pid, child_tids[iter % 3]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
		text[n > 0 ? n : 0] = 0;
		if (fd >= 0)
			close(fd);
		snprintf(want_text, sizeof(want_text), "0 %llu\n", (unsigned long long)quota_child_limit);
		if (strcmp(text, want_text)) {
			describe(in, desc, sizeof(desc));
			text[strcspn(text, "\n")] = 0;
			diag("seed=%#llx iteration=%ld: quota reads \"%s\", want \"0 %llu\" (%s)",
			     (unsigned long long)run_seed, iter, text,
			     (unsigned long long)quota_child_limit, desc);
			return false;
		}
	} else if (readback && ret == 0 && (in->kind == T_CHILD || in->kind == T_CHILD_THREAD)) {
		st->checks++;
		got = contid_get(child_pid, child_tids[iter % 3]);
		if (got != val) {
			describe(in, desc, sizeof(desc));
			diag("seed=%#llx iteration=%ld: wrote %llu, reads %llu (%s)",
			     (unsigned long long)run_seed, iter, (unsigned long long)val,
			     (unsigned long long)got, desc);
			return false;
		}
	}
	return true;
}

struct writer {
	pthread_t thread;
	uint64_t seed;
	long iters;
	bool ok, quota;
	struct wstats st;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t s = w->seed;
	struct input in;

	w->ok = true;
	for (long i = 0; i < w->iters; i++) {
		if (w->quota)
			gen_quota_input(&s, &in);
		else
			gen_input(&s, &in, true);
		if (in.how == 3)
			in.how = 0;	/* one fault page, not shared */
		if (!run_input(w->seed, i, &in, false, &w->st)) {
			w->ok = false;
			break;
		}
	}
	return NULL;
}

static void add_stats(struct wstats *a, const struct wstats *b)
{
	a->writes += b->writes;
	a->ok += b->ok;
	a->einval += b->einval;
	a->eperm += b->eperm;
	a->esrch += b->esrch;
	a->efault += b->efault;
	a->checks += b->checks;
}

/*
 * Runs @conc writes in @n threads @w at once, quota writes if @quota, thread t
 * with the seed @seed ^ (@mul * (t + 1)), and adds their counts to @st; false if one
 * failed.
 */
static bool run_writers(struct writer *w, int n, uint64_t seed, uint64_t mul, long conc,
			bool quota, struct wstats *st)
{
	bool ok = true;

	for (int t = 0; t < n; t++) {
		w[t].seed = seed ^ (mul * (t + 1));
		w[t].iters = conc / n + (t < conc % n);
		w[t].quota = quota;
		pthread_create(&w[t].thread, NULL, writer_main, &w[t]);
	}
	for (int t = 0; t < n; t++) {
		pthread_join(w[t].thread, NULL);
		if (!w[t].ok) {
			diag("%swriter thread %d (seed %#llx) failed", quota ? "quota " : "", t,
			     (unsigned long long)w[t].seed);
			ok = false;
		}
		add_stats(st, &w[t].st);
	}
	return ok;
}

static void phase_proc(void)
{
	long seq = iterations * 6 / 10, conc = iterations - seq;
	struct writer *w = calloc(nthreads, sizeof(*w));
	struct wstats st = {};
	uint64_t s = seed;
	struct input in;
	double t0 = now_s();
	bool ok = true;

	fault_page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fault_page == MAP_FAILED || mprotect(fault_page + 4096, 4096, PROT_NONE) ||
	    start_child()) {
		ktap_result(false, NULL, "proc_writes setup: %s", strerror(errno));
		return;
	}
	for (long i = 0; i < seq && ok; i++) {
		gen_input(&s, &in, false);
		ok = run_input(seed, i, &in, true, &st);
	}
	if (ok)
		ok = run_writers(w, nthreads, seed, 0x1000193ULL, conc, false, &st);
	/* All threads of the child name the same container. */
	if (ok) {
		uint64_t a = contid_get(child_pid, 0);

		for (int t = 0; t < 3; t++)
			if (contid_get(child_pid, child_tids[t]) != a) {
				diag("thread %d of the child reads another contid than its process", child_tids[t]);
				ok = false;
			}
	}
	stop_child();
	diag("proc: %ld writes (%ld sequential, %ld in %d threads) in %.1f s: ok=%ld einval=%ld eperm=%ld esrch=%ld efault=%ld readbacks=%ld",
	     st.writes, seq, conc, nthreads, now_s() - t0, st.ok, st.einval, st.eperm,
	     st.esrch, st.efault, st.checks);
	ktap_result(ok && st.writes >= iterations, NULL, "proc_writes seed=%#llx", (unsigned long long)seed);
	free(w);
}

/* Quota writes */

/* A zombie that was a member: registered, exited, not reaped until the end. */
static int start_zombie_member(void)
{
	int fds[2], err;
	char c;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	zombie_member_pid = fork();
	if (zombie_member_pid < 0)
		return -errno;
	if (zombie_member_pid == 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[0]);
	err = contid_set(zombie_member_pid, 0, 975000000ULL);
	close(fds[1]);
	for (;;) {
		siginfo_t si;

		if (waitid(P_PID, zombie_member_pid, &si, WEXITED | WNOWAIT) == 0)
			break;
	}
	return err;
}

static void phase_quota(void)
{
	long seq = quota_iterations * 6 / 10, conc = quota_iterations - seq, regs = 0;
	struct writer *w = calloc(nthreads, sizeof(*w));
	struct wstats st = {};
	uint64_t s = seed ^ 0x51554f54ULL;
	struct input in;
	double t0 = now_s();
	bool ok = true;
	int err;

	quota_child_member = false;
	quota_child_limit = 0;
	if (!fault_page || fault_page == MAP_FAILED) {
		fault_page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (fault_page == MAP_FAILED || mprotect(fault_page + 4096, 4096, PROT_NONE)) {
			ktap_result(false, NULL, "quota_writes setup: %s", strerror(errno));
			return;
		}
	}
	if (start_child() || (err = start_zombie_member())) {
		ktap_result(false, NULL, "quota_writes setup: %s", strerror(errno));
		return;
	}
	for (long i = 0; i < seq && ok; i++) {
		if (rng_below(&s, 12) == 0) {
			/* Register or move the child: it leaves its pool when its container changes. */
			uint64_t id = 976000000ULL + rng_below(&s, 3), cur = contid_get(child_pid, 0);

			err = contid_set(child_pid, rng_below(&s, 2) ? child_tids[rng_below(&s, 3)] : 0, id);
			if (err) {
				diag("seed=%#llx quota iteration=%ld: registering the child as %llu: %s",
				     (unsigned long long)seed, i, (unsigned long long)id, strerror(-err));
				ok = false;
			}
			if (!quota_child_member || cur != id)
				quota_child_limit = 0;
			quota_child_member = true;
			regs++;
			continue;
		}
		gen_quota_input(&s, &in);
		ok = run_input(seed, i, &in, true, &st);
	}
	/* The threads need the child in a container, so that their results do not depend on timing. */
	if (ok && !quota_child_member) {
		err = contid_set(child_pid, 0, 976000000ULL);
		ok = !err;
		quota_child_member = true;
	}
	if (ok)
		ok = run_writers(w, nthreads, seed, 0x51554f54ULL, conc, true, &st);
	stop_child();
	waitpid(zombie_member_pid, NULL, 0);
	diag("quota: %ld writes (%ld sequential, %ld in %d threads) and %ld registrations in %.1f s: ok=%ld einval=%ld eperm=%ld esrch=%ld efault=%ld readbacks=%ld",
	     st.writes, seq, conc, nthreads, regs, now_s() - t0, st.ok, st.einval, st.eperm,
	     st.esrch, st.efault, st.checks);
	ktap_result(ok && st.writes + regs >= quota_iterations, NULL, "quota_writes seed=%#llx",
		    (unsigned long long)seed);
	free(w);
}

/* Rules */

struct rule_buf {
	union {
		struct audit_rule_data data;
		char raw[sizeof(struct audit_rule_data) + 1024];
	};
};

/* A canonical description of a rule as the kernel compares rules. */
struct model_rule {
	struct rule_buf r;
	size_t size;
	char key[2048];
};

#define MAX_MODEL 512
static struct model_rule model[MAX_MODEL];
static int nmodel;

static const uint32_t ops[] = { AUDIT_EQUAL, AUDIT_NOT_EQUAL, AUDIT_LESS_THAN, AUDIT_GREATER_THAN,
				AUDIT_LESS_THAN_OR_EQUAL, AUDIT_GREATER_THAN_OR_EQUAL,
				AUDIT_BIT_MASK, AUDIT_BIT_TEST };
/* Syscalls this program does not make, for exit rules that match nothing here. */
static const int quiet_syscalls[] = { __NR_getppid, __NR_sysinfo, __NR_uname, __NR_getpgrp, __NR_times };

static bool valid_op(uint32_t op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i] == op)
			return true;
	return false;
}

/*
 * What kernel/auditfilter.c (audit_to_entry_common(), audit_field_valid(),
 * audit_data_to_entry(), with the series' AUDIT_CONTID) answers for the
 * fields this generator uses: 0 or -EINVAL. @key gets the rule's identity.
 */
static int model_parse(const struct rule_buf *rb, size_t size, char *key, size_t ksize)
{
	const struct audit_rule_data *d = &rb->data;
	uint32_t list = d->flags & ~AUDIT_FILTER_PREPEND;
	size_t remain, pos = 0, ko;
	bool has_key = false;

	if (size < sizeof(*d))
		return -EINVAL;
	remain = size - sizeof(*d);
	if (list != AUDIT_FILTER_EXIT && list != AUDIT_FILTER_URING_EXIT &&
	    list != AUDIT_FILTER_TASK && list != AUDIT_FILTER_USER &&
	    list != AUDIT_FILTER_EXCLUDE && list != AUDIT_FILTER_FS)
		return -EINVAL;
	if (d->action != AUDIT_NEVER && d->action != AUDIT_ALWAYS)
		return -EINVAL;
	if (d->field_count > AUDIT_MAX_FIELDS)
		return -EINVAL;
	/* Not the PREPEND flag: see phase_rules(). */
	ko = snprintf(key, ksize, "l%u a%u n%u", list, d->action, d->field_count);
	for (int i = 0; i < AUDIT_BITMASK_SIZE; i++)
		if (d->mask[i])
			ko += snprintf(key + ko, ksize - ko, " m%d=%x", i, d->mask[i]);
	for (uint32_t i = 0; i < d->field_count; i++) {
		uint32_t type = d->fields[i], op = d->fieldflags[i], v = d->values[i];
		bool eq_only = false;

		if (!valid_op(op))
			return -EINVAL;
		switch (type) {
		case AUDIT_MSGTYPE:
			if (list != AUDIT_FILTER_EXCLUDE && list != AUDIT_FILTER_USER)
				return -EINVAL;
			break;
		case AUDIT_CONTID:
			if (list != AUDIT_FILTER_EXIT && list != AUDIT_FILTER_USER &&
			    list != AUDIT_FILTER_EXCLUDE)
				return -EINVAL;
			break;
		}
		if (list == AUDIT_FILTER_FS && type != AUDIT_FILTERKEY)
			return -EINVAL;
		switch (type) {
		case AUDIT_PERS:
			break;
		case AUDIT_UID:
		case AUDIT_PID:
		case AUDIT_MSGTYPE:
		case AUDIT_EXIT:
			if (op == AUDIT_BIT_MASK || op == AUDIT_BIT_TEST)
				return -EINVAL;
			break;
		case AUDIT_FILTERKEY:
		case AUDIT_ARCH:
		case AUDIT_CONTID:
			eq_only = true;
			break;
		default:
			return -EINVAL;
		}
		if (eq_only && op != AUDIT_EQUAL && op != AUDIT_NOT_EQUAL)
			return -EINVAL;
		ko += snprintf(key + ko, ksize - ko, " f%u o%u", type, op);
		switch (type) {
		case AUDIT_UID:
			if (v == (uint32_t)-1)
				return -EINVAL;
			ko += snprintf(key + ko, ksize - ko, "=%u", v);
			break;
		case AUDIT_FILTERKEY:
			if (has_key || v > AUDIT_MAX_KEY_LEN || v == 0 || v > remain)
				return -EINVAL;
			has_key = true;
			ko += snprintf(key + ko, ksize - ko, "=\"%.*s\"", (int)v, d->buf + pos);
			pos += v;
			remain -= v;
			break;
		case AUDIT_CONTID: {
			uint64_t c;

			if (v != 8 || v > remain)
				return -EINVAL;
			memcpy(&c, d->buf + pos, 8);
			ko += snprintf(key + ko, ksize - ko, "=%llu", (unsigned long long)c);
			pos += 8;
			remain -= 8;
			break;
		}
		default:
			ko += snprintf(key + ko, ksize - ko, "=%u", v);
		}
	}
	return 0;
}

static void gen_rule(uint64_t *s, struct rule_buf *rb, size_t *size, size_t *nl_len)
{
	static const uint32_t lists[] = { AUDIT_FILTER_EXIT, AUDIT_FILTER_USER, AUDIT_FILTER_EXCLUDE,
					  AUDIT_FILTER_TASK, AUDIT_FILTER_FS, AUDIT_FILTER_URING_EXIT,
					  AUDIT_FILTER_ENTRY, 8 };
	static const uint32_t others[] = { AUDIT_ARCH, AUDIT_PID, AUDIT_UID, AUDIT_FILTERKEY,
					   AUDIT_MSGTYPE, AUDIT_EXIT, AUDIT_PERS };
	struct audit_rule_data *d = &rb->data;
	uint32_t nf;
	size_t pos = 0;

	memset(rb, 0, sizeof(*rb));
	d->flags = rng_below(s, 10) < 8 ? lists[rng_below(s, 3)] : lists[rng_below(s, 8)];
	if (rng_below(s, 8) == 0)
		d->flags |= AUDIT_FILTER_PREPEND;
	d->action = rng_below(s, 10) < 8 ? (rng_below(s, 2) ? AUDIT_ALWAYS : AUDIT_NEVER) :
		    rng_below(s, 4);
	if ((d->flags & ~AUDIT_FILTER_PREPEND) == AUDIT_FILTER_EXIT) {
		int nr = quiet_syscalls[rng_below(s, 5)];

		d->mask[nr / 32] |= 1U << (nr % 32);
	}
	nf = rng_below(s, 20) == 0 ? rng_below(s, 70) : 1 + rng_below(s, 4);
	d->field_count = nf;
	for (uint32_t i = 0; i < nf && i < AUDIT_MAX_FIELDS; i++) {
		bool contid = i == 0 || rng_below(s, 3) == 0;
		uint32_t type = contid ? AUDIT_CONTID : others[rng_below(s, 7)];

		d->fields[i] = type;
		d->fieldflags[i] = rng_below(s, 10) < 7 ? ops[rng_below(s, 2)] :
				   rng_below(s, 10) < 9 ? ops[rng_below(s, 8)] : rng_next(s);
		switch (type) {
		case AUDIT_CONTID: {
			static const uint32_t lens[] = { 0, 1, 4, 7, 9, 16, 0xffffffffu };
			uint64_t c = rng_below(s, 4) == 0 ? UINT64_MAX - rng_below(s, 2) :
				     900000000ULL + rng_below(s, 64);

			d->values[i] = rng_below(s, 10) < 8 ? 8 : lens[rng_below(s, 7)];
			if (pos + 8 <= 1024)
				memcpy(d->buf + pos, &c, 8);
			if (d->values[i] <= 16)
				pos += d->values[i] <= 8 ? d->values[i] : 8;
			break;
		}
		case AUDIT_FILTERKEY: {
			uint32_t kl = rng_below(s, 12) == 0 ? rng_below(s, 300) : 1 + rng_below(s, 8);
			size_t copy = kl;

			d->values[i] = kl;
			if (pos + copy > 1000)
				copy = 1000 - pos;
			for (size_t k = 0; k < copy; k++)
				d->buf[pos + k] = 'a' + rng_below(s, 3);
			pos += copy;
			break;
		}
		case AUDIT_ARCH:
			d->values[i] = rng_below(s, 2) ? 0xc000003e : 0x40000003;
			break;
		case AUDIT_UID:
			d->values[i] = rng_below(s, 8) == 0 ? (uint32_t)-1 : rng_below(s, 4);
			break;
		case AUDIT_MSGTYPE:
			d->values[i] = 1100 + rng_below(s, 4);
			break;
		default:
			d->values[i] = rng_below(s, 4);
		}
	}
	d->buflen = pos;
	*size = sizeof(*d) + pos;
	*nl_len = 0;
	switch (rng_below(s, 12)) {
	case 0:	/* truncated: fewer bytes than the fields need */
		*size -= rng_below(s, pos + 1);
		break;
	case 1:	/* buflen that lies */
		d->buflen = rng_next(s);
		break;
	case 2:	/* a header shorter than the message */
		*size = sizeof(*d) + pos;
		*nl_len = NLMSG_LENGTH(rng_below(s, *size + 1));
		break;
	case 3:	/* shorter than struct audit_rule_data */
		*size = rng_below(s, sizeof(*d));
		break;
	}
}

static void phase_rules(int fd)
{
	struct rule_buf rb;
	char key[2048];
	size_t size, nl_len;
	uint64_t s = seed ^ 0x52554c45ULL;
	long counts[5] = {};
	bool ok = true;
	double t0 = now_s();

	nmodel = 0;
	for (long i = 0; i < rule_iterations && ok; i++) {
		int type, want, got, m = -1;
		size_t eff;

		if (nmodel && rng_below(&s, 4) == 0) {
			/* Delete (or re-add) one that is loaded. */
			m = rng_below(&s, nmodel);
			rb = model[m].r;
			size = model[m].size;
			nl_len = 0;
			type = rng_below(&s, 4) ? AUDIT_DEL_RULE : AUDIT_ADD_RULE;
		} else {
			gen_rule(&s, &rb, &size, &nl_len);
			type = rng_below(&s, 4) ? AUDIT_ADD_RULE : AUDIT_DEL_RULE;
		}
		eff = nl_len ? nl_len - NLMSG_HDRLEN : size;
		want = model_parse(&rb, eff < size ? eff : size, key, sizeof(key));
		if (!want) {
			/*
			 * audit_add_rule() clears AUDIT_FILTER_PREPEND in the
			 * rule it keeps, and audit_compare_rule() compares the
			 * flags: a rule sent with PREPEND never equals a loaded
			 * one (so it is never EEXIST, and never found to delete).
			 */
			bool prepend = rb.data.flags & AUDIT_FILTER_PREPEND;
			int found = -1;

			for (int k = 0; k < nmodel; k++)
				if (!strcmp(model[k].key, key))
					found = k;
			if (prepend)
				found = -1;
			if (type == AUDIT_ADD_RULE && found >= 0)
				want = -EEXIST;
			else if (type == AUDIT_DEL_RULE && found < 0)
				want = -ENOENT;
			else if (type == AUDIT_ADD_RULE && nmodel == MAX_MODEL)
				continue;
			m = found;
		}
		got = ac_request(fd, type, &rb, size, nl_len, NULL);
		counts[got == 0 ? 0 : got == -EINVAL ? 1 : got == -EEXIST ? 2 : got == -ENOENT ? 3 : 4]++;
		if (got != want) {
			char hex[4096];
			size_t o = 0;
			const unsigned char *p = (const unsigned char *)&rb;

			for (size_t k = 0; k < size && o + 3 < sizeof(hex); k++) {
				if (k < offsetof(struct audit_rule_data, buf) &&
				    k >= offsetof(struct audit_rule_data, mask) + 4 * 2 &&
				    k < offsetof(struct audit_rule_data, fields))
					continue;
				o += snprintf(hex + o, sizeof(hex) - o, "%02x", p[k]);
			}
			diag("seed=%#llx rule iteration=%ld: %s got %d (%s) want %d; size=%zu nlmsg_len=%zu rule: %s",
			     (unsigned long long)seed, i, type == AUDIT_ADD_RULE ? "add" : "del",
			     got, strerror(-got), want, size, nl_len, want == -EINVAL ? "(invalid)" : key);
			diag("message bytes (mask words 2..63 left out): %s", hex);
			ok = false;
			break;
		}
		if (got == 0 && type == AUDIT_ADD_RULE) {
			model[nmodel].r = rb;
			model[nmodel].r.data.flags &= ~AUDIT_FILTER_PREPEND;	/* as the kernel keeps it */
			model[nmodel].size = size;
			snprintf(model[nmodel].key, sizeof(model[nmodel].key), "%s", key);
			nmodel++;
		} else if (got == 0 && type == AUDIT_DEL_RULE && m >= 0) {
			model[m] = model[--nmodel];
		}
	}
	/* Clean up every rule this run added. */
	int left = 0;

	while (nmodel) {
		int got = ac_request(fd, AUDIT_DEL_RULE, &model[nmodel - 1].r,
				     model[nmodel - 1].size, 0, NULL);

		if (got) {
			diag("deleting rule %s at the end: %s", model[nmodel - 1].key, strerror(-got));
			left++;
			ok = false;
		}
		nmodel--;
	}
	diag("rules: %ld messages in %.1f s: ok=%ld einval=%ld eexist=%ld enoent=%ld other=%ld; %d left behind",
	     rule_iterations, now_s() - t0, counts[0], counts[1], counts[2], counts[3], counts[4], left);
	ktap_result(ok, NULL, "rule_messages seed=%#llx", (unsigned long long)seed);
}

/* Namespace syscalls */

static const int ns_flags[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET,
				CLONE_NEWPID, CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWUSER };
static const char *const ns_files[] = { "mnt", "uts", "ipc", "net", "pid", "cgroup", "time",
					"user", "pid_for_children", "time_for_children" };

static bool ns_errno_ok(int e)
{
	/* The errnos unshare(2), setns(2) and clone3(2) document for these cases. */
	return e == 0 || e == EINVAL || e == EPERM || e == ENOSPC || e == EUSERS ||
	       e == EBUSY || e == ENOMEM; /* ENOMEM: fork in a pid ns whose init is gone */
}

/* A child's random sequence; exits 0, or 1 after printing the bad step. */
static int ns_sequence(uint64_t s, long iter, pid_t peer, int depth)
{
	int steps = 1 + rng_below(&s, 8);

	for (int k = 0; k < steps; k++) {
		int op = rng_below(&s, 4), flags = 0, ret, err;
		char what[128];

		for (int b = 0; b < 8; b++)
			if (rng_below(&s, 4) == 0)
				flags |= ns_flags[b];
		if (op == 0) {
			ret = unshare(flags);
			snprintf(what, sizeof(what), "unshare(%#x)", flags);
		} else if (op == 1) {
			const char *f = ns_files[rng_below(&s, 10)];
			pid_t who = rng_below(&s, 2) ? peer : getppid();
			char path[64];
			int fd, nstype = rng_below(&s, 3) ? 0 : ns_flags[rng_below(&s, 8)];

			snprintf(path, sizeof(path), "/proc/%d/ns/%s", who, f);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;	/* the peer is gone: not the fuzzer's concern */
			ret = setns(fd, nstype);
			snprintf(what, sizeof(what), "setns(%s, %#x)", path, nstype);
			close(fd);
		} else if (op == 2 && depth < 3) {
			struct clone_args args = { .flags = flags, .exit_signal = SIGCHLD };
			pid_t pid = syscall(SYS_clone3, &args, sizeof(args));

			if (pid == 0)
				_exit(ns_sequence(rng_next(&s), iter, peer, depth + 1));
			ret = pid < 0 ? -1 : 0;
			snprintf(what, sizeof(what), "clone3(%#x)", flags);
			if (pid > 0) {
				int status;

				waitpid(pid, &status, 0);
				if (!WIFEXITED(status) || WEXITSTATUS(status)) {
					printf("# seed=%#llx ns iteration=%ld: child of %s failed\n",
					       (unsigned long long)seed, iter, what);
					return 1;
				}
			}
		} else {
			/* A plain fork that runs on, in whatever namespaces we are in. */
			pid_t pid = depth < 3 ? fork() : -1;

			if (pid == 0)
				_exit(ns_sequence(rng_next(&s), iter, peer, depth + 1));
			if (pid > 0) {
				int status;

				waitpid(pid, &status, 0);
				if (!WIFEXITED(status) || WEXITSTATUS(status))
					return 1;
			}
			continue;
		}
		err = ret < 0 ? errno : 0;
		if (!ns_errno_ok(err)) {
			printf("# seed=%#llx ns iteration=%ld depth=%d: %s: %s\n",
			       (unsigned long long)seed, iter, depth, what, strerror(err));
			fflush(stdout);
			return 1;
		}
	}
	return 0;
}

static void phase_ns(void)
{
	uint64_t s = seed ^ 0x4e53ULL;
	bool ok = true;
	double t0 = now_s();
	long members = 0;

	for (long i = 0; i < ns_iterations && ok; i++) {
		int go[2], status;
		pid_t pid, peer;

		/* A peer whose namespaces the child may enter, itself in new ones. */
		peer = fork();
		if (peer == 0) {
			unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET);
			pause();
			_exit(0);
		}
		if (pipe2(go, O_CLOEXEC))
			break;
		uint64_t cs = rng_next(&s);

		pid = fork();
		if (pid == 0) {
			char c;

			close(go[1]);
			if (read(go[0], &c, 1) != 1)
				_exit(2);
			_exit(ns_sequence(cs, i, peer, 0));
		}
		close(go[0]);
		/* Half of them in a container, as an orchestrator would. */
		if (rng_below(&s, 2)) {
			int e = contid_set(pid, 0, 950000000ULL + rng_below(&s, 16));

			if (e) {
				diag("seed=%#llx ns iteration=%ld: registering child: %s",
				     (unsigned long long)seed, i, strerror(-e));
				ok = false;
			}
			members++;
		}
		if (write(go[1], "x", 1) != 1)
			ok = false;
		close(go[1]);
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			diag("seed=%#llx ns iteration=%ld: child failed (status %#x)",
			     (unsigned long long)seed, i, status);
			ok = false;
		}
		kill(peer, SIGKILL);
		waitpid(peer, NULL, 0);
	}
	diag("ns: %ld sequences (%ld in containers) in %.1f s", ns_iterations, members, now_s() - t0);
	ktap_result(ok, NULL, "ns_syscalls seed=%#llx", (unsigned long long)seed);
}

/*
 * Nesting: random operations of processes in a tree against a model of
 * containers, pools and processes (phase nest, see the top).
 */
#define SRV_SLOTS 40		/* server processes alive at once */
#define M_PROCS 8192
#define M_CONTS 16384
#define M_POOLS 16384
#define M_DEPTH 8		/* levels below the outermost container */
#define NEST_ID_BASE 980000000ULL

/* A server process: does what main asks, in its own name (no capability). */
enum { SV_SET = 1, SV_QUOTA, SV_READ, SV_FORK, SV_EXIT, SV_REAP, SV_GONE_SET, SV_GONE_QUOTA };
struct srv {
	sem_t go, done;
	int op, slot, ret;
	pid_t target;
	uint64_t val;
	char text[32];
};
static struct srv *srv;

/* A write to a process that was reaped after the file was opened. */
static int gone_write(bool quota, uint64_t val)
{
	char path[64], text[32];
	int fd, len, err = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(0);
	if (quota)
		quota_path(path, sizeof(path), pid, 0);
	else
		contid_path(path, sizeof(path), pid, 0);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	waitpid(pid, NULL, 0);
	if (fd < 0)
		return -EBADF;
	len = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)val);
	if (write(fd, text, len) != len)
		err = -errno;
	close(fd);
	return err;
}

static void __attribute__((noreturn)) server(int slot)
{
	struct srv *me = &srv[slot];
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	/* No capability: what a member does it does as a delegate, or not at all. */
	if (syscall(SYS_capset, &h, d))
		_exit(3);
	for (;;) {
		struct timespec ts;
		pid_t pid;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 300;	/* main is gone: do not linger */
		if (sem_timedwait(&me->go, &ts)) {
			if (errno == EINTR)
				continue;
			_exit(4);
		}
		switch (me->op) {
		case SV_SET:
			me->ret = contid_set(me->target, 0, me->val);
			break;
		case SV_QUOTA:
			me->ret = quota_set(me->target, 0, me->val);
			break;
		case SV_READ:
			me->ret = quota_get(me->target, 0, me->text, sizeof(me->text));
			break;
		case SV_FORK: {
			/* Main may ask this slot again before the child runs. */
			int child_slot = me->slot;

			pid = fork();
			if (pid == 0)
				server(child_slot);
			me->ret = pid < 0 ? -errno : pid;
			break;
		}
		case SV_EXIT:
			me->ret = 0;
			sem_post(&me->done);
			_exit(0);
		case SV_REAP:
			me->ret = waitpid(me->target, NULL, 0) == me->target ? 0 : -errno;
			break;
		case SV_GONE_SET:
		case SV_GONE_QUOTA:
			me->ret = gone_write(me->op == SV_GONE_QUOTA, me->val);
			break;
		default:
			me->ret = -ENOSYS;
		}
		sem_post(&me->done);
	}
}

/* Asks the server in @slot; -ETIMEDOUT when it does not answer. */
static int srv_call(int slot, int op, pid_t target, uint64_t val, int arg)
{
	struct srv *p = &srv[slot];
	struct timespec ts;

	p->op = op;
	p->target = target;
	p->val = val;
	p->slot = arg;
	p->ret = -ENOSYS;
	sem_post(&p->go);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	while (sem_timedwait(&p->done, &ts))
		if (errno != EINTR)
			return -ETIMEDOUT;
	return p->ret;
}

/* The model */
enum { P_ALIVE, P_ZOMBIE, P_GONE };
struct mproc {
	pid_t pid;
	int slot, parent;	/* parent: index, -1 main */
	int state, cont, pool;	/* -1: none */
};
struct mcont {
	uint64_t id;
	int parent, owner, depth;	/* owner: the pool that created it, -1 none */
	int members, subs, pools;	/* what keeps it alive: processes, sub-containers, pools */
	bool live;
};
struct mpool {
	int home, limit, used, carved_from;
	int holders, charges;		/* processes; sub-containers and carved pools */
	bool revoked, live;
};
static struct mproc *mp;
static struct mcont *mc;
static struct mpool *mpl;
static int nmp, nmc, nmpl, live_conts, max_depth;
static uint64_t next_id;

static int cont_lookup(uint64_t id)
{
	for (int c = nmc - 1; c >= 0; c--)
		if (mc[c].live && mc[c].id == id)
			return c;
	return -1;
}

static void pool_check(int p);

static void cont_check(int c)
{
	struct mcont *k = &mc[c];

	if (!k->live || k->members || k->subs || k->pools)
		return;
	k->live = false;
	live_conts--;
	if (k->parent >= 0) {
		mc[k->parent].subs--;
		cont_check(k->parent);
	}
	if (k->owner >= 0) {
		mpl[k->owner].used--;
		mpl[k->owner].charges--;
		pool_check(k->owner);
	}
}

static void pool_check(int p)
{
	struct mpool *k = &mpl[p];

	if (!k->live || k->holders || k->charges)
		return;
	k->live = false;
	if (k->carved_from >= 0) {
		mpl[k->carved_from].used -= k->limit;
		mpl[k->carved_from].charges--;
		pool_check(k->carved_from);
	}
	mc[k->home].pools--;
	cont_check(k->home);
}

static int cont_new(uint64_t id, int parent, int owner)
{
	int c = nmc++;

	mc[c] = (struct mcont){ .id = id, .parent = parent, .owner = owner, .live = true,
				.depth = parent >= 0 ? mc[parent].depth + 1 : 0 };
	if (mc[c].depth > max_depth)
		max_depth = mc[c].depth;
	live_conts++;
	if (parent >= 0)
		mc[parent].subs++;
	if (owner >= 0) {
		mpl[owner].used++;
		mpl[owner].charges++;
	}
	return c;
}

static int pool_new(int home, int limit, int carved_from)
{
	int p = nmpl++;

	mpl[p] = (struct mpool){ .home = home, .limit = limit, .carved_from = carved_from,
				 .live = true };
	mc[home].pools++;
	if (carved_from >= 0) {
		mpl[carved_from].used += limit;
		mpl[carved_from].charges++;
	}
	return p;
}

/* The model: a process leaves pool @pool and container @cont (-1: none). */
static void proc_leave(int pool, int cont)
{
	if (pool >= 0) {
		mpl[pool].holders--;
		pool_check(pool);
	}
	if (cont >= 0) {
		mc[cont].members--;
		cont_check(cont);
	}
}

/* Process @i joins container @c (created or found before): it leaves its container and pool. */
static void proc_set(int i, int c)
{
	int old = mp[i].cont, pool = mp[i].pool;

	if (old == c)
		return;
	mc[c].members++;
	mp[i].cont = c;
	mp[i].pool = -1;
	proc_leave(pool, old);
}

/* Gives process @i the pool @p (-1: none); the one it had is revoked. */
static void proc_pool(int i, int p)
{
	int old = mp[i].pool;

	mp[i].pool = p;
	if (p >= 0)
		mpl[p].holders++;
	if (old >= 0) {
		mpl[old].revoked = true;
		mpl[old].holders--;
		pool_check(old);
	}
}

static void proc_release(int i)
{
	int c = mp[i].cont, p = mp[i].pool;

	mp[i].state = P_GONE;
	mp[i].cont = mp[i].pool = -1;
	proc_leave(p, c);
}

static bool descends(int t, int w)
{
	for (int x = mp[t].parent; x >= 0; x = mp[x].parent)
		if (x == w)
			return true;
	return false;
}

static bool within(int c, int home)
{
	for (; c >= 0; c = mc[c].parent)
		if (c == home)
			return true;
	return false;
}

/* Targets that are not model processes. */
enum { TG_MAIN = -2, TG_INIT = -3, TG_KTHREAD = -4 };

static pid_t target_pid(int t)
{
	return t == TG_MAIN ? getpid() : t == TG_INIT ? 1 : t == TG_KTHREAD ? 2 : mp[t].pid;
}

/* The active pool of writer @w (-1 main): -1 none; -2: @w is not a member. */
static int active_pool(int w)
{
	if (w < 0 || mp[w].cont < 0)
		return -2;
	return mp[w].pool >= 0 && !mpl[mp[w].pool].revoked ? mp[w].pool : -1;
}

/* The checks of perm::may_set(): 0, or -EPERM; @actor: the pool of a delegate, -1 main. */
static int may_set(int w, int t, int *actor)
{
	int p = active_pool(w);

	*actor = -1;
	if (w >= 0) {
		/* A member acts as a delegate or not at all; a server in no container has no capability. */
		if (p < 0)
			return -EPERM;
		*actor = p;
	}
	if (t == TG_INIT || t == TG_KTHREAD || t == w || (t == TG_MAIN && w < 0))
		return -EPERM;
	if (w >= 0) {
		if (t < 0 || !descends(t, w) || mp[t].cont < 0)
			return -EPERM;
		if (mp[t].cont != mpl[p].home && mc[mp[t].cont].owner != p)
			return -EPERM;
	}
	return 0;
}

/* Writer @w (-1 main) writes @id to the audit_containerid of @t: what the contract answers. */
static int model_set(int w, int t, uint64_t id)
{
	int p, c, err = may_set(w, t, &p);

	if (err)
		return err;
	c = cont_lookup(id);
	if (p >= 0) {
		if (c >= 0 && mc[c].owner != p)
			return -EEXIST;
		if (c < 0 && mpl[p].used + 1 > mpl[p].limit)
			return -EDQUOT;
		if (c < 0 && mc[mpl[p].home].depth >= M_DEPTH)
			return -EMLINK;
	}
	if (mp[t].state != P_ALIVE)
		return -ESRCH;
	if (c < 0)
		c = p >= 0 ? cont_new(id, mpl[p].home, p) : cont_new(id, -1, -1);
	proc_set(t, c);
	return 0;
}

/* ... to the audit_containerid_quota of @t. */
static int model_quota(int w, int t, unsigned int n)
{
	int p, q = -1, err = may_set(w, t, &p);

	if (err)
		return err;
	if (mp[t].cont < 0)
		return -EINVAL;
	/* A delegate replaces or revokes only the grants it carved. */
	if (p >= 0 && mp[t].pool >= 0 && mpl[mp[t].pool].carved_from != p)
		return -EPERM;
	if (p >= 0 && n && mpl[p].used + (long)n > mpl[p].limit)
		return -EDQUOT;
	if (mp[t].state != P_ALIVE)
		return -ESRCH;
	if (n)
		q = pool_new(mp[t].cont, n, p);
	proc_pool(t, q);
	return 0;
}

/* ... reads the quota of @t: its text in @text, or -EPERM. */
static int model_read(int r, int t, char *text, size_t size)
{
	int p = active_pool(r), c = t >= 0 ? mp[t].cont : -1, tp = t >= 0 ? mp[t].pool : -1;

	if (r >= 0 && !(p >= 0 && c >= 0 && within(c, mpl[p].home)))
		return -EPERM;
	if (tp >= 0 && !mpl[tp].revoked)
		snprintf(text, size, "%d %d\n", mpl[tp].used, mpl[tp].limit);
	else
		snprintf(text, size, "0 0\n");
	return 0;
}

/* The kernel's count of container objects, or -1. */
static long debugfs_objects(void)
{
	FILE *f = fopen("/sys/kernel/debug/audit_container/objects", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static int wait_zombie(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (int i = 0; i < 20000; i++) {
		int fd = open(path, O_RDONLY), n;

		if (fd < 0)
			return -errno;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'Z')
			return 0;
		usleep(200);
	}
	return -ETIMEDOUT;
}

enum { NX_SPAWN, NX_EXIT, NX_REAP, NX_OUT_SET, NX_OUT_QUOTA, NX_SET, NX_QUOTA, NX_READ, NX_GONE, NX_N };
static const char *const nx_name[NX_N] = {
	"spawn", "exit", "reap", "outer-set", "outer-quota", "delegate-set", "delegate-quota",
	"read-quota", "gone-write",
};

static const char *who(int i, char *buf, size_t size)
{
	if (i == TG_MAIN || i == -1)
		return "main";
	if (i == TG_INIT)
		return "init";
	if (i == TG_KTHREAD)
		return "kthreadd";
	snprintf(buf, size, "p%d(pid %d, %s, contid %lld, pool %d%s)", i, mp[i].pid,
		 mp[i].state == P_ALIVE ? "alive" : mp[i].state == P_ZOMBIE ? "zombie" : "gone",
		 mp[i].cont >= 0 ? (long long)mc[mp[i].cont].id : -1LL, mp[i].pool,
		 mp[i].pool >= 0 && mpl[mp[i].pool].revoked ? " revoked" : "");
	return buf;
}

static int pick_proc(uint64_t *s, int state_mask, bool (*want)(int))
{
	int n = 0, k;

	for (int i = 0; i < nmp; i++)
		n += (state_mask >> mp[i].state & 1) && (!want || want(i));
	if (!n)
		return -1;
	k = rng_below(s, n);
	for (int i = 0; i < nmp; i++)
		if ((state_mask >> mp[i].state & 1) && (!want || want(i)) && k-- == 0)
			return i;
	return -1;
}

static bool is_delegate(int i)
{
	return active_pool(i) >= 0;
}

static int deepest;	/* for pick_deep() */
static bool in_deepest(int i)
{
	return mp[i].cont >= 0 && mc[mp[i].cont].depth == deepest;
}

/* A process in the deepest container, now and then: delegation down to M_DEPTH. */
static int pick_deep(uint64_t *s, int state_mask)
{
	deepest = -1;
	for (int i = 0; i < nmp; i++)
		if ((state_mask >> mp[i].state & 1) && mp[i].cont >= 0 && mc[mp[i].cont].depth > deepest)
			deepest = mc[mp[i].cont].depth;
	return deepest < 0 ? -1 : pick_proc(s, state_mask, in_deepest);
}

static int free_slot(void)
{
	for (int s = 0; s < SRV_SLOTS; s++) {
		bool used = false;

		for (int i = 0; i < nmp && !used; i++)
			used = mp[i].state != P_GONE && mp[i].slot == s;
		if (!used)
			return s;
	}
	return -1;
}

#define ALIVE (1 << P_ALIVE)
#define ANY (1 << P_ALIVE | 1 << P_ZOMBIE)

/* A value to write: a new ID, a sub-container of @p's, a live one, one that died. */
static uint64_t pick_id(uint64_t *s, int p)
{
	uint64_t r = rng_below(s, 100);
	int n = 0, k;

	if (r < 35 || !nmc)
		return NEST_ID_BASE + next_id++;
	if (r < 65 && p >= 0) {
		for (int c = 0; c < nmc; c++)
			n += mc[c].live && mc[c].owner == p;
		k = n ? rng_below(s, n) : -1;
		for (int c = 0; c < nmc && k >= 0; c++)
			if (mc[c].live && mc[c].owner == p && k-- == 0)
				return mc[c].id;
	}
	if (r < 90) {
		/* Any live one: the writer's home, a sibling pool's, a top-level one. */
		n = 0;
		for (int c = 0; c < nmc; c++)
			n += mc[c].live;
		k = n ? rng_below(s, n) : -1;
		for (int c = 0; c < nmc && k >= 0; c++)
			if (mc[c].live && k-- == 0)
				return mc[c].id;
	}
	return mc[rng_below(s, nmc)].id;	/* perhaps dead: then created again */
}

/* Filters for pick_proc(). */
static int cur_w;
static bool reach_desc(int i)
{
	int p = active_pool(cur_w);

	return p >= 0 && descends(i, cur_w) && mp[i].cont >= 0 &&
	       (mp[i].cont == mpl[p].home || mc[mp[i].cont].owner == p);
}

static bool any_desc(int i)
{
	return descends(i, cur_w);
}

static bool member(int i)
{
	return mp[i].cont >= 0;
}

/* A target for writer @w: mostly descendants within its reach. */
static int pick_target(uint64_t *s, int w)
{
	uint64_t r = rng_below(s, 100);
	int t = -1;

	if (r < 2)
		return TG_MAIN;
	if (r < 4)
		return TG_INIT;
	if (r < 6)
		return TG_KTHREAD;
	if (r < 9 && w >= 0)
		return w;
	cur_w = w;
	if (r < 65 && w >= 0)
		t = pick_proc(s, ANY, reach_desc);
	if (t < 0 && r < 85 && w >= 0)
		t = pick_proc(s, ANY, any_desc);
	if (t < 0)
		t = pick_proc(s, ANY, NULL);
	return t >= 0 ? t : TG_INIT;
}

static const char *errname(int e)
{
	static char buf[16];

	switch (-e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case EEXIST: return "EEXIST";
	case EDQUOT: return "EDQUOT";
	case ESRCH: return "ESRCH";
	case EMLINK: return "EMLINK";
	case EINVAL: return "EINVAL";
	}
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

enum { NE_OK, NE_EPERM, NE_EEXIST, NE_EDQUOT, NE_ESRCH, NE_EMLINK, NE_EINVAL, NE_OTHER, NE_N };
static const char *const ne_name[NE_N] = { "0", "EPERM", "EEXIST", "EDQUOT", "ESRCH", "EMLINK",
					   "EINVAL", "other" };
static long nest_counts[NX_N][NE_N];

/*
 * One operation, run and checked against the model (and the model against
 * the kernel's count of objects). @w: the writer (a model process, -1 main);
 * @t: the target; @id, @n: the value. Returns the model index of a process
 * that NX_SPAWN created in *@made. False (after printing it) on a mismatch.
 */
static bool nest_step(long i, int op, int w, int t, uint64_t id, unsigned int n, int *made,
		      long objects0)
{
	char desc[600], b1[160], b2[160], text[32] = "", mtext[32] = "";
	int got = 0, want = 0, slot;

	switch (op) {
	case NX_SPAWN: {
		int j = nmp;

		if ((slot = free_slot()) < 0)
			return true;
		sem_init(&srv[slot].go, 1, 0);
		sem_init(&srv[slot].done, 1, 0);
		snprintf(desc, sizeof(desc), "%s forks", who(w, b1, sizeof(b1)));
		if (w < 0) {
			pid_t pid = fork();

			if (pid == 0)
				server(slot);
			got = pid < 0 ? -errno : pid;
		} else {
			got = srv_call(mp[w].slot, SV_FORK, 0, 0, slot);
		}
		if (got < 0)
			break;
		mp[j] = (struct mproc){ .pid = got, .slot = slot, .parent = w,
					.cont = w >= 0 ? mp[w].cont : -1,
					.pool = w >= 0 ? mp[w].pool : -1 };
		if (mp[j].cont >= 0)
			mc[mp[j].cont].members++;
		if (mp[j].pool >= 0)
			mpl[mp[j].pool].holders++;
		nmp++;
		if (made)
			*made = j;
		got = 0;
		break;
	}
	case NX_EXIT:
		snprintf(desc, sizeof(desc), "%s exits", who(t, b1, sizeof(b1)));
		got = srv_call(mp[t].slot, SV_EXIT, 0, 0, 0);
		if (!got)
			got = wait_zombie(mp[t].pid);
		mp[t].state = P_ZOMBIE;
		/* Its children go to main, the subreaper. */
		for (int j = 0; j < nmp; j++)
			if (mp[j].parent == t && mp[j].state != P_GONE)
				mp[j].parent = -1;
		break;
	case NX_REAP:
		snprintf(desc, sizeof(desc), "%s reaps %s", who(mp[t].parent, b1, sizeof(b1)),
			 who(t, b2, sizeof(b2)));
		if (mp[t].parent < 0)
			got = waitpid(mp[t].pid, NULL, 0) == mp[t].pid ? 0 : -errno;
		else
			got = srv_call(mp[mp[t].parent].slot, SV_REAP, mp[t].pid, 0, 0);
		proc_release(t);
		break;
	case NX_OUT_SET:
	case NX_SET:
		snprintf(desc, sizeof(desc), "%s writes %llu to %s", who(w, b1, sizeof(b1)),
			 (unsigned long long)id, who(t, b2, sizeof(b2)));
		got = w < 0 ? contid_set(target_pid(t), 0, id) :
			      srv_call(mp[w].slot, SV_SET, target_pid(t), id, 0);
		want = model_set(w, t, id);
		break;
	case NX_OUT_QUOTA:
	case NX_QUOTA:
		snprintf(desc, sizeof(desc), "%s writes quota %u to %s", who(w, b1, sizeof(b1)), n,
			 who(t, b2, sizeof(b2)));
		got = w < 0 ? quota_set(target_pid(t), 0, n) :
			      srv_call(mp[w].slot, SV_QUOTA, target_pid(t), n, 0);
		want = model_quota(w, t, n);
		break;
	case NX_READ:
		snprintf(desc, sizeof(desc), "%s reads the quota of %s", who(w, b1, sizeof(b1)),
			 who(t, b2, sizeof(b2)));
		if (w < 0) {
			got = quota_get(target_pid(t), 0, text, sizeof(text));
		} else {
			got = srv_call(mp[w].slot, SV_READ, target_pid(t), 0, 0);
			snprintf(text, sizeof(text), "%s", srv[mp[w].slot].text);
		}
		want = model_read(w, t, mtext, sizeof(mtext));
		if (got > 0)
			got = 0;
		break;
	case NX_GONE:
		snprintf(desc, sizeof(desc), "%s writes %s to a reaped process's %s file",
			 who(w, b1, sizeof(b1)), n ? "1" : "a new ID", n ? "quota" : "contid");
		if (w < 0)
			got = gone_write(n, n ? 1 : id);
		else
			got = srv_call(mp[w].slot, n ? SV_GONE_QUOTA : SV_GONE_SET, 0, n ? 1 : id, 0);
		/* The writer's rights first (a member without an active pool: EPERM), then ESRCH. */
		want = w >= 0 && active_pool(w) < 0 ? -EPERM : -ESRCH;
		break;
	}
	nest_counts[op][got == 0 ? NE_OK : got == -EPERM ? NE_EPERM : got == -EEXIST ? NE_EEXIST :
			got == -EDQUOT ? NE_EDQUOT : got == -ESRCH ? NE_ESRCH :
			got == -EMLINK ? NE_EMLINK : got == -EINVAL ? NE_EINVAL : NE_OTHER]++;
	if (w >= 0 && mp[w].pool >= 0) {
		struct mpool *p = &mpl[mp[w].pool];

		snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc),
			 "; the writer's pool (model, after): %d/%d in %llu%s", p->used, p->limit,
			 (unsigned long long)mc[p->home].id, p->revoked ? ", revoked" : "");
	}
	if (got != want) {
		diag("seed=%#llx nest op=%ld: %s: got %s want %s", (unsigned long long)seed, i, desc,
		     errname(got), errname(want));
		return false;
	}
	if (op == NX_READ && !got && strcmp(text, mtext)) {
		text[strcspn(text, "\n")] = 0;
		mtext[strcspn(mtext, "\n")] = 0;
		diag("seed=%#llx nest op=%ld: %s: \"%s\", want \"%s\"", (unsigned long long)seed, i,
		     desc, text, mtext);
		return false;
	}
	/* The kernel counts the same container objects as the model, after every step. */
	if (objects0 >= 0 && debugfs_objects() != objects0 + live_conts) {
		diag("seed=%#llx nest op=%ld: %s: %ld container objects, the model has %d",
		     (unsigned long long)seed, i, desc, debugfs_objects() - objects0, live_conts);
		return false;
	}
	return true;
}

static bool in_deepest_delegate(int i)
{
	return in_deepest(i) && is_delegate(i);
}

static void phase_nest(void)
{
	uint64_t s = seed ^ 0x4e455354ULL;
	long objects0, maxlive = 0;
	double t0 = now_s();
	bool ok = true;
	long i;

	if (access("/proc/self/audit_containerid_quota", F_OK)) {
		ktap_result(true, "SKIP no /proc/PID/audit_containerid_quota", "nest_model");
		return;
	}
	srv = mmap(NULL, SRV_SLOTS * sizeof(*srv), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	mp = calloc(M_PROCS, sizeof(*mp));
	mc = calloc(M_CONTS, sizeof(*mc));
	mpl = calloc(M_POOLS, sizeof(*mpl));
	if (srv == MAP_FAILED || !mp || !mc || !mpl) {
		ktap_result(false, NULL, "nest_model setup: no memory");
		return;
	}
	nmp = nmc = nmpl = live_conts = max_depth = 0;
	next_id = 0;
	memset(nest_counts, 0, sizeof(nest_counts));
	/* Orphans come to main, which reaps them as the model says. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* Containers of the earlier phases may still die (namespaces ending late): wait for them. */
	for (int tries = 0; tries < 100 && (objects0 = debugfs_objects()) > 0; tries++)
		usleep(100000);
	if (objects0 > 0)
		diag("nest: %ld container objects of earlier phases still alive", objects0);
	for (i = 0; i < nest_iterations && ok; i++) {
		uint64_t r = rng_below(&s, 100);
		int w = -1, t = -1, made = -1;
		unsigned int n = 0;

		if (nmp >= M_PROCS - 4 || nmc >= M_CONTS - 4 || nmpl >= M_POOLS - 4)
			break;
		if (r < 10) {
			/* From main, a delegate, the deepest container, anyone. */
			uint64_t q = rng_below(&s, 100);

			w = q < 15 ? -1 : q < 45 ? pick_proc(&s, ALIVE, is_delegate) :
			    q < 65 ? pick_deep(&s, ALIVE) : pick_proc(&s, ALIVE, NULL);
			ok = nest_step(i, NX_SPAWN, w, -1, 0, 0, NULL, objects0);
		} else if (r < 14) {
			if ((t = pick_proc(&s, ALIVE, NULL)) >= 0)
				ok = nest_step(i, NX_EXIT, -1, t, 0, 0, NULL, objects0);
		} else if (r < 19) {
			if ((t = pick_proc(&s, 1 << P_ZOMBIE, NULL)) >= 0)
				ok = nest_step(i, NX_REAP, -1, t, 0, 0, NULL, objects0);
		} else if (r < 28) {
			uint64_t q = rng_below(&s, 100);

			t = q < 10 ? (int)(TG_MAIN - rng_below(&s, 3)) :
			    q < 30 ? pick_deep(&s, ANY) : pick_proc(&s, ANY, NULL);
			if (t != -1)
				ok = nest_step(i, NX_OUT_SET, -1, t, pick_id(&s, -1), 0, NULL, objects0);
		} else if (r < 36) {
			uint64_t q = rng_below(&s, 100);

			t = q < 8 ? (int)(TG_MAIN - rng_below(&s, 3)) : q < 45 ? pick_deep(&s, ANY) :
			    q < 90 ? pick_proc(&s, ANY, member) : pick_proc(&s, ANY, NULL);
			n = rng_below(&s, 6) == 0 ? 0 : rng_below(&s, 12) == 0 ? rng_below(&s, 65537) :
			    1 + rng_below(&s, 4);
			if (t != -1)
				ok = nest_step(i, NX_OUT_QUOTA, -1, t, 0, n, NULL, objects0);
		} else if (r < 73) {
			bool quota = r >= 64;

			w = rng_below(&s, 6) ? pick_proc(&s, ALIVE, is_delegate) : -1;
			if (w < 0 && (w = pick_proc(&s, ALIVE, NULL)) < 0)
				continue;
			t = pick_target(&s, w);
			/* A delegate's fresh child, now and then: in its home, sharing its pool. */
			if (is_delegate(w) && rng_below(&s, 4) == 0) {
				ok = nest_step(i, NX_SPAWN, w, -1, 0, 0, &made, objects0);
				if (!ok || made < 0)
					continue;
				t = made;
			}
			if (quota)
				ok = nest_step(i, NX_QUOTA, w, t, 0,
					       rng_below(&s, 5) == 0 ? 0 : 1 + rng_below(&s, 3), NULL, objects0);
			else
				ok = nest_step(i, NX_SET, w, t, pick_id(&s, active_pool(w)), 0, NULL,
					       objects0);
		} else if (r < 88) {
			w = rng_below(&s, 3) == 0 ? -1 : pick_proc(&s, ALIVE, NULL);
			t = rng_below(&s, 10) == 0 ? (int)(TG_MAIN - rng_below(&s, 3)) :
			    pick_proc(&s, ANY, NULL);
			if (t != -1)
				ok = nest_step(i, NX_READ, w, t, 0, 0, NULL, objects0);
		} else if (r < 92) {
			w = rng_below(&s, 4) == 0 ? -1 : pick_proc(&s, ALIVE, NULL);
			n = rng_below(&s, 2);
			ok = nest_step(i, NX_GONE, w, -1, NEST_ID_BASE + next_id++, n, NULL, objects0);
		} else {
			/*
			 * One level deeper: the deepest delegate forks a child, puts it
			 * into a new sub-container (which it leaves its pool for), and
			 * main, or the delegate out of its own quota, makes it a
			 * delegate there.
			 */
			if ((w = pick_deep(&s, ALIVE)) < 0 || !is_delegate(w))
				w = pick_proc(&s, ALIVE, in_deepest_delegate);
			if (w < 0)
				w = pick_proc(&s, ALIVE, is_delegate);
			if (w < 0)
				continue;
			ok = nest_step(i, NX_SPAWN, w, -1, 0, 0, &made, objects0);
			if (ok && made >= 0)
				ok = nest_step(i, NX_SET, w, made, NEST_ID_BASE + next_id++, 0, NULL, objects0);
			if (ok && made >= 0) {
				unsigned int q = 1 + rng_below(&s, 2);
				int p = active_pool(w);

				/* Carved when it fits (EDQUOT has its own cases), else from outside. */
				if (rng_below(&s, 2) && p >= 0 && mpl[p].used + (int)q <= mpl[p].limit)
					ok = nest_step(i, NX_QUOTA, w, made, 0, q, NULL, objects0);
				else
					ok = nest_step(i, NX_OUT_QUOTA, -1, made, 0, 1 + rng_below(&s, 3), NULL,
						       objects0);
			}
		}
		if (live_conts > maxlive)
			maxlive = live_conts;
	}
	/* The end: every process dies; the model's containers with them. */
	for (int j = 0; j < nmp; j++)
		if (mp[j].state != P_GONE)
			kill(mp[j].pid, SIGKILL);
	for (int tries = 0; tries < 5000; tries++) {
		int left = 0;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		for (int j = 0; j < nmp; j++)
			if (mp[j].state != P_GONE) {
				char path[32];

				snprintf(path, sizeof(path), "/proc/%d", mp[j].pid);
				if (access(path, F_OK))
					proc_release(j);
				else
					left++;
			}
		if (!left)
			break;
		usleep(1000);
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	if (live_conts) {
		diag("seed=%#llx nest: the model keeps %d containers after every process died",
		     (unsigned long long)seed, live_conts);
		ok = false;
	}
	if (objects0 >= 0 && debugfs_objects() != objects0) {
		diag("seed=%#llx nest: %ld container objects left", (unsigned long long)seed,
		     debugfs_objects() - objects0);
		ok = false;
	}
	for (int op = 0; op < NX_N; op++) {
		char line[256];
		int o = 0;

		for (int e = 0; e < NE_N; e++)
			if (nest_counts[op][e])
				o += snprintf(line + o, sizeof(line) - o, " %s=%ld", ne_name[e],
					      nest_counts[op][e]);
		diag("nest %s:%s", nx_name[op], o ? line : " none");
	}
	diag("nest: %ld operations in %.1f s: %d processes, %d containers (%ld alive at most, depth %d reached), %d pools; debugfs %s",
	     i, now_s() - t0, nmp, nmc, maxlive, max_depth, nmpl,
	     objects0 >= 0 ? "compared after each step" : "not available");
	ktap_result(ok && i >= nest_iterations, NULL, "nest_model seed=%#llx", (unsigned long long)seed);
	munmap(srv, SRV_SLOTS * sizeof(*srv));
	free(mp);
	free(mc);
	free(mpl);
}

/* The audit daemon for the run: takes the records so the console stays quiet. */
static pid_t drainer;

static int start_drainer(void)
{
	int ready[2];
	char c = 0;

	if (pipe(ready))
		return -errno;
	drainer = fork();
	if (drainer == 0) {
		struct audit_status st = { .mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID |
						   AUDIT_STATUS_BACKLOG_LIMIT,
					   .enabled = 1, .pid = getpid(), .backlog_limit = 65536 };
		static struct ac_msg msg;
		int fd = ac_open(2000);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		c = fd >= 0 && ac_set(fd, &st) == 0;
		if (write(ready[1], &c, 1) != 1 || !c)
			_exit(1);
		for (;;)
			ac_recv(fd, &msg, 0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1 || !c)
		return -EEXIST;
	close(ready[0]);
	return 0;
}

static void stop_drainer(int fd)
{
	struct audit_status st = { .mask = AUDIT_STATUS_PID, .pid = 0 };

	kill(drainer, SIGKILL);
	waitpid(drainer, NULL, 0);
	ac_set(fd, &st);
}

int main(int argc, char **argv)
{
	int fd;
	double t0 = now_s();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
			iterations = strtol(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--rules") && i + 1 < argc)
			rule_iterations = strtol(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--ns") && i + 1 < argc)
			ns_iterations = strtol(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--quota") && i + 1 < argc)
			quota_iterations = strtol(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--nest") && i + 1 < argc)
			nest_iterations = strtol(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: %s [--seed N] [--iterations N] [--rules N] [--ns N] [--threads N] [--quota N] [--nest N]\n",
				argv[0]);
			return 2;
		}
	}
	if (nthreads < 1)
		nthreads = 1;
	if (quota_iterations < 0)
		quota_iterations = iterations / 5;
	if (nest_iterations < 0)
		nest_iterations = iterations / 10;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..5\n");
	diag("contid_fuzz seed=%#llx iterations=%ld quota=%ld rules=%ld ns=%ld nest=%ld threads=%d",
	     (unsigned long long)seed, iterations, quota_iterations, rule_iterations, ns_iterations,
	     nest_iterations, nthreads);
	if (access("/proc/self/audit_containerid", F_OK)) {
		for (int i = 0; i < 5; i++)
			ktap_result(true, "SKIP no /proc/PID/audit_containerid", "phase %d", i + 1);
		return 4;
	}
	fd = ac_open(5000);
	if (fd < 0 || start_drainer()) {
		for (int i = 0; i < 5; i++)
			ktap_result(true, "SKIP cannot become the audit daemon (auditd running?)", "phase %d", i + 1);
		return 4;
	}
	phase_proc();
	if (access("/proc/self/audit_containerid_quota", F_OK))
		ktap_result(true, "SKIP no /proc/PID/audit_containerid_quota", "quota_writes");
	else
		phase_quota();
	phase_rules(fd);
	phase_ns();
	phase_nest();
	stop_drainer(fd);
	close(fd);
	diag("contid_fuzz seed=%#llx done in %.1f s: %d failed", (unsigned long long)seed,
	     now_s() - t0, ktap_failed);
	return ktap_failed ? 1 : 0;
}
