//! contid: the operator's tool for audit container IDs.
//!
//! Run a command as a registered container, register or read the container
//! ID of a process, grant a process a quota of nested containers or read
//! it, watch the container records, and manage audit rules on container
//! IDs. It changes the audit configuration and registers processes, so it
//! runs only in the project's test VM.
//!
//! Inside a container, as a delegate (a member with a quota), `run` and
//! `set` register nested containers: the tool checks no capability of its
//! own, the kernel decides, and a refusal is reported with its errno.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use audit_contid::netlink::{AuditSocket, Message};
use audit_contid::proc::Quota;
use audit_contid::record::{contid_text, type_label, Record, AUDIT_EOE, AUDIT_SYSCALL};
use audit_contid::rule::{
    list_by_name, Op, Rule, ACTION_ALWAYS, ACTION_NEVER, ARCH_X86_64, AUDIT_ARCH_I386,
    AUDIT_CONTID, FIELD_ARCH as AUDIT_ARCH, LISTS, LIST_EXIT as AUDIT_FILTER_EXIT,
};
use audit_contid::spawn::{ignore_terminal_signals, NsSet, Paused, Program};
use audit_contid::{errno_name, guest, proc, syscalls, Errno, Error};
use clap::{Args, Parser, Subcommand};

/// Exit status of a failed operation.
const FAILED: u8 = 1;
/// Exit status of a usage error, or of a run outside the test VM.
const USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "contid",
    version,
    about = "Operator tool for audit container IDs",
    long_about = "Operator tool for audit container IDs (the \"audit container IDs\" kernel \
series).\n\nA container ID (contid) is a u64 that an orchestrator registers for a process \
through /proc/PID/audit_containerid; audit then tags the events of the process and of the \
processes it forks later with AUDIT_CONTAINER_INFO records, and logs the life of the \
container (AUDIT_CONTAINER 1344: op=set, op=move, op=destroy) and of its namespaces \
(AUDIT_NS_CREATE 1341, AUDIT_NS_DESTROY 1342, AUDIT_NS_CHANGE 1343). 18446744073709551615 \
(shown as -1 in records) means \"in no container\".\n\nNesting: a member process that \
holds a quota (/proc/PID/audit_containerid_quota, granted with `delegate` or `run --quota`) \
is a delegate: it may register its own descendants, without any capability, in new \
containers nested in its own (up to the quota at once, 8 levels deep), which the records \
show as parent-contid= and contid-chain=. Run inside such a container, `run` and `set` do \
that; the kernel refuses with EEXIST (a live ID the delegate does not own), EDQUOT (quota \
used up), EMLINK (too deep) or EPERM.\n\nExit status: 0 on success (for `run`: \
the command's status), 1 when the kernel refused or an operation failed (the errno is \
named), 2 on a usage error. The tool changes the audit configuration, so it refuses to run \
(status 2) anywhere but in the project's test VM.",
    after_help = "Examples:\n  contid run --id 42 --ns mnt,uts,ipc,net,pid -- /bin/sh\n  contid run --id 42 --quota 3 -- contid run --id 43 -- /bin/sh   (43 nested in 42)\n  contid set 731 42\n  contid get 731\n  contid delegate 731 3\n  contid quota 731\n  contid watch\n  contid rule add exit always --contid 42 --syscall execve --arch b64\n  contid rule add exclude never --contid 42\n  contid rule add user never --contid 42 --not\n  contid rule list"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Start a command as a member of container N, in new namespaces if asked.
    ///
    /// The command's process is created with clone3() in the namespaces
    /// given (none by default), waits until its container ID is registered
    /// (and, with --quota, its quota granted), then executes the command.
    /// The tool waits for it and exits with its status (128 + the signal if
    /// it was killed). With `--ns user`, root is mapped to root (the whole
    /// uid and gid range one to one).
    ///
    /// Run by a delegate inside a container, it needs no capability: N
    /// becomes a container nested in the delegate's own (or, when the
    /// delegate's quota created N, the process joins it); the kernel refuses
    /// with EEXIST, EDQUOT, EMLINK or EPERM.
    Run {
        /// The container ID.
        #[arg(long, value_name = "N", value_parser = parse_contid_arg)]
        id: u64,
        /// Also grant the command's process a quota of Q nested containers
        /// (0 to 65536), after registering it: the command may then run
        /// containers of its own inside N.
        #[arg(long, value_name = "Q")]
        quota: Option<u32>,
        /// New namespaces: a comma-separated subset of mnt, uts, ipc, net,
        /// pid, cgroup, time, user, or `all`, or `none`.
        #[arg(long, value_name = "LIST", default_value = "none")]
        ns: String,
        /// The command and its arguments.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD"
        )]
        command: Vec<OsString>,
    },
    /// Register process PID as a member of container N, or move it there.
    ///
    /// Writes VALUE as given to /proc/PID/audit_containerid, so that the
    /// kernel judges it: EINVAL (not a decimal u64, or 18446744073709551615),
    /// EPERM (no CAP_CONTAINER_ADMIN, the caller is in a container and not
    /// a delegate or not an ancestor of the target, the target is the
    /// caller's own process, a kernel thread or init), EEXIST (a delegate
    /// named a live container its quota did not create), EDQUOT (the
    /// delegate's quota is used up), EMLINK (more than 8 levels deep), ESRCH
    /// (the target is exiting or gone).
    Set {
        /// The process.
        pid: i32,
        /// The container ID, in decimal.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Print the container ID of process PID (18446744073709551615: none).
    ///
    /// Needs CAP_CONTAINER_ADMIN or CAP_AUDIT_CONTROL.
    Get {
        /// The process.
        pid: i32,
    },
    /// Grant process PID a quota of N nested containers; 0 revokes it.
    ///
    /// Writes N as given to /proc/PID/audit_containerid_quota. N > 0 makes
    /// PID (and the processes it forks later) a delegate of its container,
    /// with a new pool of N sub-containers alive at once; a pool it had is
    /// revoked. Who may do it is who may set PID's container ID: the
    /// orchestrator outside, or a delegate, whose grant is carved out of its
    /// own quota. Errors: EINVAL (not a decimal 0..=65536, or PID is in no
    /// container), EPERM (no right to set PID's container ID, or PID holds a
    /// pool the caller did not carve), EDQUOT (more than what is left of the
    /// caller's quota), ESRCH (PID is exiting or gone).
    Delegate {
        /// The process.
        pid: i32,
        /// The quota, in decimal.
        #[arg(value_name = "N", allow_hyphen_values = true)]
        value: String,
    },
    /// Print the quota of process PID: USED LIMIT ("0 0": none).
    ///
    /// USED counts the live nested containers that its pool created and the
    /// quota carved out of it for grants. Needs CAP_CONTAINER_ADMIN or
    /// CAP_AUDIT_CONTROL, or being a delegate whose container is PID's or
    /// has it nested in it.
    Quota {
        /// The process.
        pid: i32,
    },
    /// Stream the container records (1340-1344), grouped by event.
    ///
    /// Reads the read-only multicast group of the audit socket
    /// (AUDIT_NLGRP_READLOG, needs CAP_AUDIT_READ), so it works whether or
    /// not auditd runs, and changes nothing. Each event starts with a line
    /// `event TIME:SERIAL`, then its records, one per line. Without --all,
    /// only events with container records are shown, with a summary of
    /// their SYSCALL record.
    Watch {
        /// Show every record of every event.
        #[arg(long)]
        all: bool,
        /// Stop after printing N events.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Stop after SECONDS.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
    },
    /// Add, delete or list audit rules on container IDs.
    #[command(subcommand)]
    Rule(RuleCmd),
}

