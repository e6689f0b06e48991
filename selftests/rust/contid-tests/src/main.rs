//! contid-tests: the integration suite of audit container IDs.
//!
//! It plays a container orchestrator against the kernel and checks the
//! audit records that result, from a NETLINK_AUDIT socket: every field,
//! the events they belong to, their order, and that nothing is missing or
//! extra. It prints KTAP and exits 0 when every test passed or was
//! skipped, 1 otherwise, 4 when it cannot run here.
//!
//! It changes the audit configuration, so it runs only in the project's
//! test VM (see `audit_contid::guest`).
//!
//! Processes: the program started by the user supervises two copies of
//! itself. The *daemon* (`--daemon`) registers as the audit daemon (so
//! that records go nowhere else, such as the console), enables audit and
//! reads and drops the records; the kernel exempts the daemon's own system
//! calls from auditing, which is why the orchestrator must be another
//! process. The *suite* (`--suite`) is the orchestrator: it is started
//! after audit is on (so it has an audit context, as an orchestrator under
//! auditd would) and reads every record through the read-only multicast
//! group. When the suite ends, the daemon restores the audit status
//! (daemon pid 0, enabled and backlog as they were) and exits.

mod checks;
mod filter;
mod harness;
mod ktap;
mod lifecycle;
mod nesting;
mod tool;

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use audit_contid::netlink::{
    AuditSocket, AUDIT_STATUS_BACKLOG_LIMIT, AUDIT_STATUS_ENABLED, AUDIT_STATUS_PID,
    AUDIT_STATUS_RATE_LIMIT,
};
use audit_contid::record::AUDIT_TRUSTED_APP;
use audit_contid::{guest, Errno, Error};
use netlink_packet_audit::StatusMessage;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use harness::{Ctx, R, T};
use ktap::{diag, emit, result_line, Outcome, Totals};

/// How long the whole suite may run (less than run-selftests' 300 s), unless
/// `CONTID_TESTS_TIMEOUT` (seconds) says otherwise.
const SUITE_TIMEOUT: Duration = Duration::from_secs(240);

/// A test: its KTAP name and its function.
type Test = (&'static str, fn(&mut T<'_>) -> R);

/// Every test, in order.
const TESTS: &[Test] = &[
    ("feature_bit_and_status", filter::feature_bit_and_status),
    ("lifecycle_clone3_exec", lifecycle::lifecycle_clone3_exec),
    (
        "exit_rule_equal_selects_member",
        filter::exit_rule_equal_selects_member,
    ),
    (
        "exit_rule_not_equal_selects_others",
        filter::exit_rule_not_equal_selects_others,
    ),
    (
        "exit_rule_unset_selects_non_members",
        filter::exit_rule_unset_selects_non_members,
    ),
    (
        "exclude_rule_drops_member_records",
        filter::exclude_rule_drops_member_records,
    ),
    (
        "exclude_rule_delete_restores",
        filter::exclude_rule_delete_restores,
    ),
    (
        "user_rule_drops_member_messages",
        filter::user_rule_drops_member_messages,
    ),
    (
        "rule_for_unused_id_matches_later",
        filter::rule_for_unused_id_matches_later,
    ),
    ("list_rules_roundtrip", filter::list_rules_roundtrip),
    ("rule_other_ops_einval", filter::rule_other_ops_einval),
    ("rule_other_lists_einval", filter::rule_other_lists_einval),
    ("rule_bad_length_einval", filter::rule_bad_length_einval),
    ("rule_delete_twice_enoent", filter::rule_delete_twice_enoent),
    ("tool_run_exit_status", tool::tool_run_exit_status),
    ("tool_run_namespaces", tool::tool_run_namespaces),
    (
        "tool_run_user_time_namespaces",
        tool::tool_run_user_time_namespaces,
    ),
    ("tool_set_get_errors", tool::tool_set_get_errors),
    ("tool_rule_add_list_del", tool::tool_rule_add_list_del),
    ("tool_watch", tool::tool_watch),
    ("tool_help", tool::tool_help),
    ("nest_run_orchestrator", nesting::nest_run_orchestrator),
    ("nest_inner_errors", nesting::nest_inner_errors),
    ("nest_quota_read", nesting::nest_quota_read),
    ("nest_depth_emlink", nesting::nest_depth_emlink),
    (
        "nest_delegate_quota_tool",
        nesting::nest_delegate_quota_tool,
    ),
];

