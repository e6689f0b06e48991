//! Scenario a: the life of one container, record by record.

use std::collections::BTreeSet;

use audit_contid::proc::{self, Namespaces, NS_TYPES};
use audit_contid::record::{
    AUDIT_CONTAINER, AUDIT_CONTAINER_INFO, AUDIT_EXECVE, AUDIT_NS_CHANGE, AUDIT_NS_CREATE,
    AUDIT_NS_DESTROY,
};
use audit_contid::rule::{Op, Rule, ACTION_ALWAYS};
use audit_contid::spawn::{ExitStatus, NsSet, Paused, Program};
use netlink_packet_audit::constants::{AUDIT_FILTER_EXIT, AUDIT_PID};

use crate::checks::{
    check_mentions, check_nothing_else, check_ns_destroy_events, check_reaper_event, ns_rule, s,
    EXEC_AUX, NR_CLONE3, NR_EXECVE, NR_WAITID, NR_WRITE,
};
use crate::harness::{
    check_syscall_event, fields_exact, raw, Stop, SyscallEvent, CHILD_TIMEOUT, R, T, V,
};

/// The namespace types of the lifecycle's child.
const TYPES: [&str; 6] = ["mnt", "uts", "ipc", "net", "pid", "cgroup"];

fn inode(ns: &Namespaces, ty: &str) -> u64 {
    ns.get(ty).unwrap_or(0)
}

/// The exit rule of the scenario: execve of container `n`. On a kernel
/// without the `AUDIT_CONTID` field the test fails, and goes on with the
/// rule less that field so that the records are still checked.
pub fn exec_rule(t: &mut T<'_>, n: u64) -> R {
    let rule = Rule::new(AUDIT_FILTER_EXIT, ACTION_ALWAYS)
        .arch_b64()
        .syscall(NR_EXECVE)
        .contid(Op::Equal, n);
    if let Err(e) = t.add_rule(&rule) {
        t.fail(format!("adding the rule {rule}: {e}"));
        let fallback = Rule::new(AUDIT_FILTER_EXIT, ACTION_ALWAYS)
            .arch_b64()
            .syscall(NR_EXECVE);
        t.add_rule(&fallback)?;
        t.fail("went on with the rule without contid=".to_string());
    }
    Ok(())
}

