//! Checks on a window of records that several tests share: registrations,
//! execve events, user messages, and "nothing else".

use std::collections::BTreeSet;

use audit_contid::record::{
    contid_text, type_label, AUDIT_CONTAINER, AUDIT_CONTAINER_INFO, AUDIT_CWD, AUDIT_EXECVE,
    AUDIT_NS_DESTROY, AUDIT_PATH, AUDIT_SYSCALL, AUDIT_TRUSTED_APP,
};

use audit_contid::rule::{Op, Rule, ACTION_ALWAYS};
use netlink_packet_audit::constants::AUDIT_FILTER_EXIT;

use crate::harness::{check_syscall_event, fields_exact, raw, SyscallEvent, Window, R, T, V};

/// `write(2)`, `execve(2)`, `waitid(2)`, `clone3(2)` on x86_64.
pub const NR_WRITE: u32 = 1;
/// See [`NR_WRITE`].
pub const NR_EXECVE: u32 = 59;
/// See [`NR_WRITE`].
pub const NR_WAITID: u32 = 247;
/// See [`NR_WRITE`].
pub const NR_CLONE3: u32 = 435;
/// x86_64 `clone`.
pub const NR_CLONE: u32 = 56;
/// x86_64 `unshare`.
pub const NR_UNSHARE: u32 = 272;
/// x86_64 `setns`.
pub const NR_SETNS: u32 = 308;

/// Audits the system calls that create and join namespaces, as
/// audit-userspace's `41-containers.rules` does, for the processes whose
/// `field` (`AUDIT_PID`, `AUDIT_PPID`) is `value`. The namespace records
/// of a process in no container are auxiliary records of such an audited
/// system call (contract v2); without the rule they are not logged.
pub fn ns_rule(t: &mut T<'_>, field: u32, value: u32) -> R {
    let rule = Rule::new(AUDIT_FILTER_EXIT, ACTION_ALWAYS)
        .arch_b64()
        .syscall(NR_CLONE)
        .syscall(NR_CLONE3)
        .syscall(NR_UNSHARE)
        .syscall(NR_SETNS)
        .num(field, Op::Equal, value);
    t.add_rule(&rule)?;
    Ok(())
}

/// The record types of an execve event besides SYSCALL/PROCTITLE/EOE.
pub const EXEC_AUX: [u16; 3] = [AUDIT_EXECVE, AUDIT_CWD, AUDIT_PATH];

/// Checks the event that a record of the orchestrator `pid` belongs to:
/// the event of its system call `nr` (`during`: the records logged in it).
/// The orchestrator was forked after audit was enabled, so it has an audit
/// context, and `audit_log_start()` cancels a dummy context: a record in
/// its system call always brings the SYSCALL record, rules or not.
fn check_orchestrator_event(
    t: &mut T<'_>,
    w: &Window,
    what: &str,
    during: &[usize],
    nr: u32,
    pid: i32,
    known: &mut BTreeSet<u64>,
) {
    let Some(serial) = during.first().and_then(|&i| w.recs[i].serial()) else {
        return;
    };
    known.insert(serial);
    // Reaping may also end the namespaces of the reaped process (its pid
    // namespace): their records are part of the same event.
    let mut during = during.to_vec();
    for i in w.group(serial) {
        if w.recs[i].rtype == AUDIT_NS_DESTROY && !during.contains(&i) {
            during.push(i);
        }
    }
    during.sort_unstable();
    check_reaper_event(
        t,
        w,
        serial,
        &SyscallEvent {
            what,
            nr,
            pid,
            exit: None,
            aux: &[],
            during: &during,
            info: None,
        },
    );
}

/// The labels of the records at `idx` whose type is not one of `allowed`.
fn other_types(w: &Window, idx: &[usize], allowed: &[u16]) -> Vec<String> {
    idx.iter()
        .filter(|&&i| !allowed.contains(&w.recs[i].rtype))
        .map(|&i| type_label(w.recs[i].rtype))
        .collect()
}

/// Checks the event `serial` of an `op=destroy` that reaping a member
/// caused: the syscall event `e` of the reaper, or, when a namespace held
/// the container's last reference, an event of its own (the kernel looks at
/// a namespace whose use ended after the syscall that ended it, and drops
/// the namespace's reference there), with only `AUDIT_CONTAINER` and
/// `AUDIT_NS_DESTROY` records.
pub fn check_reaper_event(t: &mut T<'_>, w: &Window, serial: u64, e: &SyscallEvent<'_>) {
    let g = w.group(serial);
    if g.iter().any(|&i| w.recs[i].rtype == AUDIT_SYSCALL) {
        check_syscall_event(t, w, serial, e);
        return;
    }
    let other = other_types(w, &g, &[AUDIT_CONTAINER, AUDIT_NS_DESTROY]);
    t.check(other.is_empty(), || {
        format!(
            "{}: event {serial} of its own has other records: {other:?}",
            e.what
        )
    });
}

