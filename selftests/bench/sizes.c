// SPDX-License-Identifier: GPL-2.0
/*
 * The sizes of the per-process and per-namespace structures, as the kernel's
 * own compiler and configuration see them. scripts/bench.sh compiles this
 * file to assembly with the flags of a built kernel/fork.o (the unpatched
 * base, the patched tree, and the patched tree with CONFIG_AUDIT_CONTAINER
 * off) and reads the "->SIZE name value" lines, as asm-offsets does.
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/nsproxy.h>
#include <linux/ns_common.h>
#include <linux/utsname.h>
#include <linux/ipc_namespace.h>
#include <linux/pid_namespace.h>
#include <linux/user_namespace.h>
#include <net/net_namespace.h>
#include "audit.h"	/* kernel/audit.h: struct audit_context */

#define SIZE(name, type) \
	asm volatile("\n.ascii \"->SIZE " #name " %c0\"" : : "i" (sizeof(type)))

void acbench_sizes(void);
void acbench_sizes(void)
{
	SIZE(task_struct, struct task_struct);
	SIZE(signal_struct, struct signal_struct);
	SIZE(audit_context, struct audit_context);
	SIZE(nsproxy, struct nsproxy);
	SIZE(ns_common, struct ns_common);
	SIZE(uts_namespace, struct uts_namespace);
	SIZE(ipc_namespace, struct ipc_namespace);
	SIZE(pid_namespace, struct pid_namespace);
	SIZE(user_namespace, struct user_namespace);
	SIZE(net, struct net);
}