/// clone3() a paused child into new mnt, uts, ipc, net, pid and cgroup
/// namespaces, register it, let it execute /bin/true, reap it; then the
/// whole record stream.
pub fn lifecycle_clone3_exec(t: &mut T<'_>) -> R {
    let n = t.contid();
    exec_rule(t, n)?;
    let me = t.cx.me;
    // The clone3() by this process, in no container, is audited.
    ns_rule(t, AUDIT_PID, me as u32)?;
    let my_ns = proc::namespaces(None)?;
    let my_id = proc::identity(None)?;
    let program = Program::exec(&["/bin/true"])?;
    let flags = NsSet::parse(&TYPES.join(","))?;
    t.start()?;
    let mut child = Paused::spawn(flags, &program)?;
    let c = child.pid();
    let child_ns = proc::namespaces(Some(c))?;
    child
        .register(n)
        .map_err(|e| Stop::Error(format!("registering {c}: {}", audit_contid::errno_name(e))))?;
    let write_len = format!("{n}\n").len() as i64;
    child.release()?;
    let status = child.wait(Some(CHILD_TIMEOUT))?;
    t.eq("exit status of /bin/true", status, ExitStatus::Exited(0));
    let w = t.collect()?;
    let mut known = BTreeSet::new();

    for ty in TYPES {
        t.check(inode(&child_ns, ty) != inode(&my_ns, ty), || {
            format!("the child is not in a new {ty} namespace")
        });
    }

    // The clone: one NS_CREATE per type, in the event of clone3().
    let creates = w.of_type(AUDIT_NS_CREATE);
    t.eq("number of NS_CREATE records", creates.len(), TYPES.len());
    for ty in TYPES {
        let hits: Vec<usize> = creates
            .iter()
            .copied()
            .filter(|&i| w.recs[i].get("nstype") == Some(ty))
            .collect();
        if !t.check(hits.len() == 1, || {
            format!("{} NS_CREATE records of nstype={ty}, want 1", hits.len())
        }) {
            continue;
        }
        let want = [
            ("op", raw("clone")),
            ("nstype", raw(ty)),
            ("nsid", raw(inode(&child_ns, ty))),
            ("parent-nsid", raw(inode(&my_ns, ty))),
            ("pid", raw(me)),
            ("contid", raw(-1)),
        ];
        for e in fields_exact(&w.recs[hits[0]], &want, &[]) {
            t.fail(format!("NS_CREATE {ty}: {e}"));
        }
    }
    let create_serials: BTreeSet<Option<u64>> =
        creates.iter().map(|&i| w.recs[i].serial()).collect();
    t.eq("events of the NS_CREATE records", create_serials.len(), 1);
    if let Some(&Some(serial)) = create_serials.iter().next() {
        known.insert(serial);
        check_syscall_event(
            t,
            &w,
            serial,
            &SyscallEvent {
                what: "clone3",
                nr: NR_CLONE3,
                pid: me,
                exit: Some(i64::from(c)),
                // Auxiliary records of the audited clone3(), after its SYSCALL record.
                aux: &[AUDIT_NS_CREATE],
                during: &[],
                info: None,
            },
        );
    }

    // The registration: every field of op=set, in the write's event.
    let sets = w.find(|r| r.rtype == AUDIT_CONTAINER && r.get("op") == Some("set"));
    let mut set_at = None;
    if t.eq("number of op=set records", sets.len(), 1) {
        let mut want: Vec<(&str, V)> = vec![
            ("op", raw("set")),
            ("opid", raw(c)),
            ("contid", raw(n)),
            ("old-contid", raw(-1)),
            (
                "nsfs",
                raw(format!("{}:{}", child_ns.dev.0, child_ns.dev.1)),
            ),
        ];
        for (_, field, ty) in NS_TYPES {
            want.push((field, raw(inode(&child_ns, ty))));
        }
        want.extend([
            ("pid", raw(me)),
            ("uid", raw(0)),
            ("auid", raw(&my_id.auid)),
            ("ses", raw(&my_id.ses)),
            ("comm", s(&my_id.comm)),
            ("exe", s(&my_id.exe)),
            ("res", raw(1)),
        ]);
        for e in fields_exact(&w.recs[sets[0]], &want, &["subj"]) {
            t.fail(format!("op=set: {e}"));
        }
        set_at = Some(sets[0]);
        if let Some(serial) = w.recs[sets[0]].serial() {
            known.insert(serial);
            check_syscall_event(
                t,
                &w,
                serial,
                &SyscallEvent {
                    what: "the registration write()",
                    nr: NR_WRITE,
                    pid: me,
                    exit: Some(write_len),
                    aux: &[],
                    during: &sets,
                    info: None,
                },
            );
        }
    }

    // The workload's execve(), selected by contid=N, with its container.
    let execs = w.syscalls(NR_EXECVE, c);
    let mut exec_at = None;
    if t.eq("execve events of the child", execs.len(), 1) {
        exec_at = Some(execs[0]);
        if let Some(serial) = w.recs[execs[0]].serial() {
            known.insert(serial);
            check_syscall_event(
                t,
                &w,
                serial,
                &SyscallEvent {
                    what: "execve of /bin/true",
                    nr: NR_EXECVE,
                    pid: c,
                    exit: Some(0),
                    aux: &EXEC_AUX,
                    during: &[],
                    info: Some(n),
                },
            );
            let ex: Vec<usize> = w
                .group(serial)
                .into_iter()
                .filter(|&i| w.recs[i].rtype == AUDIT_EXECVE)
                .collect();
            if t.eq("EXECVE records", ex.len(), 1) {
                let want = [("argc", raw(1)), ("a0", s("/bin/true"))];
                for e in fields_exact(&w.recs[ex[0]], &want, &[]) {
                    t.fail(e);
                }
            }
        }
    }

    // The end: each namespace once, attributed to N, then the container.
    let destroys = w.of_type(AUDIT_NS_DESTROY);
    t.eq("number of NS_DESTROY records", destroys.len(), TYPES.len());
    for ty in TYPES {
        let hits: Vec<usize> = destroys
            .iter()
            .copied()
            .filter(|&i| w.recs[i].get("nstype") == Some(ty))
            .collect();
        if !t.check(hits.len() == 1, || {
            format!("{} NS_DESTROY records of nstype={ty}, want 1", hits.len())
        }) {
            continue;
        }
        let want = [
            ("nstype", raw(ty)),
            ("nsid", raw(inode(&child_ns, ty))),
            ("contid", raw(n)),
        ];
        for e in fields_exact(&w.recs[hits[0]], &want, &[]) {
            t.fail(format!("NS_DESTROY {ty}: {e}"));
        }
    }
    let gone = w.find(|r| r.rtype == AUDIT_CONTAINER && r.get("op") == Some("destroy"));
    let mut gone_at = None;
    if t.eq("number of op=destroy records", gone.len(), 1) {
        gone_at = Some(gone[0]);
        for e in fields_exact(
            &w.recs[gone[0]],
            &[("op", raw("destroy")), ("contid", raw(n))],
            &[],
        ) {
            t.fail(format!("op=destroy: {e}"));
        }
        if let Some(serial) = w.recs[gone[0]].serial() {
            let g = w.group(serial);
            let during: Vec<usize> = g
                .iter()
                .copied()
                .filter(|&i| [AUDIT_CONTAINER, AUDIT_NS_DESTROY].contains(&w.recs[i].rtype))
                .collect();
            known.insert(serial);
            check_reaper_event(
                t,
                &w,
                serial,
                &SyscallEvent {
                    what: "the waitid() that reaped the last member",
                    nr: NR_WAITID,
                    pid: me,
                    exit: Some(0),
                    aux: &[],
                    during: &during,
                    info: None,
                },
            );
        }
    }
    // The namespaces the member's exit ends are events of their own, with
    // its CONTAINER_INFO; the pid namespace ends after the waitid() above,
    // in an event of the orchestrator's.
    let infos = check_ns_destroy_events(t, &w, &destroys, me, n, &mut known);

    // A legal order.
    let last_create = creates.iter().max().copied();
    if let (Some(lc), Some(set)) = (last_create, set_at) {
        t.check(lc < set, || {
            "op=set before an NS_CREATE of the clone".into()
        });
    }
    if let (Some(set), Some(exec)) = (set_at, exec_at) {
        t.check(set < exec, || "the execve event before op=set".into());
    }
    if let (Some(exec), Some(&first)) = (exec_at, destroys.iter().min()) {
        t.check(exec < first, || {
            "an NS_DESTROY before the execve event".into()
        });
    }
    if let (Some(&last), Some(gone)) = (destroys.iter().max(), gone_at) {
        t.check(last < gone, || {
            "op=destroy before the last NS_DESTROY".into()
        });
    }

    // Nothing else: no NS_CHANGE, no other container record, no other event.
    t.eq("NS_CHANGE records", w.of_type(AUDIT_NS_CHANGE).len(), 0);
    t.eq(
        "CONTAINER_INFO records",
        w.of_type(AUDIT_CONTAINER_INFO).len(),
        1 + infos,
    );
    check_mentions(t, &w, n, 1 + 1 + TYPES.len() + 1 + infos);
    check_nothing_else(t, &w, &known);
    Ok(())
}
