//! Scenario d: nesting. The suite (through the `contid` tool, or itself) is
//! the orchestrator outside; it grants a member a quota, and that delegate
//! runs the `contid` tool inside its container, without any capability, to
//! register containers nested in its own.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use audit_contid::proc::{self, Namespaces, Quota, MAX_DEPTH, NS_TYPES};
use audit_contid::record::{contid_text, Record, AUDIT_CONTAINER, AUDIT_CONTAINER_INFO};
use audit_contid::spawn::{ExitStatus, NsSet, Paused, Program};
use audit_contid::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::checks::{
    check_mentions, check_nothing_else, check_reaper_event, s, EXEC_AUX, NR_EXECVE, NR_WAITID,
    NR_WRITE,
};
use crate::harness::{
    check_syscall_event, check_syscall_event_chain, fields_exact, info_fields, raw, CmdOutput,
    Stop, SyscallEvent, Window, CHILD_TIMEOUT, R, T, V,
};
use crate::lifecycle::exec_rule;

/// `text` quoted for `sh`.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A directory of the test under `/tmp`, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str, id: u64) -> Result<Scratch, Stop> {
        let dir = PathBuf::from(format!("/tmp/contid-tests-{tag}-{id}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)
            .map_err(|e| Stop::Error(format!("creating {}: {e}", dir.display())))?;
        Ok(Scratch(dir))
    }

    /// The path of `name` in the directory, as text for scripts.
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Who wrote a `/proc` file, as the actor fields of a record show it.
struct Writer {
    pid: V,
    comm: String,
    exe: String,
    auid: String,
    ses: String,
}

impl Writer {
    /// The `contid` tool, started by the suite (or by a process the suite
    /// started): it inherits the suite's login uid and session.
    fn tool(t: &T<'_>, pid: V) -> Result<Writer, Stop> {
        let me = proc::identity(None)?;
        Ok(Writer {
            pid,
            comm: "contid".into(),
            exe: t.cx.tool.to_string_lossy().into_owned(),
            auid: me.auid,
            ses: me.ses,
        })
    }

    fn fields(&self, res: u8) -> Vec<(&'static str, V)> {
        vec![
            ("pid", self.pid.clone()),
            ("uid", raw(0)),
            ("auid", raw(&self.auid)),
            ("ses", raw(&self.ses)),
            ("comm", s(&self.comm)),
            ("exe", s(&self.exe)),
            ("res", raw(res)),
        ]
    }
}

/// Where an `op=set` or `op=move` puts its target: into `contid`, from `old`
/// (`u64::MAX` for none), nested in `parent` when it took effect.
struct Target {
    contid: u64,
    old: u64,
    parent: Option<u64>,
}

impl Target {
    /// Into `contid`, nested in `parent`, from `parent`.
    fn nested(contid: u64, parent: u64) -> Self {
        Self {
            contid,
            old: parent,
            parent: Some(parent),
        }
    }

    /// Into the top-level `contid`, from no container.
    fn top(contid: u64) -> Self {
        Self {
            contid,
            old: u64::MAX,
            parent: None,
        }
    }
}

/// The fields of an `op=set` or `op=move` of `opid` as `to` says, in the
/// namespaces `ns`, by `w`.
fn change_fields(
    op: &str,
    opid: V,
    to: Target,
    ns: &Namespaces,
    w: &Writer,
    res: u8,
) -> Vec<(&'static str, V)> {
    let Target {
        contid,
        old,
        parent,
    } = to;
    let mut want = vec![
        ("op", raw(op)),
        ("opid", opid),
        ("contid", raw(contid)),
        ("old-contid", raw(contid_text(old))),
    ];
    if let Some(p) = parent {
        want.push(("parent-contid", raw(p)));
    }
    want.push(("nsfs", raw(format!("{}:{}", ns.dev.0, ns.dev.1))));
    for (_, field, ty) in NS_TYPES {
        want.push((field, raw(ns.get(ty).unwrap_or(0))));
    }
    want.extend(w.fields(res));
    want
}

/// The fields of an `op=delegate` (`op=revoke` for 0) of `quota` to `opid`,
/// a member of `contid`, by `w`.
fn quota_fields(opid: V, contid: u64, quota: u32, w: &Writer, res: u8) -> Vec<(&'static str, V)> {
    let op = if quota == 0 { "revoke" } else { "delegate" };
    let mut want = vec![
        ("op", raw(op)),
        ("opid", opid),
        ("contid", raw(contid_text(contid))),
        ("quota", raw(quota)),
    ];
    want.extend(w.fields(res));
    want
}

/// The `AUDIT_CONTAINER` records `op=OP` (`op=set` or `op=move` for
/// `"change"`) that name `contid` in `contid=`.
fn ops(w: &Window, op: &str, contid: u64) -> Vec<usize> {
    w.find(|r| {
        r.rtype == AUDIT_CONTAINER
            && r.get_u64("contid") == Some(contid)
            && match op {
                "change" => matches!(r.get("op"), Some("set" | "move")),
                _ => r.get("op") == Some(op),
            }
    })
}

/// Expects exactly one record among `hits`, with the fields `want` (`subj`
/// may be there); returns its index.
fn one_record(
    t: &mut T<'_>,
    w: &Window,
    what: &str,
    hits: &[usize],
    want: &[(&str, V)],
) -> Option<usize> {
    if !t.check(hits.len() == 1, || {
        format!("{} records of {what}, want 1", hits.len())
    }) {
        return None;
    }
    for e in fields_exact(&w.recs[hits[0]], want, &["subj"]) {
        t.fail(format!("{what}: {e}"));
    }
    Some(hits[0])
}

/// The pid a record names in `key`.
fn pid_of(r: &Record, key: &str) -> Option<i32> {
    r.get_i64(key).and_then(|p| i32::try_from(p).ok())
}

fn check_exit(t: &mut T<'_>, what: &str, out: &CmdOutput, code: i32) -> bool {
    t.check(out.code == code, || {
        format!("{what}: exit {code} wanted, got {}", out.describe())
    })
}

/// A `write(2)` to a `/proc` file: by `pid`, of `len` bytes, with the
/// writer's container record (`info`, not nested).
struct ProcWrite {
    pid: i32,
    len: usize,
    info: Option<u64>,
}

/// Checks the record of `hits` that the write `by` caused: one record, its
/// fields, and the event of the write.
fn check_write(
    t: &mut T<'_>,
    w: &Window,
    what: &str,
    hits: &[usize],
    want: &[(&str, V)],
    by: &ProcWrite,
    known: &mut BTreeSet<u64>,
) -> Option<usize> {
    let i = one_record(t, w, what, hits, want)?;
    if let Some(serial) = w.recs[i].serial() {
        known.insert(serial);
        check_syscall_event(
            t,
            w,
            serial,
            &SyscallEvent {
                what,
                nr: NR_WRITE,
                pid: by.pid,
                exit: Some(by.len as i64),
                aux: &[],
                during: &[i],
                info: by.info,
            },
        );
    }
    Some(i)
}

/// Checks the `op=destroy` of `contid`: one record, in the event of the
/// `waitid(2)` of `reaper` (a member of `info`, or in no container) that
/// reaped its last member.
fn check_destroy(
    t: &mut T<'_>,
    w: &Window,
    contid: u64,
    reaper: i32,
    info: Option<u64>,
    known: &mut BTreeSet<u64>,
) -> Option<usize> {
    let what = format!("op=destroy of {contid}");
    let i = one_record(
        t,
        w,
        &what,
        &ops(w, "destroy", contid),
        &[("op", raw("destroy")), ("contid", raw(contid))],
    )?;
    if let Some(serial) = w.recs[i].serial() {
        known.insert(serial);
        let during: Vec<usize> = w
            .group(serial)
            .into_iter()
            .filter(|&j| w.recs[j].rtype == AUDIT_CONTAINER)
            .collect();
        check_reaper_event(
            t,
            w,
            serial,
            &SyscallEvent {
                what: &format!("the waitid() that reaped the last member of {contid}"),
                nr: NR_WAITID,
                pid: reaper,
                exit: None,
                aux: &[],
                during: &during,
                info,
            },
        );
    }
    Some(i)
}

/// Checks the execve events of `pid`, a member of the container `chain[0]`
/// nested in the others: `count` of them, each complete, with its
/// container record and the chain. Returns their indexes.
fn check_execs_chain(
    t: &mut T<'_>,
    w: &Window,
    pid: i32,
    chain: &[u64],
    count: usize,
    known: &mut BTreeSet<u64>,
) -> Vec<usize> {
    let execs = w.syscalls(NR_EXECVE, pid);
    let what = format!("execve of {pid} in {}", contid_text(chain[0]));
    t.check(execs.len() == count, || {
        format!("{what}: {} events, want {count}", execs.len())
    });
    for &i in &execs {
        let Some(serial) = w.recs[i].serial() else {
            continue;
        };
        known.insert(serial);
        check_syscall_event_chain(
            t,
            w,
            serial,
            &SyscallEvent {
                what: &what,
                nr: NR_EXECVE,
                pid,
                exit: Some(0),
                aux: &EXEC_AUX,
                during: &[],
                info: Some(chain[0]),
            },
            chain,
        );
    }
    execs
}

/// Checks that `a` comes before `b` in the window.
fn check_before(t: &mut T<'_>, a: Option<usize>, b: Option<usize>, what: &str) {
    if let (Some(a), Some(b)) = (a, b) {
        t.check(a < b, || format!("{what}: [{a}] is not before [{b}]"));
    }
}

/// Checks that the records found, in the order given, come in that order.
fn check_order(t: &mut T<'_>, seq: &[(Option<usize>, &str)]) {
    for pair in seq.windows(2) {
        let ((a, a_what), (b, b_what)) = (pair[0], pair[1]);
        check_before(t, a, b, &format!("{a_what} before {b_what}"));
    }
}

/// End to end: `contid run --id A --quota 3 -- contid run --id B -- sh -c
/// '...'`. The tool outside registers its child in A and grants it 3; that
/// child, the same tool run as a delegate inside A, registers its own
/// child in B, nested in A, whose shell executes a program that sends a
/// user message. Every record: op=set of A, op=delegate quota=3, op=move
/// into B with parent-contid=A (by the inner tool, in A), the execve
/// events of the inner tool (contid=A, no chain) and of the workload and
/// its message (contid=B contid-chain=B,A), op=destroy of B (reaped by the
/// inner tool) before op=destroy of A (reaped by the outer one), nothing
/// else.
pub fn nest_run_orchestrator(t: &mut T<'_>) -> R {
    let (a, b) = (t.contid(), t.contid());
    exec_rule(t, a)?;
    exec_rule(t, b)?;
    let tool = t.cx.tool.to_string_lossy().into_owned();
    let helper = t.cx.self_exe.to_string_lossy().into_owned();
    let text = format!("contid-tests nested workload {}", t.cx.me);
    let script = format!(
        "echo $$; exec {} --helper user-msg {}",
        sh_quote(&helper),
        sh_quote(&text)
    );
    let ns = proc::namespaces(None)?;
    let (a_s, b_s) = (a.to_string(), b.to_string());
    t.start()?;
    let out = t.tool(&[
        "run", "--id", &a_s, "--quota", "3", "--", &tool, "run", "--id", &b_s, "--", "/bin/sh",
        "-c", &script,
    ])?;
    let w = t.collect()?;
    check_exit(t, "contid run --quota 3 -- contid run", &out, 0);
    let outer = out.pid as i32;
    let workload: Option<i32> = out.stdout.trim().parse().ok();
    let mut known = BTreeSet::new();

    // The outside: op=set of A, then the grant, each in its write's event.
    let Some(d) = ops(&w, "set", a)
        .first()
        .and_then(|&i| pid_of(&w.recs[i], "opid"))
    else {
        t.fail(format!("no op=set record for {a}"));
        return Ok(());
    };
    let outer_w = Writer::tool(t, raw(outer))?;
    let set_a = check_write(
        t,
        &w,
        &format!("op=set of {a}"),
        &ops(&w, "set", a),
        &change_fields("set", raw(d), Target::top(a), &ns, &outer_w, 1),
        &ProcWrite {
            pid: outer,
            len: format!("{a}\n").len(),
            info: None,
        },
        &mut known,
    );
    let grant = check_write(
        t,
        &w,
        "op=delegate quota=3",
        &ops(&w, "delegate", a),
        &quota_fields(raw(d), a, 3, &outer_w, 1),
        &ProcWrite {
            pid: outer,
            len: "3\n".len(),
            info: None,
        },
        &mut known,
    );

    // The delegate: the inner tool executes in A (no chain), and moves its
    // child into B, nested in A, in its write's event, as a member of A.
    let inner_exec = check_execs_chain(t, &w, d, &[a], 1, &mut known);
    let Some(c) = ops(&w, "change", b)
        .first()
        .and_then(|&i| pid_of(&w.recs[i], "opid"))
    else {
        t.fail(format!("no op=move record for {b}"));
        return Ok(());
    };
    t.eq("the workload's pid (its echo $$)", workload, Some(c));
    let inner_w = Writer::tool(t, raw(d))?;
    let move_b = check_write(
        t,
        &w,
        &format!("op=move into {b}"),
        &ops(&w, "change", b),
        &change_fields("move", raw(c), Target::nested(b, a), &ns, &inner_w, 1),
        &ProcWrite {
            pid: d,
            len: format!("{b}\n").len(),
            info: Some(a),
        },
        &mut known,
    );

    // The workload: sh, then the program it executes, and its message, each
    // with contid=B contid-chain=B,A.
    let execs = check_execs_chain(t, &w, c, &[b, a], 2, &mut known);
    let msgs = w.user_messages(&text);
    let mut msg_at = None;
    if t.check(msgs.len() == 1, || {
        format!("{} user messages of the workload, want 1", msgs.len())
    }) {
        let r = &w.recs[msgs[0]];
        msg_at = Some(msgs[0]);
        t.eq("sender of the message", pid_of(r, "pid"), Some(c));
        if let Some(serial) = r.serial() {
            known.insert(serial);
            let g = w.group(serial);
            if t.check(g.len() == 2 && g[0] == msgs[0], || {
                format!(
                    "the event of the workload's message has {} records, want it and CONTAINER_INFO",
                    g.len()
                )
            }) {
                let info = &w.recs[g[1]];
                t.eq(
                    "record after the message",
                    info.rtype,
                    AUDIT_CONTAINER_INFO,
                );
                for e in fields_exact(info, &info_fields(b, &[b, a]), &[]) {
                    t.fail(format!("CONTAINER_INFO of the message: {e}"));
                }
                t.eq("its contid-chain", info.contid_chain(), Some(vec![b, a]));
            }
        }
    }

    // The end: B, reaped by the delegate, before A, reaped by the outside.
    let gone_b = check_destroy(t, &w, b, d, Some(a), &mut known);
    let gone_a = check_destroy(t, &w, a, outer, None, &mut known);
    check_order(
        t,
        &[
            (set_a, "op=set of A"),
            (grant, "the grant"),
            (inner_exec.first().copied(), "the inner tool's exec"),
            (move_b, "op=move into B"),
            (execs.first().copied(), "the workload's first exec"),
            (execs.last().copied(), "the workload's last exec"),
            (msg_at, "the workload's message"),
            (gone_b, "op=destroy of B"),
            (gone_a, "op=destroy of A"),
        ],
    );
    // A: op=set, op=delegate, op=move (old and parent), op=destroy, and the
    // CONTAINER_INFO of the inner tool's three events and the workload's
    // three; B: op=move, op=destroy and the workload's three.
    check_mentions(t, &w, a, 10);
    check_mentions(t, &w, b, 5);
    t.eq(
        "AUDIT_CONTAINER records",
        w.of_type(AUDIT_CONTAINER).len(),
        5,
    );
    check_nothing_else(t, &w, &known);
    Ok(())
}

/// One `== NAME` section of a script's output: its lines and `rc=N`.
#[derive(Debug, Default)]
struct Section {
    lines: Vec<String>,
    rc: Option<i32>,
}

/// Splits `== NAME` ... `rc=N` sections.
fn sections(text: &str) -> Vec<(String, Section)> {
    let mut out: Vec<(String, Section)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            out.push((name.to_string(), Section::default()));
        } else if let Some(sec) = out.last_mut().map(|(_, s)| s) {
            match line.strip_prefix("rc=").and_then(|rc| rc.parse().ok()) {
                Some(rc) if sec.rc.is_none() => sec.rc = Some(rc),
                _ => sec.lines.push(line.to_string()),
            }
        }
    }
    out
}