/// Checks the records of registrations the orchestrator `me` made (one
/// per `(pid, contid)`, each container with one member that was reaped in
/// the window): one `op=set` with `res=1` in the event of the `write(2)`,
/// one `op=destroy` in the event of the `waitid(2)` that reaped it, and no
/// other `AUDIT_CONTAINER` record.
pub fn check_registrations(
    t: &mut T<'_>,
    w: &Window,
    me: i32,
    regs: &[(i32, u64)],
    known: &mut BTreeSet<u64>,
) {
    for &(pid, contid) in regs {
        let sets = w.find(|r| {
            r.rtype == AUDIT_CONTAINER
                && r.get("op") == Some("set")
                && r.get_i64("opid") == Some(i64::from(pid))
        });
        if t.check(sets.len() == 1, || {
            format!("{} op=set records for pid {pid}, want 1", sets.len())
        }) {
            let r = &w.recs[sets[0]];
            t.eq(
                &format!("op=set of {pid}: contid"),
                r.get_u64("contid"),
                Some(contid),
            );
            t.eq(
                &format!("op=set of {pid}: old-contid"),
                r.get("old-contid"),
                Some("-1"),
            );
            t.eq(
                &format!("op=set of {pid}: pid"),
                r.get_i64("pid"),
                Some(i64::from(me)),
            );
            t.eq(&format!("op=set of {pid}: res"), r.get("res"), Some("1"));
            check_orchestrator_event(
                t,
                w,
                &format!("registration of {pid}"),
                &sets,
                NR_WRITE,
                me,
                known,
            );
        }
        let gone = w.find(|r| {
            r.rtype == AUDIT_CONTAINER
                && r.get("op") == Some("destroy")
                && r.get_u64("contid") == Some(contid)
        });
        if t.check(gone.len() == 1, || {
            format!("{} op=destroy records for {contid}, want 1", gone.len())
        }) {
            for e in fields_exact(
                &w.recs[gone[0]],
                &[("op", raw("destroy")), ("contid", raw(contid))],
                &[],
            ) {
                t.fail(e);
            }
            let sets_before = sets.first().is_none_or(|&s| s < gone[0]);
            t.check(sets_before, || {
                format!("op=destroy of {contid} before its op=set")
            });
            check_orchestrator_event(
                t,
                w,
                &format!("reaping the member of {contid}"),
                &gone,
                NR_WAITID,
                me,
                known,
            );
        }
    }
    let all = w.of_type(AUDIT_CONTAINER).len();
    t.check(all == 2 * regs.len(), || {
        format!(
            "{all} AUDIT_CONTAINER records, want {} (op=set and op=destroy of {} containers)",
            2 * regs.len(),
            regs.len()
        )
    });
}

/// Checks which of the processes `(pid, contid, selected)` have an execve
/// event: a selected one exactly one, complete, with the container record
/// of its contid (none when in no container); the others no SYSCALL
/// record at all.
pub fn check_execs(
    t: &mut T<'_>,
    w: &Window,
    procs: &[(i32, Option<u64>, bool)],
    known: &mut BTreeSet<u64>,
) {
    for &(pid, contid, selected) in procs {
        let label = match contid {
            Some(c) => format!("member {pid} of {c}"),
            None => format!("process {pid} in no container"),
        };
        let execs = w.syscalls(NR_EXECVE, pid);
        let any = w.find(|r| r.rtype == AUDIT_SYSCALL && r.get_i64("pid") == Some(i64::from(pid)));
        if !selected {
            t.check(any.is_empty(), || {
                format!(
                    "{label}: {} SYSCALL records, want none (not selected)",
                    any.len()
                )
            });
            continue;
        }
        t.check(any.len() == execs.len(), || {
            format!("{label}: SYSCALL records of other calls than execve")
        });
        if !t.check(execs.len() == 1, || {
            format!("{label}: {} execve events, want 1 (selected)", execs.len())
        }) {
            continue;
        }
        let Some(serial) = w.recs[execs[0]].serial() else {
            continue;
        };
        known.insert(serial);
        check_syscall_event(
            t,
            w,
            serial,
            &SyscallEvent {
                what: &format!("execve of {label}"),
                nr: NR_EXECVE,
                pid,
                exit: Some(0),
                aux: &EXEC_AUX,
                during: &[],
                info: contid,
            },
        );
    }
}