const USAGE: &str = "\
usage: contid-tests [--list] [NAME...]

Runs the audit container ID integration suite (KTAP on standard output)
and exits 0 when every test passed or was skipped, 1 otherwise, 4 when it
cannot run here. NAME selects the tests whose name contains it.
It changes the audit configuration: it runs only in the test VM.";

/// Prints a diagnostic line now.
pub fn note(text: &str) {
    emit(&[diag(text)]);
}

fn selected(filters: &[String]) -> Vec<&'static Test> {
    TESTS
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect()
}

fn rule_texts(rules: &[audit_contid::rule::Rule]) -> Vec<String> {
    rules.iter().map(ToString::to_string).collect()
}

/// The orchestrator: runs the tests.
fn suite(filters: &[String]) -> i32 {
    let daemon = match std::env::var("CONTID_TESTS_DAEMON") {
        Ok(v) => v
            .parse::<u32>()
            .map_err(|_| v.strip_prefix("none:").unwrap_or(&v).to_string()),
        Err(_) => Err("started without the supervisor".to_string()),
    };
    let tests = selected(filters);
    emit(&["KTAP version 1".into(), format!("1..{}", tests.len())]);
    let mut cx = match Ctx::new(daemon) {
        Ok(cx) => cx,
        Err(e) => {
            emit(&[format!("Bail out! {}", ktap::one_line(&e.to_string()))]);
            return 1;
        }
    };
    if cx.monitor.is_none() {
        note(&format!("record tests are skipped: {}", cx.no_monitor));
    }
    let mut totals = Totals::default();
    for (i, (name, test)) in tests.iter().enumerate() {
        let lost_before = cx.ctl.get_status().map(|s| s.lost).ok();
        let rules_before = cx.ctl.list_rules().map(|r| rule_texts(&r));
        let mut t = T::new(&mut cx);
        let result = test(&mut t);
        let (mut outcome, mut notes) = t.finish(result);
        let rules_after = cx.ctl.list_rules().map(|r| rule_texts(&r));
        if let (Ok(before), Ok(after)) = (&rules_before, &rules_after) {
            if before != after {
                let why = format!("the rules were {before:?} before the test, {after:?} after");
                outcome = match outcome {
                    Outcome::Fail(mut w) => {
                        w.push(why);
                        Outcome::Fail(w)
                    }
                    _ => Outcome::Fail(vec![why]),
                };
            }
            if matches!(outcome, Outcome::Fail(_)) {
                notes.push(format!("rules loaded before the test: {before:?}"));
            }
        }
        if let (Some(before), Ok(after)) = (lost_before, cx.ctl.get_status()) {
            if after.lost != before && matches!(outcome, Outcome::Pass) {
                outcome = Outcome::Fail(vec![format!(
                    "the kernel lost {} records during the test (backlog full)",
                    after.lost.wrapping_sub(before)
                )]);
            }
        }
        let mut lines = Vec::new();
        if let Outcome::Fail(why) = &outcome {
            for w in why {
                lines.push(diag(&format!("{name}: {w}")));
            }
            for n in &notes {
                lines.push(diag(n));
            }
        }
        lines.push(result_line(i + 1, name, &outcome));
        emit(&lines);
        totals.add(&outcome);
    }
    emit(&[totals.line()]);
    totals.exit_code()
}