#[derive(Subcommand, Debug)]
enum RuleCmd {
    /// Add a rule.
    Add(RuleArgs),
    /// Delete a rule (the same arguments as when it was added).
    Del(RuleArgs),
    /// List the rules that have a contid field (all rules with --all).
    List {
        /// List every rule.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Args, Debug)]
#[command(
    after_help = "Lists: exit (the syscalls of a member: --syscall, --arch), user \
(messages a member sends on the audit socket), exclude (every record emitted in a member's \
context). The kernel refuses the contid field on other lists, and any operator but = and != \
(EINVAL).\n\nExamples:\n  contid rule add exit always --contid 42 --syscall execve --arch b64\n  \
contid rule add exclude never --contid 42\n  contid rule add user never --contid 42\n  \
contid rule add exit always --contid -1 --syscall execve   (processes in no container)"
)]
struct RuleArgs {
    /// The filter list: exit, user or exclude.
    #[arg(value_name = "LIST")]
    list: String,
    /// The action: always or never.
    #[arg(value_name = "ACTION")]
    action: String,
    /// The container ID to compare with; -1 means "in no container".
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = parse_contid_arg)]
    contid: u64,
    /// Match the processes NOT in that container (contid!=N).
    #[arg(long)]
    not: bool,
    /// A system call (name or number; exit list only). Repeatable; default
    /// all.
    #[arg(long, value_name = "NAME|NR")]
    syscall: Vec<String>,
    /// The syscall ABI (exit list): b64 (x86_64) or b32 (i386; numbers
    /// only).
    #[arg(long, value_name = "b64|b32")]
    arch: Option<String>,
    /// A filter key, shown as key= in the records.
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
}