/// A shell function that prints `== NAME`, runs the rest of its
/// arguments, then `rc=STATUS`.
const TRY: &str = r#"try() { echo "== $1"; shift; "$@"; echo "rc=$?"; }"#;

/// The inner orchestrator's refusals, as the `contid` tool reports them.
/// The suite registers a paused child in A and grants it 1 with `contid
/// set` and `contid delegate` (the two-step form of `run --quota`); the
/// child, a shell, runs the tool: A itself and a foreign top-level ID are
/// `EEXIST`, a second sub-container while one lives is `EDQUOT`, a member
/// of a sub-container (not a delegate) is `EPERM`, each with exit status 1
/// and the errno on stderr; the quota reads `0 1`, `1 1` while the
/// sub-container lives, `0 1` after, and the same ID is usable again. The
/// records: the grant, the refusals with `res=0` and no parent, the moves
/// with `parent-contid=A`, every sub-container destroyed before A.
pub fn nest_inner_errors(t: &mut T<'_>) -> R {
    let (a, f) = (t.contid(), t.contid());
    let (b1, b2, b3, b4, b5) = (t.contid(), t.contid(), t.contid(), t.contid(), t.contid());
    // A live top-level container that is not the delegate's.
    let holder = Paused::spawn(NsSet(0), &Program::Exit(0))?;
    holder.register(f).map_err(|e| {
        Stop::Error(format!(
            "registering {} with {f}: {}",
            holder.pid(),
            audit_contid::errno_name(e)
        ))
    })?;
    let dir = Scratch::new("nest-errors", a)?;
    let log = dir.path("log");
    let tool = sh_quote(&t.cx.tool.to_string_lossy());
    let script = format!(
        "exec >{log} 2>&1
{TRY}
try own {tool} run --id {a} -- /bin/true
try foreign {tool} run --id {f} -- /bin/true
try before {tool} quota $$
{tool} run --id {b1} -- /bin/sh -c 'echo $$; exec sleep 30' | {{
	read pid
	try full {tool} run --id {b2} -- /bin/true
	try used {tool} quota $$
	kill $pid
}}
try member {tool} run --id {b3} -- {tool} run --id {b4} -- /bin/true
try again {tool} run --id {b5} -- /bin/true
try after {tool} quota $$
exit 0
"
    );
    let program = Program::exec(&["/bin/sh", "-c", &script])?;
    let ns = proc::namespaces(None)?;
    t.start()?;
    let mut d = Paused::spawn(NsSet(0), &program)?;
    let dpid = d.pid();
    let d_s = dpid.to_string();
    let set = t.tool(&["set", &d_s, &a.to_string()])?;
    let grant = t.tool(&["delegate", &d_s, "1"])?;
    let quota = t.tool(&["quota", &d_s])?;
    let ok = check_exit(t, "contid set D A", &set, 0)
        & check_exit(t, "contid delegate D 1", &grant, 0)
        & check_exit(t, "contid quota D", &quota, 0);
    t.eq("contid quota D before", quota.stdout.as_str(), "0 1\n");
    if !ok {
        return Ok(());
    }
    d.release()?;
    let status = d.wait(Some(CHILD_TIMEOUT))?;
    let w = t.collect()?;
    drop(holder);
    t.eq("exit status of the delegate", status, ExitStatus::Exited(0));
    let text = fs::read_to_string(&log).unwrap_or_default();
    let got = sections(&text);
    let want: [(&str, i32, &str); 8] = [
        ("own", 1, "EEXIST"),
        ("foreign", 1, "EEXIST"),
        ("before", 0, "0 1"),
        ("full", 1, "EDQUOT"),
        ("used", 0, "1 1"),
        ("member", 1, "EPERM"),
        ("again", 0, ""),
        ("after", 0, "0 1"),
    ];
    t.eq(
        "the steps of the delegate",
        got.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        want.iter().map(|(n, _, _)| *n).collect::<Vec<_>>(),
    );
    for (name, rc, word) in want {
        let Some((_, sec)) = got.iter().find(|(n, _)| n == name) else {
            continue;
        };
        t.check(sec.rc == Some(rc), || {
            format!("{name}: exit {:?}, want {rc}: {:?}", sec.rc, sec.lines)
        });
        if rc == 0 {
            let out: Vec<&str> = sec.lines.iter().map(String::as_str).collect();
            let want_out: Vec<&str> = if word.is_empty() { vec![] } else { vec![word] };
            t.eq(&format!("{name}: output"), out, want_out);
        } else {
            let errors: Vec<&String> = sec
                .lines
                .iter()
                .filter(|l| l.starts_with("contid: "))
                .collect();
            t.check(
                errors.len() == 1 && errors[0].contains(&format!("{word} (")),
                || format!("{name}: stderr {:?} does not name {word}", sec.lines),
            );
        }
    }

    // The records.
    let mut known = BTreeSet::new();
    // `contid set` and `contid delegate` write the value as given.
    let outer_set = Writer::tool(t, raw(set.pid))?;
    let registered: Vec<usize> = ops(&w, "set", a)
        .into_iter()
        .filter(|&i| pid_of(&w.recs[i], "opid") == Some(dpid))
        .collect();
    check_write(
        t,
        &w,
        &format!("op=set of {a}"),
        &registered,
        &change_fields("set", raw(dpid), Target::top(a), &ns, &outer_set, 1),
        &ProcWrite {
            pid: set.pid as i32,
            len: a.to_string().len(),
            info: None,
        },
        &mut known,
    );
    let outer_grant = Writer::tool(t, raw(grant.pid))?;
    check_write(
        t,
        &w,
        "op=delegate quota=1",
        &ops(&w, "delegate", a),
        &quota_fields(raw(dpid), a, 1, &outer_grant, 1),
        &ProcWrite {
            pid: grant.pid as i32,
            len: "1".len(),
            info: None,
        },
        &mut known,
    );
    let inner = Writer::tool(t, V::Any)?;
    // Refused writes: res=0, from A (B3 for B4), no parent-contid.
    for (id, old, why) in [
        (a, a, "EEXIST"),
        (f, a, "EEXIST"),
        (b2, a, "EDQUOT"),
        (b4, b3, "EPERM"),
    ] {
        // A's own op=set is not one of them.
        let refused: Vec<usize> = ops(&w, "change", id)
            .into_iter()
            .filter(|&i| w.recs[i].get("res") == Some("0"))
            .collect();
        let mut want = change_fields(
            "move",
            V::Any,
            Target {
                contid: id,
                old,
                parent: None,
            },
            &ns,
            &inner,
            0,
        );
        want[0] = ("op", V::Any);
        one_record(
            t,
            &w,
            &format!("the refused write of {id} ({why})"),
            &refused,
            &want,
        );
    }
    // Sub-containers: moved into, nested in A, and destroyed before A.
    let gone_a = ops(&w, "destroy", a);
    t.eq("op=destroy of A", gone_a.len(), 1);
    for id in [b1, b3, b5] {
        let hits = ops(&w, "change", id);
        one_record(
            t,
            &w,
            &format!("op=move into {id}"),
            &hits,
            &change_fields("move", V::Any, Target::nested(id, a), &ns, &inner, 1),
        );
        let gone = ops(&w, "destroy", id);
        if t.check(gone.len() == 1, || {
            format!("{} op=destroy of {id}, want 1", gone.len())
        }) {
            check_before(
                t,
                hits.first().copied(),
                Some(gone[0]),
                "op=move before op=destroy",
            );
            check_before(
                t,
                Some(gone[0]),
                gone_a.first().copied(),
                "a sub-container's op=destroy before A's",
            );
        }
    }
    // Nothing else: A's op=set, the grant, 4 refusals, 3 moves, 4 deaths.
    t.eq(
        "AUDIT_CONTAINER records",
        w.of_type(AUDIT_CONTAINER).len(),
        13,
    );
    Ok(())
}

