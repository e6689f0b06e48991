//! Scenario b: rules with the `AUDIT_CONTID` field.

use std::collections::BTreeSet;

use audit_contid::netlink::AUDIT_FEATURE_BITMAP_CONTID;
use audit_contid::rule::{
    Op, Rule, ACTION_ALWAYS, ACTION_NEVER, AUDIT_CONTID, AUDIT_FILTER_EXCLUDE,
    AUDIT_FILTER_URING_EXIT,
};
use audit_contid::spawn::{ExitStatus, NsSet, Program};
use audit_contid::{errno_name, Errno, Error};
use netlink_packet_audit::constants::{
    AUDIT_FILTER_EXIT, AUDIT_FILTER_FS, AUDIT_FILTER_TASK, AUDIT_FILTER_USER,
};

use crate::checks::{
    check_execs, check_mentions, check_nothing_else, check_registrations, check_user_messages,
    NR_EXECVE,
};
use crate::harness::{Stop, R, T};

fn exec_rule() -> Rule {
    Rule::new(AUDIT_FILTER_EXIT, ACTION_ALWAYS)
        .arch_b64()
        .syscall(NR_EXECVE)
}

/// Adds a rule that must be accepted; the error says what the kernel
/// answered.
fn must_add(t: &mut T<'_>, rule: &Rule) -> R {
    t.add_rule(rule)
        .map_err(|e| Stop::Error(format!("adding the rule {rule}: {e}")))
}

/// Expects the kernel to refuse `rule` with `errno`.
fn must_refuse(t: &mut T<'_>, rule: &Rule, errno: Errno) {
    match t.cx.ctl.add_rule(rule) {
        Err(e) if e.errno() == Some(errno) => {}
        Err(e) => t.fail(format!("adding {rule}: {e}, want {}", errno_name(errno))),
        Ok(()) => {
            t.fail(format!(
                "the kernel accepted {rule}, want {}",
                errno_name(errno)
            ));
            let _ = t.cx.ctl.del_rule(rule);
        }
    }
}

fn true_program() -> Result<Program, Stop> {
    Ok(Program::exec(&["/bin/true"])?)
}

/// Runs three processes that execute /bin/true: a member of `n`, a member
/// of `m` and one in no container, under `rule`; checks which are
/// selected.
fn exit_rule_selects(t: &mut T<'_>, op: Op, which: fn(u64, u64) -> u64, sel: [bool; 3]) -> R {
    let (n, m) = (t.contid(), t.contid());
    let rule = exec_rule().contid(op, which(n, m));
    must_add(t, &rule)?;
    let prog = true_program()?;
    t.start()?;
    let (a, sa) = t.run_child(NsSet(0), Some(n), &prog)?;
    let (b, sb) = t.run_child(NsSet(0), Some(m), &prog)?;
    let (c, sc) = t.run_child(NsSet(0), None, &prog)?;
    let w = t.collect()?;
    for (who, st) in [(a, sa), (b, sb), (c, sc)] {
        t.eq(&format!("exit status of {who}"), st, ExitStatus::Exited(0));
    }
    let me = t.cx.me;
    let mut known = BTreeSet::new();
    check_registrations(t, &w, me, &[(a, n), (b, m)], &mut known);
    check_execs(
        t,
        &w,
        &[
            (a, Some(n), sel[0]),
            (b, Some(m), sel[1]),
            (c, None, sel[2]),
        ],
        &mut known,
    );
    check_nothing_else(t, &w, &known);
    Ok(())
}

/// `contid=N` on the exit list selects the execve of N's member only.
pub fn exit_rule_equal_selects_member(t: &mut T<'_>) -> R {
    exit_rule_selects(t, Op::Equal, |n, _| n, [true, false, false])
}

/// `contid!=N` selects everyone else: M's member and a non-member.
pub fn exit_rule_not_equal_selects_others(t: &mut T<'_>) -> R {
    exit_rule_selects(t, Op::NotEqual, |n, _| n, [false, true, true])
}

/// `contid=-1` (`u64::MAX`) selects the processes in no container.
pub fn exit_rule_unset_selects_non_members(t: &mut T<'_>) -> R {
    exit_rule_selects(t, Op::Equal, |_, _| u64::MAX, [false, false, true])
}