fn parse_contid_arg(s: &str) -> Result<u64, String> {
    match s {
        "-1" | "unset" => Ok(u64::MAX),
        _ => s
            .parse()
            .map_err(|_| format!("{s:?} is not a container ID (a decimal u64, or -1)")),
    }
}

/// Prints an error and gives the exit status for it.
fn fail(msg: impl std::fmt::Display) -> u8 {
    eprintln!("contid: {msg}");
    FAILED
}

fn set_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EINVAL => "the value must be a decimal u64 other than 18446744073709551615, written at offset 0",
        Errno::EPERM => "needs CAP_CONTAINER_ADMIN in the initial user namespace and a caller in no container, or a caller that is a delegate (a member with a quota) and an ancestor of the target, which is in the delegate's container or one its quota created; never the caller's own process, a kernel thread or init",
        Errno::EEXIST => "the ID is a live container that the caller's quota did not create (its own container, a sibling's, a top-level one)",
        Errno::EDQUOT => "the caller's quota of nested containers is used up (`contid quota PID` shows USED LIMIT)",
        Errno::EMLINK => "a container may be nested at most 8 levels below the outermost one",
        Errno::ESRCH => "the process is exiting or gone",
        Errno::ENOENT => "no such process, or a kernel without CONFIG_AUDIT_CONTAINER",
        Errno::ENOMEM => "no memory for a new container",
        _ => "",
    }
}

fn delegate_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EINVAL => "the quota must be a decimal 0..=65536, written at offset 0, for a process that is in a container",
        Errno::EPERM => "needs the right to set the target's container ID (see `contid set --help`), and a target whose pool, if any, the caller carved",
        Errno::EDQUOT => "more than what is left of the caller's own quota (`contid quota PID` shows USED LIMIT)",
        Errno::ESRCH => "the process is exiting or gone",
        Errno::ENOENT => "no such process, or a kernel without nesting (no audit_containerid_quota)",
        Errno::ENOMEM => "no memory",
        _ => "",
    }
}

fn with_hint(errno: Errno, hint: &str) -> String {
    if hint.is_empty() {
        errno_name(errno)
    } else {
        format!("{} - {hint}", errno_name(errno))
    }
}

fn cmd_run(id: u64, quota: Option<u32>, ns: &str, command: &[OsString]) -> u8 {
    let ns = match NsSet::parse(ns) {
        Ok(ns) => ns,
        Err(e) => {
            eprintln!("contid: {e}");
            return USAGE;
        }
    };
    let program = match Program::exec(command) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut child = match Paused::spawn(ns, &program) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if ns.has_user() {
        if let Err(e) = child.map_root() {
            return fail(e);
        }
    }
    if let Err(errno) = child.register(id) {
        return fail(format!(
            "registering process {} with container {}: {}",
            child.pid(),
            contid_text(id),
            with_hint(errno, set_hint(errno))
        ));
    }
    if let Some(q) = quota {
        if let Err(errno) = child.delegate(q) {
            return fail(format!(
                "granting process {} a quota of {q}: {}",
                child.pid(),
                with_hint(errno, delegate_hint(errno))
            ));
        }
    }
    ignore_terminal_signals();
    if let Err(e) = child.release() {
        return fail(e);
    }
    match child.wait(None) {
        Ok(status) => u8::try_from(status.code()).unwrap_or(FAILED),
        Err(e) => fail(e),
    }
}