/// Checks the user messages `(text, sender pid, sender's contid, arrives)`:
/// one that arrives is one event, the message then the container record
/// of its sender (none for a sender in no container); one that must not
/// arrive is absent.
pub fn check_user_messages(
    t: &mut T<'_>,
    w: &Window,
    msgs: &[(&str, i32, Option<u64>, bool)],
    known: &mut BTreeSet<u64>,
) {
    for &(text, pid, contid, arrives) in msgs {
        let hits = w.user_messages(text);
        if !arrives {
            t.check(hits.is_empty(), || {
                format!("user message {text:?} of {pid} arrived, but must be dropped")
            });
            continue;
        }
        if !t.check(hits.len() == 1, || {
            format!("{} user messages {text:?}, want 1", hits.len())
        }) {
            continue;
        }
        let r = &w.recs[hits[0]];
        t.eq(&format!("type of {text:?}"), r.rtype, AUDIT_TRUSTED_APP);
        t.eq(
            &format!("sender of {text:?}"),
            r.get_i64("pid"),
            Some(i64::from(pid)),
        );
        let Some(serial) = r.serial() else { continue };
        known.insert(serial);
        let g = w.group(serial);
        let want = usize::from(contid.is_some()) + 1;
        if t.check(g.len() == want && g[0] == hits[0], || {
            format!(
                "the event of user message {text:?} has {} records, want the message{}",
                g.len(),
                if contid.is_some() {
                    " and CONTAINER_INFO"
                } else {
                    ""
                }
            )
        }) {
            if let Some(c) = contid {
                let info = &w.recs[g[1]];
                t.eq(
                    &format!("record after {text:?}"),
                    info.rtype,
                    AUDIT_CONTAINER_INFO,
                );
                for e in fields_exact(info, &[("contid", raw(c))], &[]) {
                    t.fail(format!("{text:?}: {e}"));
                }
            }
        }
    }
}

/// Checks that the window holds no event besides those in `known`.
pub fn check_nothing_else(t: &mut T<'_>, w: &Window, known: &BTreeSet<u64>) {
    for serial in w.serials() {
        if known.contains(&serial) {
            continue;
        }
        let g = w.group(serial);
        let desc: Vec<String> = g
            .iter()
            .map(|&i| {
                let r = &w.recs[i];
                format!("[{i}] {}", type_label(r.rtype))
            })
            .collect();
        t.fail(format!("unexpected event {serial}: {}", desc.join(", ")));
    }
    let no_stamp = w.find(|r| r.stamp.is_none());
    t.check(no_stamp.is_empty(), || {
        format!("records without a stamp: {no_stamp:?}")
    });
}

/// Checks that no record of the window but `expected` names `contid`.
pub fn check_mentions(t: &mut T<'_>, w: &Window, contid: u64, expected: usize) {
    let text = contid_text(contid);
    let hits = w.find(|r| {
        r.fields
            .iter()
            .any(|f| f.key.contains("contid") && f.value.split(',').any(|v| v == text))
    });
    t.check(hits.len() == expected, || {
        format!(
            "{} records name contid {contid} ({hits:?}), want {expected}",
            hits.len()
        )
    });
}

/// Checks that the `NS_DESTROY` records at `idx` are events of their own
/// (the kernel logs them from the task that ended the last use, after its
/// syscall), or part of a syscall event of the orchestrator's `waitid()`.
/// An event of its own logged by the exit of a member of container `member`
/// carries that container's `CONTAINER_INFO`; one logged by the orchestrator
/// (whose `waitid()` reaped the last task of a pid namespace) carries none;
/// neither has anything else. Returns how many `CONTAINER_INFO` records
/// there were.
pub fn check_ns_destroy_events(
    t: &mut T<'_>,
    w: &Window,
    idx: &[usize],
    me: i32,
    member: u64,
    known: &mut BTreeSet<u64>,
) -> usize {
    let mut infos = 0;
    for &i in idx {
        let Some(serial) = w.recs[i].serial() else {
            continue;
        };
        if known.contains(&serial) {
            continue;
        }
        let g = w.group(serial);
        let sys: Vec<usize> = g
            .iter()
            .copied()
            .filter(|&j| w.recs[j].rtype == AUDIT_SYSCALL)
            .collect();
        if sys.is_empty() {
            known.insert(serial);
            let info: Vec<usize> = g
                .iter()
                .copied()
                .filter(|&j| w.recs[j].rtype == AUDIT_CONTAINER_INFO)
                .collect();
            let other = other_types(w, &g, &[AUDIT_NS_DESTROY, AUDIT_CONTAINER_INFO]);
            t.check(other.is_empty(), || {
                format!("NS_DESTROY event {serial} has other records: {other:?}")
            });
            if t.check(info.len() <= 1, || {
                format!(
                    "NS_DESTROY event {serial} has {} CONTAINER_INFO, want 1 (a member's exit) or 0",
                    info.len()
                )
            }) && info.len() == 1
            {
                infos += 1;
                for e in fields_exact(&w.recs[info[0]], &[("contid", raw(member))], &[]) {
                    t.fail(format!("CONTAINER_INFO of NS_DESTROY event {serial}: {e}"));
                }
            }
        } else {
            let during: Vec<usize> = g
                .iter()
                .copied()
                .filter(|&j| [AUDIT_NS_DESTROY, AUDIT_CONTAINER].contains(&w.recs[j].rtype))
                .collect();
            known.insert(serial);
            check_syscall_event(
                t,
                w,
                serial,
                &SyscallEvent {
                    what: "NS_DESTROY in a syscall event",
                    nr: NR_WAITID,
                    pid: me,
                    exit: None,
                    aux: &[],
                    during: &during,
                    info: None,
                },
            );
        }
    }
    infos
}

/// `V::Str` shorthand.
pub fn s(v: &str) -> V {
    V::Str(v.to_string())
}