/// Members of `n`, `m` and a non-member each execute the helper that sends
/// a user message; returns `[(pid, contid, text)]`.
fn senders(
    t: &mut T<'_>,
    n: u64,
    m: u64,
    tag: &str,
) -> Result<Vec<(i32, Option<u64>, String)>, Stop> {
    let mut out = Vec::new();
    for (who, contid) in [("n", Some(n)), ("m", Some(m)), ("none", None)] {
        let text = format!("contid-tests {tag} from {who} {}", t.cx.me);
        let prog = t.user_message_program(&text)?;
        let (pid, st) = t.run_child(NsSet(0), contid, &prog)?;
        t.eq(
            &format!("exit status of the sender {pid}"),
            st,
            ExitStatus::Exited(0),
        );
        out.push((pid, contid, text));
    }
    Ok(out)
}

/// Runs the three senders of `senders()` with `rule` (and the execve rule,
/// when `exec_rule` is true) loaded, and checks which of their execve events
/// (`execs`) and user messages (`msgs`) arrive, for N's member, M's and a
/// non-member's, and, with `mentions`, how many records name N.
fn senders_case(
    t: &mut T<'_>,
    tag: &str,
    rule: impl FnOnce(u64) -> Rule,
    exec_rule_too: bool,
    execs: [bool; 3],
    msgs: [bool; 3],
    mentions: Option<usize>,
) -> R {
    let (n, m) = (t.contid(), t.contid());
    if exec_rule_too {
        must_add(t, &exec_rule())?;
    }
    must_add(t, &rule(n))?;
    t.start()?;
    let s = senders(t, n, m, tag)?;
    let w = t.collect()?;
    let me = t.cx.me;
    let mut known = BTreeSet::new();
    check_registrations(t, &w, me, &[(s[0].0, n), (s[1].0, m)], &mut known);
    let exec_want: Vec<(i32, Option<u64>, bool)> =
        (0..3).map(|i| (s[i].0, s[i].1, execs[i])).collect();
    check_execs(t, &w, &exec_want, &mut known);
    let msg_want: Vec<(&str, i32, Option<u64>, bool)> = (0..3)
        .map(|i| (s[i].2.as_str(), s[i].0, s[i].1, msgs[i]))
        .collect();
    check_user_messages(t, &w, &msg_want, &mut known);
    if let Some(count) = mentions {
        check_mentions(t, &w, n, count);
    }
    check_nothing_else(t, &w, &known);
    Ok(())
}

/// `exclude,never contid=N` drops every record emitted in the context of
/// N's member (its execve event, its user message) while M's and a
/// non-member's arrive complete. Only the orchestrator's op=set and
/// op=destroy still name N.
pub fn exclude_rule_drops_member_records(t: &mut T<'_>) -> R {
    senders_case(
        t,
        "exclude",
        |n| Rule::new(AUDIT_FILTER_EXCLUDE, ACTION_NEVER).contid(Op::Equal, n),
        true,
        [false, true, true],
        [false, true, true],
        Some(2),
    )
}

/// Deleting the exclude rule brings N's records back; deleting it again
/// is `ENOENT`.
pub fn exclude_rule_delete_restores(t: &mut T<'_>) -> R {
    let n = t.contid();
    let exclude = Rule::new(AUDIT_FILTER_EXCLUDE, ACTION_NEVER).contid(Op::Equal, n);
    must_add(t, &exec_rule())?;
    must_add(t, &exclude)?;
    let me = t.cx.me;
    for (round, filtered) in [(1, true), (2, false)] {
        if !filtered {
            t.del_rule(&exclude)
                .map_err(|e| Stop::Error(format!("deleting {exclude}: {e}")))?;
        }
        let text = format!("contid-tests restore {round} {me}");
        let prog = t.user_message_program(&text)?;
        t.start()?;
        let (pid, st) = t.run_child(NsSet(0), Some(n), &prog)?;
        let w = t.collect()?;
        t.eq(&format!("exit status of {pid}"), st, ExitStatus::Exited(0));
        let mut known = BTreeSet::new();
        check_registrations(t, &w, me, &[(pid, n)], &mut known);
        check_execs(t, &w, &[(pid, Some(n), !filtered)], &mut known);
        check_user_messages(t, &w, &[(&text, pid, Some(n), !filtered)], &mut known);
        check_nothing_else(t, &w, &known);
    }
    match t.cx.ctl.del_rule(&exclude) {
        Err(e) if e.errno() == Some(Errno::ENOENT) => {}
        Err(e) => t.fail(format!("deleting {exclude} twice: {e}, want ENOENT")),
        Ok(()) => t.fail(format!("deleting {exclude} twice succeeded, want ENOENT")),
    }
    Ok(())
}