fn cmd_set(pid: i32, value: &str) -> u8 {
    match proc::write_contid_text(pid, value.as_bytes()) {
        Ok(()) => 0,
        Err(errno) => fail(format!(
            "cannot set the container ID of process {pid} to {value:?}: {}",
            with_hint(errno, set_hint(errno))
        )),
    }
}

fn cmd_get(pid: i32) -> u8 {
    match proc::read_contid_text(pid) {
        Ok(text) => {
            println!("{}", text.trim_end());
            0
        }
        Err(errno) => {
            let hint = match errno {
                Errno::EPERM => "needs CAP_CONTAINER_ADMIN or CAP_AUDIT_CONTROL",
                Errno::ENOENT => "no such process, or a kernel without CONFIG_AUDIT_CONTAINER",
                _ => "",
            };
            fail(format!(
                "cannot read the container ID of process {pid}: {}",
                with_hint(errno, hint)
            ))
        }
    }
}

fn cmd_delegate(pid: i32, value: &str) -> u8 {
    match proc::write_quota_text(pid, value.as_bytes()) {
        Ok(()) => 0,
        Err(errno) => fail(format!(
            "cannot set the quota of process {pid} to {value:?}: {}",
            with_hint(errno, delegate_hint(errno))
        )),
    }
}

fn cmd_quota(pid: i32) -> u8 {
    let text = match proc::read_quota_text(pid) {
        Ok(text) => text,
        Err(errno) => {
            let hint = match errno {
                Errno::EPERM => "needs CAP_CONTAINER_ADMIN or CAP_AUDIT_CONTROL, or a delegate whose container is the target's or has it nested",
                Errno::ENOENT => "no such process, or a kernel without nesting (no audit_containerid_quota)",
                _ => "",
            };
            return fail(format!(
                "cannot read the quota of process {pid}: {}",
                with_hint(errno, hint)
            ));
        }
    };
    match Quota::parse(&text) {
        Ok(q) => {
            println!("{q}");
            0
        }
        Err(e) => fail(e),
    }
}

/// The records of one event, as they came.
struct Pending {
    records: Vec<Record>,
    last: Instant,
}

/// A one-line summary of a SYSCALL record.
fn syscall_summary(r: &Record) -> String {
    let nr = r.get_u64("syscall");
    let name = nr
        .and_then(|n| u32::try_from(n).ok())
        .and_then(syscalls::name)
        .map_or(String::new(), |n| format!("({n})"));
    let mut s = format!(
        "  SYSCALL syscall={}{name}",
        r.get("syscall").unwrap_or("?")
    );
    for k in ["success", "exit", "pid", "auid", "comm", "exe"] {
        if let Some(f) = r.field(k) {
            s.push_str(&format!(" {k}={}", f.text().unwrap_or_default()));
        }
    }
    s
}

fn print_event(records: &[Record], all: bool) -> bool {
    let relevant = records.iter().any(Record::is_container_related);
    if !all && !relevant {
        return false;
    }
    let Some(stamp) = records.iter().find_map(|r| r.stamp) else {
        return false;
    };
    let mut out = vec![format!("event {stamp}")];
    for r in records {
        if all || r.is_container_related() {
            out.push(format!("  {} {}", type_label(r.rtype), r.body));
        } else if r.rtype == AUDIT_SYSCALL {
            out.push(syscall_summary(r));
        }
    }
    println!("{}", out.join("\n"));
    true
}

