/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the project's in-guest C test programs (selftests/stress,
 * selftests/fuzz): a seeded generator, the proc file, the audit netlink
 * socket, KTAP output. Header-only; built against the test kernel's UAPI
 * headers (build/test/usr/include).
 */
#ifndef AC_COMMON_H
#define AC_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/netlink.h>

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
#ifndef AUDIT_CONTID
#define AUDIT_CONTID 27
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define AC_TEXT_MAX 8970

/* SplitMix64: small, seedable, good enough to drive a fuzzer. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* /proc/PID/@name, or /proc/PID/task/TID/@name. */
static inline void ac_proc_path(char *buf, size_t size, pid_t pid, pid_t tid, const char *name)
{
	if (tid)
		snprintf(buf, size, "/proc/%d/task/%d/%s", pid, tid, name);
	else
		snprintf(buf, size, "/proc/%d/%s", pid, name);
}

/* /proc/PID/audit_containerid, or /proc/PID/task/TID/audit_containerid. */
static inline void contid_path(char *buf, size_t size, pid_t pid, pid_t tid)
{
	ac_proc_path(buf, size, pid, tid, "audit_containerid");
}

/* /proc/PID/audit_containerid_quota, or its task/TID/ copy. */
static inline void quota_path(char *buf, size_t size, pid_t pid, pid_t tid)
{
	ac_proc_path(buf, size, pid, tid, "audit_containerid_quota");
}

/* Writes "@val\n" to @path in one write(); 0 or -errno. */
static inline int ac_write_u64(const char *path, uint64_t val)
{
	char text[32];
	int fd, n, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)val);
	if (write(fd, text, n) != n)
		err = -errno;
	close(fd);
	return err;
}

/* Writes "@contid\n" to the file of @pid; 0 or -errno. */
static inline int contid_set(pid_t pid, pid_t tid, uint64_t contid)
{
	char path[64];

	contid_path(path, sizeof(path), pid, tid);
	return ac_write_u64(path, contid);
}

/* Writes the quota @n to the file of @pid; 0 or -errno. */
static inline int quota_set(pid_t pid, pid_t tid, uint64_t n)
{
	char path[64];

	quota_path(path, sizeof(path), pid, tid);
	return ac_write_u64(path, n);
}

/* The text of the quota file of @pid in @buf (NUL-terminated): its length, or -errno. */
static inline int quota_get(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	quota_path(path, sizeof(path), pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

/* Reads the contid of @pid; UINT64_MAX on error too (check errno). */
static inline uint64_t contid_get(pid_t pid, pid_t tid)
{
	char path[64], text[32];
	ssize_t n;
	int fd;

	contid_path(path, sizeof(path), pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return UINT64_MAX;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return UINT64_MAX;
	text[n] = '\0';
	errno = 0;
	return strtoull(text, NULL, 10);
}

/* The audit netlink socket */

struct ac_msg {
	struct nlmsghdr hdr;
	union {
		struct audit_status status;
		struct audit_rule_data rule;
		struct nlmsgerr err;
		char data[AC_TEXT_MAX];
	};
};

/*
 * Sends @len bytes of @data as message @type. @nl_len, if not 0, is put in
 * nlmsg_len as it is (to send a header that claims less than the payload).
 */
static inline int ac_send(int fd, int type, const void *data, size_t len,
			  size_t nl_len)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	static struct ac_msg msg;
	size_t total = NLMSG_LENGTH(len);

	if (len > sizeof(msg.data))
		return -E2BIG;
	memset(&msg, 0, sizeof(msg.hdr) + len + 4);
	msg.hdr.nlmsg_len = nl_len ? nl_len : total;
	msg.hdr.nlmsg_type = type;
	msg.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	memcpy(msg.data, data, len);
	if (sendto(fd, &msg, total, 0, (struct sockaddr *)&addr,
		   sizeof(addr)) < 0)
		return -errno;
	return 0;
}

/* One message: its type, or -errno (-EAGAIN on timeout). */
static inline int ac_recv(int fd, struct ac_msg *msg, int flags)
{
	ssize_t n;

	do {
		n = recv(fd, msg, sizeof(*msg) - 1, flags);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	((char *)msg)[n] = '\0';
	return msg->hdr.nlmsg_type;
}

/*
 * Sends a request and returns the error of its acknowledgment (0 or
 * -errno). A reply of data (AUDIT_GET) is copied to @reply.
 */
static inline int ac_request(int fd, int type, const void *data, size_t len,
			     size_t nl_len, struct ac_msg *reply)
{
	static struct ac_msg msg;
	int ret;

	ret = ac_send(fd, type, data, len, nl_len);
	if (ret)
		return ret;
	for (;;) {
		ret = ac_recv(fd, &msg, 0);
		if (ret < 0)
			return ret;
		if (ret == type && reply)
			*reply = msg;
		if (ret == NLMSG_ERROR && msg.err.msg.nlmsg_type == type)
			return msg.err.error;
	}
}

/* A plain (not daemon) audit socket with a receive timeout of @ms. */
static inline int ac_open(int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static inline int ac_set(int fd, const struct audit_status *s)
{
	return ac_request(fd, AUDIT_SET, s, sizeof(*s), 0, NULL);
}

/* AUDIT_GET: the kernel's audit status; 0 or -errno. */
static inline int ac_get(int fd, struct audit_status *s)
{
	struct ac_msg reply;
	int ret;

	memset(&reply, 0, sizeof(reply));
	ret = ac_send(fd, AUDIT_GET, NULL, 0, 0);
	if (ret)
		return ret;
	for (;;) {
		ret = ac_recv(fd, &reply, 0);
		if (ret < 0)
			return ret;
		if (ret == AUDIT_GET) {
			memcpy(s, &reply.status, sizeof(*s));
			return 0;
		}
		if (ret == NLMSG_ERROR && reply.err.error)
			return reply.err.error;
	}
}

/* The value of "key=" in a record's text, as a u64; false if absent. */
static inline bool ac_field(const char *text, const char *key, uint64_t *val)
{
	size_t kl = strlen(key);

	for (const char *p = text; (p = strstr(p, key)); p += kl) {
		if (p != text && p[-1] != ' ' && p[-1] != ':')
			continue;
		if (p[kl] != '=')
			continue;
		if (p[kl + 1] == '-')
			*val = UINT64_MAX;
		else
			*val = strtoull(p + kl + 1, NULL, 10);
		return true;
	}
	return false;
}

/* KTAP */
static int ktap_n;
static int ktap_failed;

static inline void ktap_result(bool ok, const char *directive, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d ", ok ? "ok" : "not ok", ++ktap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (directive)
		printf(" # %s", directive);
	printf("\n");
	fflush(stdout);
	if (!ok)
		ktap_failed++;
}

#define diag(...) do { printf("# " __VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

#endif