/// `user,never contid=N` drops the user messages that N's member sends;
/// M's member's and a non-member's arrive, each with its container.
pub fn user_rule_drops_member_messages(t: &mut T<'_>) -> R {
    senders_case(
        t,
        "user",
        |n| Rule::new(AUDIT_FILTER_USER, ACTION_NEVER).contid(Op::Equal, n),
        false,
        [false, false, false],
        [false, true, true],
        None,
    )
}

/// A rule for an ID that no process has is accepted, and matches once a
/// process is registered with it.
pub fn rule_for_unused_id_matches_later(t: &mut T<'_>) -> R {
    let k = t.contid();
    let mut in_use = Vec::new();
    let dir = std::fs::read_dir("/proc").map_err(|e| Error::io("/proc", &e))?;
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if audit_contid::proc::get_contid(pid).ok() == Some(k) {
            in_use.push(pid);
        }
    }
    t.check(in_use.is_empty(), || {
        format!("contid {k} already used by {in_use:?}")
    });
    must_add(t, &exec_rule().contid(Op::Equal, k))?;
    let prog = true_program()?;
    t.start()?;
    let (pid, st) = t.run_child(NsSet(0), Some(k), &prog)?;
    let w = t.collect()?;
    t.eq("exit status", st, ExitStatus::Exited(0));
    let me = t.cx.me;
    let mut known = BTreeSet::new();
    check_registrations(t, &w, me, &[(pid, k)], &mut known);
    check_execs(t, &w, &[(pid, Some(k), true)], &mut known);
    check_nothing_else(t, &w, &known);
    Ok(())
}

/// `AUDIT_LIST_RULES` gives back each contid rule as it was added: list,
/// action, syscalls, every field with its operator, the 8-byte value.
pub fn list_rules_roundtrip(t: &mut T<'_>) -> R {
    let (n, m) = (t.contid(), t.contid());
    let rules = [
        exec_rule().contid(Op::Equal, n).key("contid-tests-list"),
        Rule::new(AUDIT_FILTER_EXIT, ACTION_NEVER)
            .arch_b64()
            .syscall(NR_EXECVE)
            .contid(Op::NotEqual, m),
        Rule::new(AUDIT_FILTER_EXCLUDE, ACTION_NEVER).contid(Op::NotEqual, m),
        Rule::new(AUDIT_FILTER_USER, ACTION_NEVER)
            .key("contid-tests-user")
            .contid(Op::Equal, u64::MAX),
    ];
    for r in &rules {
        must_add(t, r)?;
    }
    let listed = t.cx.ctl.list_rules()?;
    for r in &rules {
        let hits: Vec<&Rule> = listed
            .iter()
            .filter(|l| l.list == r.list && l.fields == r.fields)
            .collect();
        if !t.check(hits.len() == 1, || {
            format!("{} listed rules equal to {r}, want 1", hits.len())
        }) {
            continue;
        }
        let l = hits[0];
        t.eq(&format!("action of {r}"), l.action, r.action);
        if r.list == AUDIT_FILTER_EXIT {
            t.eq(&format!("syscalls of {r}"), l.syscalls(), r.syscalls());
        }
        t.eq(&format!("contid of {r}"), l.contids(), r.contids());
    }
    let ours = listed
        .iter()
        .filter(|l| l.fields.iter().any(|f| f.field == AUDIT_CONTID))
        .count();
    t.eq("listed rules with a contid field", ours, rules.len());
    Ok(())
}