fn cmd_watch(all: bool, count: Option<u64>, timeout: Option<u64>) -> u8 {
    let mut sock = match AuditSocket::open_readlog() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let _ = sock.set_receive_buffer(8 << 20);
    eprintln!("contid: listening to audit records (AUDIT_NLGRP_READLOG); Ctrl-C stops");
    let end = timeout.map(|s| Instant::now() + Duration::from_secs(s));
    let idle = Duration::from_millis(300);
    let mut pending: BTreeMap<u64, Pending> = BTreeMap::new();
    let mut printed = 0u64;
    loop {
        if count.is_some_and(|c| printed >= c) {
            return 0;
        }
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) {
            break;
        }
        let wait = end.map_or(idle, |e| e.saturating_duration_since(now).min(idle));
        match sock.recv(Some(wait)) {
            Ok(Some(msgs)) => {
                for m in msgs {
                    let Message::Record(r) = m else { continue };
                    let Some(serial) = r.serial() else {
                        println!("event ?\n  {} {}", type_label(r.rtype), r.text);
                        continue;
                    };
                    let eoe = r.rtype == AUDIT_EOE;
                    let p = pending.entry(serial).or_insert_with(|| Pending {
                        records: Vec::new(),
                        last: Instant::now(),
                    });
                    p.last = Instant::now();
                    if !eoe {
                        p.records.push(r);
                    }
                    if eoe {
                        if let Some(p) = pending.remove(&serial) {
                            printed += u64::from(print_event(&p.records, all));
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(e) if e.errno() == Some(Errno::ENOBUFS) => {
                eprintln!("contid: records were lost (socket buffer full)");
            }
            Err(e) => return fail(e),
        }
        // Events without EOE (records outside syscalls) end when quiet.
        let quiet: Vec<u64> = pending
            .iter()
            .filter(|(_, p)| p.last.elapsed() >= idle)
            .map(|(&s, _)| s)
            .collect();
        for serial in quiet {
            if count.is_some_and(|c| printed >= c) {
                break;
            }
            if let Some(p) = pending.remove(&serial) {
                printed += u64::from(print_event(&p.records, all));
            }
        }
    }
    for (_, p) in std::mem::take(&mut pending) {
        if count.is_some_and(|c| printed >= c) {
            break;
        }
        printed += u64::from(print_event(&p.records, all));
    }
    0
}

fn build_rule(a: &RuleArgs) -> Result<Rule, String> {
    let list = list_by_name(&a.list).ok_or_else(|| {
        let names: Vec<&str> = LISTS.iter().map(|&(_, n)| n).collect();
        format!("unknown list {:?} (lists: {})", a.list, names.join(", "))
    })?;
    let action = match a.action.as_str() {
        "always" => ACTION_ALWAYS,
        "never" => ACTION_NEVER,
        other => return Err(format!("unknown action {other:?} (always or never)")),
    };
    let exit = list == AUDIT_FILTER_EXIT;
    if !exit && (!a.syscall.is_empty() || a.arch.is_some()) {
        return Err("--syscall and --arch are for the exit list".into());
    }
    let mut rule = Rule::new(list, action);
    let b32 = match a.arch.as_deref() {
        None => false,
        Some("b64") => {
            rule = rule.num(AUDIT_ARCH, Op::Equal, ARCH_X86_64);
            false
        }
        Some("b32") => {
            rule = rule.num(AUDIT_ARCH, Op::Equal, AUDIT_ARCH_I386);
            true
        }
        Some(other) => return Err(format!("unknown arch {other:?} (b64 or b32)")),
    };
    for s in &a.syscall {
        let nr = match s.parse::<u32>() {
            Ok(nr) => nr,
            Err(_) if b32 => return Err(format!("give i386 system calls as numbers, not {s:?}")),
            Err(_) => syscalls::number(s).ok_or_else(|| format!("unknown system call {s:?}"))?,
        };
        if nr >= 2048 {
            return Err(format!("system call number {nr} out of range"));
        }
        rule = rule.syscall(nr);
    }
    let op = if a.not { Op::NotEqual } else { Op::Equal };
    rule = rule.contid(op, a.contid);
    if let Some(k) = &a.key {
        rule = rule.key(k);
    }
    Ok(rule)
}

fn rule_hint(e: &Error, add: bool) -> &'static str {
    match e.errno() {
        Some(Errno::EINVAL) => "a kernel without the AUDIT_CONTID rule field, or a list other than exit, user and exclude",
        Some(Errno::ENOENT) if !add => "no such rule",
        Some(Errno::EEXIST) if add => "the rule exists already",
        Some(Errno::EPERM) => "needs CAP_AUDIT_CONTROL",
        _ => "",
    }
}

fn cmd_rule(cmd: &RuleCmd) -> u8 {
    let mut sock = match AuditSocket::open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match cmd {
        RuleCmd::Add(a) | RuleCmd::Del(a) => {
            let add = matches!(cmd, RuleCmd::Add(_));
            let rule = match build_rule(a) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("contid: {e}");
                    return USAGE;
                }
            };
            let r = if add {
                sock.add_rule(&rule)
            } else {
                sock.del_rule(&rule)
            };
            match r {
                Ok(()) => 0,
                Err(e) => {
                    let verb = if add { "adding" } else { "deleting" };
                    let errno = e.errno().map_or_else(|| e.to_string(), errno_name);
                    let hint = rule_hint(&e, add);
                    fail(format!(
                        "{verb} the rule {rule}: {errno}{}",
                        if hint.is_empty() {
                            String::new()
                        } else {
                            format!(" - {hint}")
                        }
                    ))
                }
            }
        }
        RuleCmd::List { all } => match sock.list_rules() {
            Ok(rules) => {
                for r in rules
                    .iter()
                    .filter(|r| *all || r.fields.iter().any(|f| f.field == AUDIT_CONTID))
                {
                    println!("{r}");
                }
                0
            }
            Err(e) => fail(format!("listing the rules: {e}")),
        },
    }
}

