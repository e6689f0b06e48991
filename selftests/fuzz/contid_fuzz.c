// SPDX-License-Identifier: GPL-2.0
/*
 * contid_fuzz - seeded, reproducible fuzzer of the audit container ID
 * interfaces, for the test VM only (it registers processes, loads audit
 * rules and becomes the audit daemon for its run).
 *
 *   contid_fuzz [--seed N] [--iterations N] [--rules N] [--ns N] [--threads N]
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
 * 2. rules: random AUDIT_ADD_RULE / AUDIT_DEL_RULE messages with the
 *    AUDIT_CONTID field (lists, actions, ops, values[i], buffer lengths,
 *    truncated messages, other fields mixed in), each result checked against
 *    a model of the kernel's rule parser and of the rules loaded; every rule
 *    added is deleted at the end.
 * 3. ns: random sequences of unshare(), setns() and clone3() with CLONE_NEW*
 *    in children, some of them container members; errnos outside those the
 *    namespace syscalls document fail the run.
 *
 * Any unexpected result prints the seed, the phase, the iteration and the
 * input, and fails. Output is KTAP; exit 0 on success, 1 on failure.
 */
#include "../common/ac_common.h"
#include <dirent.h>
#include <stddef.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/sched.h>

#define MAX_WRITE 21
#define MAX_LEN 64

static uint64_t seed = 0xac0f022ULL;
static long iterations = 100000;
static long rule_iterations = 20000;
static long ns_iterations = 300;
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

enum target_kind { T_CHILD, T_CHILD_THREAD, T_SELF, T_INIT, T_KTHREAD, T_ZOMBIE, T_NKINDS };
static const char *const kind_name[] = { "child", "child-thread", "self", "init", "kthreadd", "zombie" };

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
		return -ESRCH;
	}
	return 0;
}

/* The targets */

static pid_t child_pid, child_tids[3], zombie_pid;
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
};

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
	switch (rng_below(s, 8)) {
	case 0:
	case 1:
		if (n < MAX_LEN)
			in->buf[n++] = '\n';
		break;
	case 2:
		if (n + 2 <= MAX_LEN) {
			in->buf[n++] = '\n';
			in->buf[n++] = '\n';
		}
		break;
	case 3:
		if (n < MAX_LEN)
			in->buf[n++] = rng_next(s);
		break;
	case 4:
		if (n)
			in->buf[rng_below(s, n)] = rng_next(s);
		break;
	}
	in->len = n;
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
	}
	r = rng_below(s, 20);
	in->how = r < 14 ? 0 : r < 17 ? 1 : r < 19 ? 2 : 3;
	(void)concurrent;
}

static void describe(const struct input *in, char *out, size_t size)
{
	size_t o = snprintf(out, size, "target=%s pid=%d tid=%d how=%d off=%lld len=%zu bytes=",
			    kind_name[in->kind], in->pid, in->tid, in->how, in->off, in->len);

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
		w1 = contract_expect(in->kind, in->buf, first, off, &v1);
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
		off = lseek(fd, 0, SEEK_CUR);
		wlen = in->len - first;
		want = contract_expect(in->kind, in->buf + first, wlen, off, &val);
		n = write(fd, in->buf + first, wlen);
		goto judge;
	}
	default: {
		/* The buffer runs into an unmapped page after @avail bytes. */
		size_t avail = rng_below(&(uint64_t){ run_seed ^ iter }, in->len + 1);
		unsigned char *p = fault_page + 4096 - avail;

		memcpy(p, in->buf, avail);
		n = pwrite(fd, p, in->len, off);
		want = contract_expect(in->kind, in->buf, in->len, off, &val);
		/* Length and offset are checked before the copy; then EFAULT. */
		if (avail < in->len && in->len <= MAX_WRITE && off == 0)
			want = -EFAULT;
		goto judge;
	}
	}
	want = contract_expect(in->kind, in->buf, in->len, off, &val);
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
	if (readback && ret == 0 && (in->kind == T_CHILD || in->kind == T_CHILD_THREAD)) {
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
	bool ok;
	struct wstats st;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t s = w->seed;
	struct input in;

	w->ok = true;
	for (long i = 0; i < w->iters; i++) {
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
	for (int t = 0; t < nthreads && ok; t++) {
		w[t].seed = seed ^ (0x1000193ULL * (t + 1));
		w[t].iters = conc / nthreads + (t < conc % nthreads);
		pthread_create(&w[t].thread, NULL, writer_main, &w[t]);
	}
	for (int t = 0; t < nthreads && ok; t++) {
		pthread_join(w[t].thread, NULL);
		if (!w[t].ok) {
			diag("writer thread %d (seed %#llx) failed", t, (unsigned long long)w[t].seed);
			ok = false;
		}
		add_stats(&st, &w[t].st);
	}
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
		else {
			fprintf(stderr, "usage: %s [--seed N] [--iterations N] [--rules N] [--ns N] [--threads N]\n",
				argv[0]);
			return 2;
		}
	}
	if (nthreads < 1)
		nthreads = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..3\n");
	diag("contid_fuzz seed=%#llx iterations=%ld rules=%ld ns=%ld threads=%d",
	     (unsigned long long)seed, iterations, rule_iterations, ns_iterations, nthreads);
	if (access("/proc/self/audit_containerid", F_OK)) {
		for (int i = 0; i < 3; i++)
			ktap_result(true, "SKIP no /proc/PID/audit_containerid", "phase %d", i + 1);
		return 4;
	}
	fd = ac_open(5000);
	if (fd < 0 || start_drainer()) {
		for (int i = 0; i < 3; i++)
			ktap_result(true, "SKIP cannot become the audit daemon (auditd running?)", "phase %d", i + 1);
		return 4;
	}
	phase_proc();
	phase_rules(fd);
	phase_ns();
	stop_drainer(fd);
	close(fd);
	diag("contid_fuzz seed=%#llx done in %.1f s: %d failed", (unsigned long long)seed,
	     now_s() - t0, ktap_failed);
	return ktap_failed ? 1 : 0;
}