/// The outer `contid run` of [`nest_quota_read`], with what it took: when
/// dropped before it ended, it releases and kills what it started.
struct Outer {
    child: Child,
    fifo: String,
    pids: Vec<i32>,
}

impl Outer {
    /// Opens the FIFO that the workload reads and writes a line, which
    /// lets it end; retries until `deadline` while nobody reads it.
    fn release(&self, deadline: Instant) -> Result<(), Stop> {
        loop {
            let r = fs::OpenOptions::new()
                .write(true)
                .custom_flags(OFlag::O_NONBLOCK.bits())
                .open(&self.fifo);
            match r {
                Ok(mut f) => {
                    return f
                        .write_all(b"go\n")
                        .map_err(|e| Stop::Error(format!("writing {}: {e}", self.fifo)));
                }
                Err(e) if e.raw_os_error() == Some(Errno::ENXIO as i32) => {}
                Err(e) => return Err(Stop::Error(format!("opening {}: {e}", self.fifo))),
            }
            if Instant::now() >= deadline {
                return Err(Stop::Error(format!("nobody reads {}", self.fifo)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the tool to end, until `deadline`.
    fn wait(&mut self, deadline: Instant) -> Result<Option<i32>, Stop> {
        use std::os::unix::process::ExitStatusExt;
        loop {
            if let Some(st) = self
                .child
                .try_wait()
                .map_err(|e| Stop::Error(format!("waiting for contid run: {e}")))?
            {
                return Ok(Some(
                    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)),
                ));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Outer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = self.release(Instant::now());
        for &pid in &self.pids {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        if !matches!(
            self.wait(Instant::now() + Duration::from_secs(10)),
            Ok(Some(_))
        ) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits until `path` exists, the outer tool ended, or the deadline came.
fn wait_for_file(outer: &mut Outer, path: &str, deadline: Instant) -> Result<bool, Stop> {
    loop {
        if fs::metadata(path).is_ok() {
            return Ok(true);
        }
        if outer.wait(Instant::now())?.is_some() || Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_pid(path: &str) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The quota, read by the orchestrator outside while the inner container
/// lives: `contid run --id A --quota 3 -- sh -c '...'` runs a shell, the
/// delegate, which starts `contid run --id B` with a workload that waits.
/// Then the delegate's quota is `1 3` (read from `/proc` and with `contid
/// quota`), the workload's (a member of B, not a delegate) `0 0`, the
/// outer tool's (in no container) `0 0`. `contid delegate D 0` revokes:
/// `0 0`, and the delegate's next `contid run` is `EPERM`. The records:
/// the grant, the revocation (by the `contid delegate` tool), the move into
/// B with `parent-contid=A`, the refused one, B destroyed before A.
pub fn nest_quota_read(t: &mut T<'_>) -> R {
    let (a, b, b2) = (t.contid(), t.contid(), t.contid());
    let dir = Scratch::new("nest-quota", a)?;
    let (fifo, log) = (dir.path("fifo"), dir.path("log"));
    let (d_file, b_file, b_tmp) = (dir.path("d.pid"), dir.path("b.pid"), dir.path("b.tmp"));
    nix::unistd::mkfifo(fifo.as_str(), Mode::S_IRUSR | Mode::S_IWUSR)
        .map_err(|e| Stop::Error(format!("mkfifo {fifo}: {e}")))?;
    let tool = t.cx.tool.to_string_lossy().into_owned();
    let script = format!(
        "echo $$ >{d_file}
{tool} run --id {b} -- /bin/sh -c 'echo $$ >{b_tmp} && mv {b_tmp} {b_file} && read x <{fifo}'
echo \"inner rc=$?\"
{tool} run --id {b2} -- /bin/true
echo \"revoked rc=$?\"
",
        tool = sh_quote(&tool)
    );
    let out = fs::File::create(&log).map_err(|e| Stop::Error(format!("{log}: {e}")))?;
    let err = out
        .try_clone()
        .map_err(|e| Stop::Error(format!("{log}: {e}")))?;
    let ns = proc::namespaces(None)?;
    t.start()?;
    let child = Command::new(&t.cx.tool)
        .args(["run", "--id", &a.to_string(), "--quota", "3", "--"])
        .args(["/bin/sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| Stop::Error(format!("contid run: {e}")))?;
    let outer_pid = child.id() as i32;
    let mut outer = Outer {
        child,
        fifo: fifo.clone(),
        pids: Vec::new(),
    };
    let deadline = Instant::now() + CHILD_TIMEOUT;
    if !wait_for_file(&mut outer, &b_file, deadline)? {
        t.fail(format!(
            "the inner container did not start: {:?}",
            fs::read_to_string(&log).unwrap_or_default()
        ));
        return Ok(());
    }
    let (Some(d), Some(c)) = (read_pid(&d_file), read_pid(&b_file)) else {
        t.fail("no pid in d.pid or b.pid");
        return Ok(());
    };
    outer.pids = vec![c, d];

    // While B lives.
    t.eq("contid of the delegate", proc::get_contid(d).ok(), Some(a));
    t.eq("contid of the workload", proc::get_contid(c).ok(), Some(b));
    t.eq(
        "quota of the delegate",
        proc::get_quota(d).ok(),
        Some(Quota { used: 1, limit: 3 }),
    );
    let q = t.tool(&["quota", &d.to_string()])?;
    check_exit(t, "contid quota D", &q, 0);
    t.eq("contid quota D", q.stdout.as_str(), "1 3\n");
    t.eq(
        "quota of the workload (moved out of the pool)",
        proc::get_quota(c).ok(),
        Some(Quota::default()),
    );
    let q = t.tool(&["quota", &outer_pid.to_string()])?;
    check_exit(t, "contid quota of the outer tool", &q, 0);
    t.eq("contid quota of the outer tool", q.stdout.as_str(), "0 0\n");

    // Revoked: no quota, no delegate.
    let revoke = t.tool(&["delegate", &d.to_string(), "0"])?;
    check_exit(t, "contid delegate D 0", &revoke, 0);
    t.eq(
        "quota of the delegate after the revocation",
        proc::get_quota(d).ok(),
        Some(Quota::default()),
    );
    outer.release(deadline)?;
    let code = outer.wait(deadline)?;
    let w = t.collect()?;
    let text = fs::read_to_string(&log).unwrap_or_default();
    t.check(code == Some(0), || {
        format!("contid run --quota 3: exit {code:?}, want 0; output {text:?}")
    });
    let lines: Vec<&str> = text.lines().collect();
    t.check(
        lines.len() == 3
            && lines[0] == "inner rc=0"
            && lines[1].starts_with("contid: ")
            && lines[1].contains("EPERM (")
            && lines[1].contains(&b2.to_string())
            && lines[2] == "revoked rc=1",
        || format!("the delegate's output {text:?}, want inner rc=0, EPERM for {b2}, revoked rc=1"),
    );

    // The records.
    let outer_w = Writer::tool(t, raw(outer_pid))?;
    let grant = one_record(
        t,
        &w,
        "op=delegate quota=3",
        &ops(&w, "delegate", a),
        &quota_fields(raw(d), a, 3, &outer_w, 1),
    );
    let revoker = Writer::tool(t, raw(revoke.pid))?;
    let revoked = one_record(
        t,
        &w,
        "op=revoke",
        &ops(&w, "revoke", a),
        &quota_fields(raw(d), a, 0, &revoker, 1),
    );
    let inner = Writer::tool(t, V::Any)?;
    let move_b = one_record(
        t,
        &w,
        &format!("op=move into {b}"),
        &ops(&w, "change", b),
        &change_fields("move", raw(c), Target::nested(b, a), &ns, &inner, 1),
    );
    let mut refused = change_fields(
        "move",
        V::Any,
        Target {
            contid: b2,
            old: a,
            parent: None,
        },
        &ns,
        &inner,
        0,
    );
    refused[0] = ("op", V::Any);
    one_record(
        t,
        &w,
        &format!("the refused write of {b2} (EPERM)"),
        &ops(&w, "change", b2),
        &refused,
    );
    let gone_b = ops(&w, "destroy", b);
    let gone_a = ops(&w, "destroy", a);
    t.eq("op=destroy of B", gone_b.len(), 1);
    t.eq("op=destroy of A", gone_a.len(), 1);
    check_before(t, grant, move_b, "the grant before op=move");
    check_before(t, move_b, revoked, "op=move before the revocation");
    check_before(
        t,
        gone_b.first().copied(),
        gone_a.first().copied(),
        "op=destroy of B before op=destroy of A",
    );
    t.eq(
        "op=destroy of B after the revocation",
        revoked.zip(gone_b.first()).map(|(r, &g)| r < g),
        Some(true),
    );
    Ok(())
}

/// Depth: `contid run --id X0 --quota 9 -- contid run --id X1 --quota 8
/// -- ... -- contid run --id X8 --quota 1 -- contid run --id X9 --
/// /bin/true`. Each delegate creates the next level and carves the next
/// grant out of its quota; X8 is 8 levels below X0, so X9 is `EMLINK`,
/// which the innermost tool reports (the others exit with its status 1).
/// The innermost tool's execve has `contid-chain=X8,...,X0`; each level's
/// move names its parent; the containers die innermost first.
pub fn nest_depth_emlink(t: &mut T<'_>) -> R {
    let ids: Vec<u64> = (0..=MAX_DEPTH + 1).map(|_| t.contid()).collect();
    let deepest = ids[MAX_DEPTH];
    exec_rule(t, deepest)?;
    let tool = t.cx.tool.to_string_lossy().into_owned();
    let texts: Vec<String> = ids.iter().map(u64::to_string).collect();
    let quotas: Vec<String> = (0..=MAX_DEPTH)
        .map(|k| (MAX_DEPTH + 1 - k).to_string())
        .collect();
    let mut args: Vec<&str> = Vec::new();
    for k in 0..=MAX_DEPTH + 1 {
        if k > 0 {
            args.push(&tool);
        }
        args.extend(["run", "--id", texts[k].as_str()]);
        if k <= MAX_DEPTH {
            args.extend(["--quota", quotas[k].as_str()]);
        }
        args.push("--");
    }
    args.push("/bin/true");
    let ns = proc::namespaces(None)?;
    t.start()?;
    let out = t.tool(&args)?;
    let w = t.collect()?;
    check_exit(t, "contid run ... (10 levels)", &out, 1);
    let errors: Vec<&str> = out.stderr.lines().collect();
    t.check(
        errors.len() == 1
            && errors[0].contains("EMLINK (")
            && errors[0].contains(&format!("container {}", ids[MAX_DEPTH + 1])),
        || {
            format!(
                "stderr {:?}, want one EMLINK for {}",
                out.stderr,
                ids[MAX_DEPTH + 1]
            )
        },
    );

    let inner = Writer::tool(t, V::Any)?;
    for k in 1..=MAX_DEPTH {
        one_record(
            t,
            &w,
            &format!("op=move into {} (depth {k})", ids[k]),
            &ops(&w, "change", ids[k]),
            &change_fields(
                "move",
                V::Any,
                Target {
                    contid: ids[k],
                    old: ids[k - 1],
                    parent: Some(ids[k - 1]),
                },
                &ns,
                &inner,
                1,
            ),
        );
    }
    // The grants: 9 by the outer tool, then 8 down to 1, each carved.
    let mut grants: Vec<Option<u32>> = w
        .find(|r| r.rtype == AUDIT_CONTAINER && r.get("op") == Some("delegate"))
        .into_iter()
        .filter(|&i| w.recs[i].get("res") == Some("1"))
        .map(|i| w.recs[i].quota())
        .collect();
    grants.sort_unstable();
    let want: Vec<Option<u32>> = (1..=MAX_DEPTH as u32 + 1).map(Some).collect();
    t.eq("the quotas granted", grants, want);
    // The refusal, by the member of X8, on its child.
    let too_deep = ids[MAX_DEPTH + 1];
    let hits = ops(&w, "change", too_deep);
    let mut refused = change_fields(
        "move",
        V::Any,
        Target {
            contid: too_deep,
            old: deepest,
            parent: None,
        },
        &ns,
        &inner,
        0,
    );
    refused[0] = ("op", V::Any);
    let writer = one_record(
        t,
        &w,
        &format!("the refused write of {too_deep} (EMLINK)"),
        &hits,
        &refused,
    )
    .and_then(|i| pid_of(&w.recs[i], "pid"));
    t.eq("op=destroy of X9", ops(&w, "destroy", too_deep).len(), 0);
    // The member of X8 knows its whole chain.
    let member = ops(&w, "change", deepest)
        .first()
        .and_then(|&i| pid_of(&w.recs[i], "opid"));
    t.eq("the writer of the refused write", writer, member);
    if let Some(m) = member {
        let chain: Vec<u64> = ids[..=MAX_DEPTH].iter().rev().copied().collect();
        let mut known = BTreeSet::new();
        check_execs_chain(t, &w, m, &chain, 1, &mut known);
        let execs = w.syscalls(NR_EXECVE, m);
        if let Some(serial) = execs.first().and_then(|&i| w.recs[i].serial()) {
            let info = w
                .group(serial)
                .into_iter()
                .find(|&i| w.recs[i].rtype == AUDIT_CONTAINER_INFO);
            t.eq(
                "contid-chain of the deepest member",
                info.and_then(|i| w.recs[i].contid_chain()),
                Some(chain),
            );
        }
    }
    // Innermost first.
    let deaths: Vec<Option<usize>> = ids[..=MAX_DEPTH]
        .iter()
        .map(|&id| {
            let gone = ops(&w, "destroy", id);
            t.check(gone.len() == 1, || {
                format!("{} op=destroy of {id}, want 1", gone.len())
            });
            gone.first().copied()
        })
        .collect();
    for k in 1..=MAX_DEPTH {
        check_before(
            t,
            deaths[k],
            deaths[k - 1],
            &format!("op=destroy of depth {k} before depth {}", k - 1),
        );
    }
    Ok(())
}

/// `contid delegate` and `contid quota` from outside: a grant and its
/// revocation, and the kernel's refusals named by their errno: a target in
/// no container or a value out of range (`EINVAL`), init (`EPERM`), a pid
/// that does not exist; a usage error is status 2.
pub fn nest_delegate_quota_tool(t: &mut T<'_>) -> R {
    let a = t.contid();
    let target = Paused::spawn(NsSet(0), &Program::Exit(0))?;
    let pid = target.pid().to_string();
    let out = t.tool(&["quota", &pid])?;
    check_exit(t, "contid quota of a process in no container", &out, 0);
    t.eq("its quota", out.stdout.as_str(), "0 0\n");
    let out = t.tool(&["delegate", &pid, "3"])?;
    t.check(out.code == 1 && out.stderr.contains("EINVAL ("), || {
        format!(
            "contid delegate of a process in no container: {}",
            out.describe()
        )
    });
    target.register(a).map_err(|e| {
        Stop::Error(format!(
            "registering {pid}: {}",
            audit_contid::errno_name(e)
        ))
    })?;
    for value in ["abc", "65537", "-1", "1 2"] {
        let out = t.tool(&["delegate", &pid, value])?;
        t.check(out.code == 1 && out.stderr.contains("EINVAL ("), || {
            format!("contid delegate {pid} {value:?}: {}", out.describe())
        });
    }
    for (value, want) in [("2", "0 2\n"), ("65536", "0 65536\n"), ("0", "0 0\n")] {
        let out = t.tool(&["delegate", &pid, value])?;
        check_exit(t, &format!("contid delegate {pid} {value}"), &out, 0);
        let out = t.tool(&["quota", &pid])?;
        check_exit(t, "contid quota", &out, 0);
        t.eq(&format!("quota after {value}"), out.stdout.as_str(), want);
    }
    let out = t.tool(&["delegate", "1", "3"])?;
    t.check(out.code == 1 && out.stderr.contains("EPERM ("), || {
        format!("contid delegate 1 3: {}", out.describe())
    });
    let out = t.tool(&["delegate", "2147483647", "3"])?;
    t.check(out.code == 1 && out.stderr.contains("2147483647"), || {
        format!("contid delegate of a missing pid: {}", out.describe())
    });
    let out = t.tool(&["quota", "2147483647"])?;
    t.check(out.code == 1 && out.stderr.contains("ENOENT ("), || {
        format!("contid quota of a missing pid: {}", out.describe())
    });
    let out = t.tool(&["quota", "not-a-pid"])?;
    t.check(out.code == 2, || {
        format!("contid quota not-a-pid: {}", out.describe())
    });
    t.eq("contid still", proc::get_contid(target.pid()).ok(), Some(a));
    drop(target);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_sh() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn script_sections() {
        let text = "== own\ncontid: registering ...: EEXIST (File exists)\nrc=1\n== before\n0 1\nrc=0\n== empty\nrc=0\n";
        let got = sections(text);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, "own");
        assert_eq!(got[0].1.rc, Some(1));
        assert_eq!(got[0].1.lines.len(), 1);
        assert_eq!(got[1].1.lines, vec!["0 1"]);
        assert_eq!(got[2].1.rc, Some(0));
        assert!(got[2].1.lines.is_empty());
    }

    #[test]
    fn expected_fields() {
        let ns = Namespaces {
            inodes: NS_TYPES.iter().map(|&(_, _, ty)| (ty, 7)).collect(),
            dev: (0, 4),
        };
        let w = Writer {
            pid: raw(5),
            comm: "contid".into(),
            exe: "/ac/tests/contid".into(),
            auid: "4294967295".into(),
            ses: "4294967295".into(),
        };
        let keys = |f: &[(&str, V)]| f.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>();
        let nested = change_fields("move", raw(6), Target::nested(200, 100), &ns, &w, 1);
        assert_eq!(nested.len(), 21);
        assert_eq!(keys(&nested)[3..5], ["old-contid", "parent-contid"]);
        let r = Record::parse(
            AUDIT_CONTAINER,
            "audit(1.000:2): op=move opid=6 contid=200 old-contid=100 parent-contid=100 nsfs=0:4 cgroupns=7 ipcns=7 mntns=7 netns=7 pidns=7 timens=7 userns=7 utsns=7 pid=5 uid=0 auid=4294967295 ses=4294967295 comm=\"contid\" exe=\"/ac/tests/contid\" res=1",
        );
        assert!(fields_exact(&r, &nested, &["subj"]).is_empty());
        assert_eq!(
            change_fields(
                "set",
                raw(6),
                Target {
                    contid: 200,
                    old: u64::MAX,
                    parent: None
                },
                &ns,
                &w,
                0
            )
            .len(),
            20
        );
        let g = quota_fields(raw(6), 100, 3, &w, 1);
        let r = Record::parse(
            AUDIT_CONTAINER,
            "audit(1.000:3): op=delegate opid=6 contid=100 quota=3 pid=5 uid=0 auid=4294967295 ses=4294967295 comm=\"contid\" exe=\"/ac/tests/contid\" res=1",
        );
        assert!(fields_exact(&r, &g, &["subj"]).is_empty());
        let revoke = quota_fields(raw(6), u64::MAX, 0, &w, 0);
        assert!(matches!(&revoke[0].1, V::Raw(op) if op == "revoke"));
        assert!(matches!(&revoke[2].1, V::Raw(c) if c == "-1"));
    }
}