fn main() -> ExitCode {
    if !guest::is_test_vm() {
        eprintln!(
            "contid: refusing to run: {} does not exist, so this is not the project's test VM \
             (contid changes the audit configuration and registers processes)",
            guest::GUEST_MARKER
        );
        return ExitCode::from(USAGE);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { USAGE } else { 0 });
        }
    };
    let code = match &cli.command {
        Cmd::Run {
            id,
            quota,
            ns,
            command,
        } => cmd_run(*id, *quota, ns, command),
        Cmd::Set { pid, value } => cmd_set(*pid, value),
        Cmd::Get { pid } => cmd_get(*pid),
        Cmd::Delegate { pid, value } => cmd_delegate(*pid, value),
        Cmd::Quota { pid } => cmd_quota(*pid),
        Cmd::Watch {
            all,
            count,
            timeout,
        } => cmd_watch(*all, *count, *timeout),
        Cmd::Rule(r) => cmd_rule(r),
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_run_with_command_arguments() {
        let cli = Cli::try_parse_from([
            "contid", "run", "--id", "42", "--ns", "net,pid", "--", "/bin/sh", "-c", "exit 3",
        ])
        .unwrap();
        match cli.command {
            Cmd::Run {
                id,
                quota,
                ns,
                command,
            } => {
                assert_eq!(id, 42);
                assert_eq!(quota, None);
                assert_eq!(ns, "net,pid");
                assert_eq!(command, vec!["/bin/sh", "-c", "exit 3"]);
            }
            c => panic!("{c:?}"),
        }
        assert!(Cli::try_parse_from(["contid", "run", "--id", "x", "--", "true"]).is_err());
        assert!(Cli::try_parse_from(["contid", "run", "--id", "1"]).is_err());
    }

    #[test]
    fn parses_nested_run() {
        // The inner run's options belong to the inner command.
        let cli = Cli::try_parse_from([
            "contid", "run", "--id", "7", "--quota", "3", "--", "contid", "run", "--id", "8",
            "--quota", "1", "--", "sh",
        ])
        .unwrap();
        match cli.command {
            Cmd::Run {
                id, quota, command, ..
            } => {
                assert_eq!((id, quota), (7, Some(3)));
                assert_eq!(
                    command,
                    vec!["contid", "run", "--id", "8", "--quota", "1", "--", "sh"]
                );
            }
            c => panic!("{c:?}"),
        }
        for bad in [
            "contid run --id 7 --quota -1 -- sh",
            "contid run --id 7 --quota x -- sh",
            "contid run --id 7 --quota 4294967296 -- sh",
        ] {
            assert!(
                Cli::try_parse_from(bad.split_whitespace()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn parses_delegate_and_quota() {
        // The value goes to the kernel as given: it judges the range.
        for value in ["3", "0", "65537", "-1", "x"] {
            let cli = Cli::try_parse_from(["contid", "delegate", "731", value]).unwrap();
            match cli.command {
                Cmd::Delegate { pid, value: v } => {
                    assert_eq!(pid, 731);
                    assert_eq!(v, value);
                }
                c => panic!("{c:?}"),
            }
        }
        assert!(Cli::try_parse_from(["contid", "delegate", "731"]).is_err());
        assert!(Cli::try_parse_from(["contid", "delegate", "x", "3"]).is_err());
        let cli = Cli::try_parse_from(["contid", "quota", "731"]).unwrap();
        assert!(matches!(cli.command, Cmd::Quota { pid: 731 }));
        assert!(Cli::try_parse_from(["contid", "quota"]).is_err());
    }

    #[test]
    fn builds_rules() {
        let cli = Cli::try_parse_from([
            "contid",
            "rule",
            "add",
            "exit",
            "always",
            "--contid",
            "42",
            "--syscall",
            "execve",
            "--arch",
            "b64",
        ])
        .unwrap();
        let Cmd::Rule(RuleCmd::Add(a)) = cli.command else {
            panic!()
        };
        let r = build_rule(&a).unwrap();
        assert_eq!(
            r.to_string(),
            "exit,always arch=b64 contid=42 syscall=execve"
        );

        let cli = Cli::try_parse_from([
            "contid", "rule", "del", "exclude", "never", "--contid", "-1", "--not",
        ])
        .unwrap();
        let Cmd::Rule(RuleCmd::Del(a)) = cli.command else {
            panic!()
        };
        let r = build_rule(&a).unwrap();
        assert_eq!(r.to_string(), "exclude,never contid!=-1");
        assert_eq!(r.contids(), vec![(Op::NotEqual, Some(u64::MAX))]);

        for bad in [
            "contid rule add nowhere always --contid 1",
            "contid rule add exit sometimes --contid 1",
            "contid rule add user never --contid 1 --syscall execve",
            "contid rule add exit always --contid 1 --syscall nosuchcall",
            "contid rule add exit always --contid 1 --arch b32 --syscall execve",
            "contid rule add exit always --contid 1 --syscall 99999",
        ] {
            let cli = Cli::try_parse_from(bad.split_whitespace()).unwrap();
            let Cmd::Rule(RuleCmd::Add(a)) = cli.command else {
                panic!()
            };
            assert!(build_rule(&a).is_err(), "{bad:?}");
        }
        assert!(
            Cli::try_parse_from(["contid", "rule", "add", "exit", "always", "--contid", "-2"])
                .is_err()
        );
    }

    #[test]
    fn task_list_is_passed_to_the_kernel() {
        // The kernel, not the tool, refuses contid on other lists.
        let cli = Cli::try_parse_from(["contid", "rule", "add", "task", "always", "--contid", "5"])
            .unwrap();
        let Cmd::Rule(RuleCmd::Add(a)) = cli.command else {
            panic!()
        };
        assert!(build_rule(&a).is_ok());
    }

    #[test]
    fn watch_summary_names_the_syscall() {
        let r = Record::parse(1300, "audit(1.000:2): arch=c000003e syscall=59 success=yes exit=0 pid=5 auid=4294967295 comm=\"sh\" exe=\"/bin/busybox\"");
        assert_eq!(
            syscall_summary(&r),
            "  SYSCALL syscall=59(execve) success=yes exit=0 pid=5 auid=4294967295 comm=sh exe=/bin/busybox"
        );
    }

    #[test]
    fn set_hints_name_the_causes() {
        assert!(with_hint(Errno::EPERM, set_hint(Errno::EPERM)).starts_with("EPERM ("));
        assert!(set_hint(Errno::ESRCH).contains("exiting"));
        assert!(set_hint(Errno::EPERM).contains("delegate"));
        for errno in [Errno::EEXIST, Errno::EDQUOT, Errno::EMLINK] {
            let text = with_hint(errno, set_hint(errno));
            assert!(text.starts_with(&format!("{errno:?} (")), "{text}");
            assert!(text.contains(" - "), "{text}");
        }
        assert!(delegate_hint(Errno::EDQUOT).contains("quota"));
        assert!(delegate_hint(Errno::EINVAL).contains("65536"));
    }
}