fn poll_in(
    fds: &[std::os::fd::BorrowedFd<'_>],
    timeout: Option<Duration>,
) -> Result<Vec<bool>, Errno> {
    let ms = match timeout {
        None => PollTimeout::NONE,
        Some(t) => {
            PollTimeout::try_from(t.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX)
        }
    };
    let mut pfds: Vec<PollFd<'_>> = fds
        .iter()
        .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
        .collect();
    loop {
        match poll(&mut pfds, ms) {
            Ok(_) => break,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(pfds
        .iter()
        .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
        .collect())
}

/// The audit daemon: says `ready PID` (or `unavailable REASON`) on
/// standard output, drops the records until standard input closes, then
/// restores the audit status.
fn daemon() -> i32 {
    let fail = |e: Error| {
        println!("unavailable {e}");
        1
    };
    let mut sock = match AuditSocket::open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let orig = match sock.get_status() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if let Err(e) = sock.become_daemon() {
        println!(
            "unavailable cannot become the audit daemon (pid {} is): {e}",
            orig.pid
        );
        let _ = std::io::stdout().flush();
        // Wait for the supervisor to close standard input.
        let mut s = String::new();
        let _ = std::io::stdin().read_line(&mut s);
        return 0;
    }
    let _ = sock.set_receive_buffer(32 << 20);
    let mut s = StatusMessage::new();
    s.mask = AUDIT_STATUS_BACKLOG_LIMIT | AUDIT_STATUS_RATE_LIMIT;
    s.backlog_limit = 8192;
    s.rate_limiting = 0;
    if let Err(e) = sock.set_status(&s) {
        eprintln!("contid-tests daemon: setting the backlog limit: {e}");
    }
    println!("ready {}", std::process::id());
    let _ = std::io::stdout().flush();
    let stdin = std::io::stdin();
    loop {
        let ready = match poll_in(&[stdin.as_fd(), sock.as_fd()], None) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("contid-tests daemon: poll: {e}");
                break;
            }
        };
        if ready.first() == Some(&true) {
            let mut buf = [0u8; 64];
            match nix::unistd::read(stdin.as_fd(), &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        if ready.get(1) == Some(&true) {
            // Records, or ENOBUFS after a burst: drop them either way.
            let _ = sock.recv(Some(Duration::ZERO));
        }
    }
    let mut s = StatusMessage::new();
    s.mask = AUDIT_STATUS_PID
        | AUDIT_STATUS_ENABLED
        | AUDIT_STATUS_BACKLOG_LIMIT
        | AUDIT_STATUS_RATE_LIMIT;
    s.pid = 0;
    s.enabled = orig.enabled;
    s.backlog_limit = orig.backlog_limit;
    s.rate_limiting = orig.rate_limiting;
    match sock.set_status(&s) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("contid-tests daemon: restoring the audit status: {e}");
            1
        }
    }
}

/// Helpers that the tests execute in their children.
fn helper(args: &[String]) -> i32 {
    match args {
        [what, text] if what == "user-msg" => {
            let r =
                AuditSocket::open().and_then(|mut s| s.send_user_message(AUDIT_TRUSTED_APP, text));
            match r {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("contid-tests helper: {e}");
                    1
                }
            }
        }
        _ => {
            eprintln!("contid-tests: unknown helper {args:?}");
            2
        }
    }
}