/// The status has `AUDIT_FEATURE_BITMAP_CONTID`; audit is on and the
/// suite's daemon is registered.
pub fn feature_bit_and_status(t: &mut T<'_>) -> R {
    let st = t.cx.ctl.get_status()?;
    t.check(st.feature_bitmap & AUDIT_FEATURE_BITMAP_CONTID != 0, || {
        format!(
            "feature_bitmap {:#x} lacks AUDIT_FEATURE_BITMAP_CONTID ({AUDIT_FEATURE_BITMAP_CONTID:#x})",
            st.feature_bitmap
        )
    });
    if let Some(pid) = t.cx.daemon_pid {
        t.eq("enabled", st.enabled, 1);
        t.eq("audit daemon pid", st.pid, pid);
    }
    Ok(())
}

/// Operators other than `=` and `!=` are `EINVAL`.
pub fn rule_other_ops_einval(t: &mut T<'_>) -> R {
    let n = t.contid();
    let others = Op::ALL
        .into_iter()
        .filter(|&op| op != Op::Equal && op != Op::NotEqual);
    for op in others.chain([Op::Raw(0)]) {
        must_refuse(t, &exec_rule().contid(op, n), Errno::EINVAL);
    }
    Ok(())
}

/// The field is `EINVAL` on the task, filesystem and io_uring lists (a
/// control rule without it shows the list itself is not the reason).
pub fn rule_other_lists_einval(t: &mut T<'_>) -> R {
    let n = t.contid();
    for list in [AUDIT_FILTER_TASK, AUDIT_FILTER_FS, AUDIT_FILTER_URING_EXIT] {
        let control = Rule::new(list, ACTION_ALWAYS).key("contid-tests-control");
        let control_ok = t.add_rule(&control).is_ok();
        if control_ok {
            let _ = t.del_rule(&control);
        }
        let rule = Rule::new(list, ACTION_ALWAYS).contid(Op::Equal, n);
        match t.cx.ctl.add_rule(&rule) {
            Err(e) if e.errno() == Some(Errno::EINVAL) => {}
            Err(e) => t.fail(format!("adding {rule}: {e}, want EINVAL")),
            Ok(()) => {
                t.fail(format!("the kernel accepted {rule}, want EINVAL"));
                let _ = t.cx.ctl.del_rule(&rule);
            }
        }
        if !control_ok {
            crate::note(&format!(
                "list {}: the control rule without contid was refused too",
                audit_contid::rule::list_name(list)
            ));
        }
    }
    Ok(())
}

/// A value of another length than 8 bytes is `EINVAL`.
pub fn rule_bad_length_einval(t: &mut T<'_>) -> R {
    for len in [0usize, 4, 7, 9, 16] {
        let rule = exec_rule().contid_bytes(Op::Equal, vec![1; len]);
        must_refuse(t, &rule, Errno::EINVAL);
    }
    Ok(())
}

/// Adding a rule on each of the three lists works, deleting it works,
/// deleting it again is `ENOENT`.
pub fn rule_delete_twice_enoent(t: &mut T<'_>) -> R {
    let k = t.contid();
    for list in [AUDIT_FILTER_USER, AUDIT_FILTER_EXIT, AUDIT_FILTER_EXCLUDE] {
        let rule = Rule::new(list, ACTION_NEVER)
            .contid(Op::NotEqual, k)
            .key("contid-tests-del");
        let rule = if list == AUDIT_FILTER_EXIT {
            rule.arch_b64().syscall(NR_EXECVE)
        } else {
            rule
        };
        must_add(t, &rule)?;
        if let Err(e) = t.del_rule(&rule) {
            t.fail(format!("deleting {rule}: {e}"));
            continue;
        }
        match t.cx.ctl.del_rule(&rule) {
            Err(e) if e.errno() == Some(Errno::ENOENT) => {}
            Err(e) => t.fail(format!("deleting {rule} twice: {e}, want ENOENT")),
            Ok(()) => t.fail(format!("deleting {rule} twice succeeded, want ENOENT")),
        }
    }
    Ok(())
}