/// Starts the daemon and the suite, and cleans up after them.
fn supervise(filters: &[String]) -> i32 {
    let exe = match std::fs::read_link("/proc/self/exe") {
        Ok(p) => p,
        Err(e) => {
            emit(&[
                "KTAP version 1".into(),
                format!("Bail out! /proc/self/exe: {e}"),
            ]);
            return 1;
        }
    };
    let mut daemon = match Command::new(&exe)
        .arg("--daemon")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(d) => d,
        Err(e) => {
            emit(&[
                "KTAP version 1".into(),
                format!("Bail out! starting the daemon: {e}"),
            ]);
            return 1;
        }
    };
    let mut answer = String::new();
    if let Some(out) = daemon.stdout.take() {
        let ready = poll_in(&[out.as_fd()], Some(Duration::from_secs(30)));
        if ready.is_ok_and(|r| r.first() == Some(&true)) {
            let _ = BufReader::new(out).read_line(&mut answer);
        }
    }
    let answer = answer.trim().to_string();
    let env = match answer.strip_prefix("ready ") {
        Some(pid) => pid.to_string(),
        None if answer.is_empty() => "none:the daemon did not answer".to_string(),
        None => format!(
            "none:{}",
            answer.strip_prefix("unavailable ").unwrap_or(&answer)
        ),
    };
    // The rules before the run, so that whatever the suite leaves behind
    // (if it crashed) can be deleted.
    let mut ctl = AuditSocket::open().ok();
    let rules_before = ctl.as_mut().and_then(|c| c.list_rules().ok());
    let limit = std::env::var("CONTID_TESTS_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(SUITE_TIMEOUT, Duration::from_secs);
    let mut code = match Command::new(&exe)
        .arg("--suite")
        .args(filters)
        .env("CONTID_TESTS_DAEMON", env)
        .stdin(Stdio::null())
        .spawn()
    {
        Ok(mut suite) => {
            let deadline = Instant::now() + limit;
            loop {
                match suite.try_wait() {
                    Ok(Some(s)) => break s.code().unwrap_or(1),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    _ => {
                        let _ = suite.kill();
                        let _ = suite.wait();
                        emit(&[format!("Bail out! the suite ran longer than {limit:?}")]);
                        break 1;
                    }
                }
            }
        }
        Err(e) => {
            emit(&[
                "KTAP version 1".into(),
                format!("Bail out! starting the suite: {e}"),
            ]);
            1
        }
    };
    if let (Some(c), Some(before)) = (ctl.as_mut(), rules_before) {
        for rule in c.list_rules().unwrap_or_default() {
            if before.contains(&rule) {
                continue;
            }
            code = 1;
            let r = c.del_rule(&rule);
            emit(&[diag(&format!(
                "deleted a rule the suite left behind: {rule} ({r:?})"
            ))]);
        }
    }
    // Closing its standard input makes the daemon restore and exit.
    drop(daemon.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(30);
    let restored = loop {
        match daemon.try_wait() {
            Ok(Some(s)) => break s.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = daemon.kill();
                let _ = daemon.wait();
                break false;
            }
        }
    };
    if !restored {
        emit(&[diag("the audit daemon did not restore the audit status")]);
        return 1;
    }
    code
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !guest::is_test_vm() {
        eprintln!(
            "contid-tests: refusing to run: {} does not exist, so this is not the project's test VM \
             (the suite changes the audit configuration)",
            guest::GUEST_MARKER
        );
        println!("KTAP version 1\n1..0 # SKIP not in the test VM");
        return ExitCode::from(4);
    }
    let code = match args.first().map(String::as_str) {
        Some("--help" | "-h") => {
            println!("{USAGE}");
            0
        }
        Some("--list") => {
            for (name, _) in TESTS {
                println!("{name}");
            }
            0
        }
        Some("--daemon") => daemon(),
        Some("--suite") => suite(&args[1..]),
        Some("--helper") => helper(&args[1..]),
        _ => supervise(&args),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_are_unique_and_ktap_safe() {
        let mut names: Vec<&str> = TESTS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len);
        for n in names {
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{n}"
            );
        }
    }

    #[test]
    fn filters_select_by_substring() {
        assert_eq!(selected(&[]).len(), TESTS.len());
        let tool = selected(&["tool_".to_string()]);
        assert!(tool.iter().all(|(n, _)| n.starts_with("tool_")));
        assert!(!tool.is_empty());
        assert!(selected(&["no-such-test".to_string()]).is_empty());
    }
}
