//! What every test uses: the context (audit sockets, paths, fresh IDs), the
//! per-test state with its checks and cleanup, the record monitor with its
//! barriers, and a bounded command runner.

use std::collections::{BTreeSet, VecDeque};
use std::io::Read;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use audit_contid::netlink::{AuditSocket, Message};
use audit_contid::record::{
    contid_chain_text, type_label, Record, AUDIT_CONTAINER_INFO, AUDIT_EOE, AUDIT_PROCTITLE,
    AUDIT_SYSCALL, AUDIT_TRUSTED_APP,
};
use audit_contid::rule::Rule;
use audit_contid::spawn::{ExitStatus, NsSet, Paused, Program};
use audit_contid::{Errno, Error};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// How long a child may take to run.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a barrier message may take to come back.
pub const BARRIER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a command of the `contid` tool may take.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a test stopped early.
#[derive(Debug)]
pub enum Stop {
    /// The test cannot run here.
    Skip(String),
    /// Something needed for the test failed.
    Error(String),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Error(e.to_string())
    }
}

/// What a test returns.
pub type R = Result<(), Stop>;

/// A window of records, between two barriers, in the order they came.
#[derive(Debug, Default)]
pub struct Window {
    /// The records.
    pub recs: Vec<Record>,
}

impl Window {
    /// The records, for a failure report.
    pub fn dump(&self) -> Vec<String> {
        self.recs
            .iter()
            .enumerate()
            .map(|(i, r)| format!("  [{i}] {r}"))
            .collect()
    }

    /// The indexes of the records that `pred` accepts.
    pub fn find(&self, pred: impl Fn(&Record) -> bool) -> Vec<usize> {
        (0..self.recs.len())
            .filter(|&i| pred(&self.recs[i]))
            .collect()
    }

    /// The indexes of the records of `rtype`.
    pub fn of_type(&self, rtype: u16) -> Vec<usize> {
        self.find(|r| r.rtype == rtype)
    }

    /// The indexes of the records of the event `serial`.
    pub fn group(&self, serial: u64) -> Vec<usize> {
        self.find(|r| r.serial() == Some(serial))
    }

    /// The serial numbers of the window.
    pub fn serials(&self) -> BTreeSet<u64> {
        self.recs.iter().filter_map(Record::serial).collect()
    }

    /// The indexes of the `SYSCALL` records of `nr` by `pid`.
    pub fn syscalls(&self, nr: u32, pid: i32) -> Vec<usize> {
        self.find(|r| {
            r.rtype == AUDIT_SYSCALL
                && r.get_u64("syscall") == Some(u64::from(nr))
                && r.get_i64("pid") == Some(i64::from(pid))
        })
    }

    /// The indexes of the user messages whose text is `text`.
    pub fn user_messages(&self, text: &str) -> Vec<usize> {
        self.find(|r| r.is_user_message() && r.get("msg") == Some(text))
    }
}

/// Reads every record from the read-only multicast group; barriers (a user
/// message the suite sends and waits for) delimit what a test caused.
pub struct Monitor {
    sock: AuditSocket,
    ctl: AuditSocket,
    pending: VecDeque<Record>,
    count: u32,
}

impl Monitor {
    /// Subscribes to the records.
    pub fn open() -> Result<Monitor, Error> {
        let sock = AuditSocket::open_readlog()?;
        sock.set_receive_buffer(32 << 20)?;
        Ok(Monitor {
            sock,
            ctl: AuditSocket::open()?,
            pending: VecDeque::new(),
            count: 0,
        })
    }

    /// Sends a barrier and returns every record that came before it.
    pub fn barrier(&mut self) -> Result<Vec<Record>, Error> {
        self.count += 1;
        let text = format!("contid-tests barrier {}-{}", std::process::id(), self.count);
        self.ctl.send_user_message(AUDIT_TRUSTED_APP, &text)?;
        let deadline = Instant::now() + BARRIER_TIMEOUT;
        let mut got = Vec::new();
        loop {
            while let Some(r) = self.pending.pop_front() {
                if r.rtype == AUDIT_TRUSTED_APP && r.get("msg") == Some(text.as_str()) {
                    return Ok(got);
                }
                got.push(r);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let msgs = self.sock.recv(Some(left))?.ok_or_else(|| {
                Error::Timeout(format!(
                    "barrier {text:?} did not come back ({} records before)",
                    got.len()
                ))
            })?;
            for m in msgs {
                if let Message::Record(r) = m {
                    self.pending.push_back(r);
                }
            }
        }
    }
}

/// What the whole run shares.
pub struct Ctx {
    /// The request socket.
    pub ctl: AuditSocket,
    /// The record monitor, when the suite could become the audit daemon.
    pub monitor: Option<Monitor>,
    /// Why there is no monitor.
    pub no_monitor: String,
    /// The pid of the suite's audit daemon process.
    pub daemon_pid: Option<u32>,
    /// This process.
    pub me: i32,
    /// This program.
    pub self_exe: PathBuf,
    /// The `contid` tool, next to this program.
    pub tool: PathBuf,
    next_contid: u64,
}

impl Ctx {
    /// Sets up the sockets.
    pub fn new(daemon: Result<u32, String>) -> Result<Ctx, Error> {
        let self_exe =
            std::fs::read_link("/proc/self/exe").map_err(|e| Error::io("/proc/self/exe", &e))?;
        let tool = self_exe.with_file_name("contid");
        let (monitor, no_monitor, daemon_pid) = match daemon {
            Ok(pid) => (Some(Monitor::open()?), String::new(), Some(pid)),
            Err(why) => (None, why, None),
        };
        let me = std::process::id() as i32;
        Ok(Ctx {
            ctl: AuditSocket::open()?,
            monitor,
            no_monitor,
            daemon_pid,
            me,
            self_exe,
            tool,
            // Decimal-friendly IDs that differ between runs.
            next_contid: (me as u64) * 1_000_000 + 1000,
        })
    }
}

/// The state of one test: its checks and what to clean up.
pub struct T<'a> {
    /// The run's context.
    pub cx: &'a mut Ctx,
    failures: Vec<String>,
    rules: Vec<Rule>,
    windows: Vec<Vec<String>>,
}

impl<'a> T<'a> {
    /// A fresh test.
    pub fn new(cx: &'a mut Ctx) -> T<'a> {
        T {
            cx,
            failures: Vec::new(),
            rules: Vec::new(),
            windows: Vec::new(),
        }
    }

    /// Records a failure unless `ok`; returns `ok`.
    pub fn check(&mut self, ok: bool, msg: impl FnOnce() -> String) -> bool {
        if !ok {
            self.failures.push(msg());
        }
        ok
    }

    /// Records a failure.
    pub fn fail(&mut self, msg: impl Into<String>) {
        self.failures.push(msg.into());
    }

    /// Checks `got == want`.
    pub fn eq<X: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: X, want: X) -> bool {
        self.check(got == want, || {
            format!("{what}: got {got:?}, want {want:?}")
        })
    }

    /// A container ID no other test uses.
    pub fn contid(&mut self) -> u64 {
        self.cx.next_contid += 1;
        self.cx.next_contid
    }

    /// Adds a rule, deleted again when the test ends.
    pub fn add_rule(&mut self, rule: &Rule) -> Result<(), Error> {
        self.cx.ctl.add_rule(rule)?;
        self.rules.push(rule.clone());
        Ok(())
    }

    /// Deletes a rule that [`T::add_rule`] added.
    pub fn del_rule(&mut self, rule: &Rule) -> Result<(), Error> {
        self.cx.ctl.del_rule(rule)?;
        if let Some(i) = self.rules.iter().position(|r| r == rule) {
            self.rules.remove(i);
        }
        Ok(())
    }

    /// The monitor, or a skip when the suite is not the audit daemon.
    pub fn monitor(&mut self) -> Result<&mut Monitor, Stop> {
        let why = self.cx.no_monitor.clone();
        self.cx
            .monitor
            .as_mut()
            .ok_or_else(|| Stop::Skip(format!("no record monitor: {why}")))
    }

    /// Starts a window: forgets every record so far.
    pub fn start(&mut self) -> R {
        self.monitor()?.barrier()?;
        Ok(())
    }

    /// Ends a window: the records since [`T::start`].
    pub fn collect(&mut self) -> Result<Window, Stop> {
        let recs = self.monitor()?.barrier()?;
        let w = Window { recs };
        self.windows.push(w.dump());
        Ok(w)
    }

    /// Creates a paused child in `ns`, registers it with `contid` (if
    /// any), lets it run `program` and reaps it. Returns its pid and exit
    /// status.
    pub fn run_child(
        &mut self,
        ns: NsSet,
        contid: Option<u64>,
        program: &Program,
    ) -> Result<(i32, ExitStatus), Stop> {
        let mut child = Paused::spawn(ns, program)?;
        if let Some(id) = contid {
            child.register(id).map_err(|e| {
                Stop::Error(format!(
                    "registering child {} with {id}: {}",
                    child.pid(),
                    audit_contid::errno_name(e)
                ))
            })?;
        }
        child.release()?;
        let status = child.wait(Some(CHILD_TIMEOUT))?;
        Ok((child.pid(), status))
    }

    /// A program that sends the user message `text` and exits.
    pub fn user_message_program(&self, text: &str) -> Result<Program, Error> {
        Program::exec(&[
            self.cx.self_exe.as_os_str(),
            "--helper".as_ref(),
            "user-msg".as_ref(),
            text.as_ref(),
        ])
    }

    /// Runs the `contid` tool.
    pub fn tool(&mut self, args: &[&str]) -> Result<CmdOutput, Stop> {
        let tool = self.cx.tool.clone();
        run_cmd(&tool, args, CMD_TIMEOUT)
    }

    /// Ends the test: deletes its rules and says how it went.
    pub fn finish(mut self, result: R) -> (crate::ktap::Outcome, Vec<String>) {
        use crate::ktap::Outcome;
        let mut notes = Vec::new();
        for rule in std::mem::take(&mut self.rules) {
            match self.cx.ctl.del_rule(&rule) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(Errno::ENOENT) => {}
                Err(e) => self
                    .failures
                    .push(format!("cleanup: deleting rule {rule}: {e}")),
            }
        }
        let outcome = match result {
            Err(Stop::Skip(why)) if self.failures.is_empty() => Outcome::Skip(why),
            Err(Stop::Skip(why)) => {
                self.failures.push(format!("then skipped: {why}"));
                Outcome::Fail(self.failures.clone())
            }
            Err(Stop::Error(e)) => {
                self.failures.push(format!("error: {e}"));
                Outcome::Fail(self.failures.clone())
            }
            Ok(()) if self.failures.is_empty() => Outcome::Pass,
            Ok(()) => Outcome::Fail(self.failures.clone()),
        };
        if matches!(outcome, Outcome::Fail(_)) {
            for (i, w) in self.windows.iter().enumerate() {
                notes.push(format!("records of window {} ({}):", i + 1, w.len()));
                notes.extend(w.iter().cloned());
            }
        }
        (outcome, notes)
    }
}

/// How a value of a record is to be compared.
#[derive(Debug, Clone)]
pub enum V {
    /// The value as written (numbers, `0:4`, `-1`).
    Raw(String),
    /// A string, quoted or hex-encoded.
    Str(String),
    /// Any value.
    Any,
}

/// `V::Raw` of anything printable.
pub fn raw(v: impl std::fmt::Display) -> V {
    V::Raw(v.to_string())
}

/// Checks that `rec` has exactly the fields `want`, in this order, with
/// these values; the keys of `optional` may appear anywhere and are not
/// compared. Returns what is wrong.
pub fn fields_exact(rec: &Record, want: &[(&str, V)], optional: &[&str]) -> Vec<String> {
    let mut errs = Vec::new();
    let got: Vec<&audit_contid::record::Field> = rec
        .fields
        .iter()
        .filter(|f| !optional.contains(&f.key.as_str()))
        .collect();
    let got_keys: Vec<&str> = got.iter().map(|f| f.key.as_str()).collect();
    let want_keys: Vec<&str> = want.iter().map(|(k, _)| *k).collect();
    if got_keys != want_keys {
        errs.push(format!(
            "{} fields are {got_keys:?}, want {want_keys:?}",
            type_label(rec.rtype)
        ));
        return errs;
    }
    for (f, (k, v)) in got.iter().zip(want) {
        let ok = match v {
            V::Any => true,
            V::Raw(s) => f.value == *s,
            V::Str(s) => f.text().as_deref() == Some(s.as_str()),
        };
        if !ok {
            errs.push(format!(
                "{} {k}={} (as written: {:?}), want {v:?}",
                type_label(rec.rtype),
                f.text().unwrap_or_default(),
                f.value
            ));
        }
    }
    errs
}

/// What a syscall event must look like.
pub struct SyscallEvent<'a> {
    /// What the event is, for messages.
    pub what: &'a str,
    /// The system call number.
    pub nr: u32,
    /// The process.
    pub pid: i32,
    /// The return value, if known.
    pub exit: Option<i64>,
    /// Record types that may appear besides SYSCALL, PROCTITLE and EOE
    /// (and CONTAINER_INFO, which `info` governs).
    pub aux: &'a [u16],
    /// Records logged during the call (by index in the window): they come
    /// before the SYSCALL record.
    pub during: &'a [usize],
    /// The contid that its `AUDIT_CONTAINER_INFO` must name, or `None` for
    /// a process in no container (no such record).
    pub info: Option<u64>,
}

/// Checks that the event `serial` of `w` is the syscall event `e`:
/// exactly one SYSCALL record of that call, only the allowed record
/// types, the records of `during` before the SYSCALL record, the container
/// record right before the EOE that ends it.
pub fn check_syscall_event(t: &mut T<'_>, w: &Window, serial: u64, e: &SyscallEvent<'_>) {
    check_syscall_event_chain(t, w, serial, e, &[]);
}

/// The fields of the `AUDIT_CONTAINER_INFO` of a member of `contid`, whose
/// chain of containers is `chain` (innermost first; empty, or `[contid]`
/// alone, for a container that is not nested: no `contid-chain=`).
pub fn info_fields(contid: u64, chain: &[u64]) -> Vec<(&'static str, V)> {
    let mut want = vec![("contid", raw(contid))];
    if chain.len() > 1 {
        want.push(("contid-chain", raw(contid_chain_text(chain))));
    }
    want
}

/// [`check_syscall_event`] of a member of a nested container: its
/// `AUDIT_CONTAINER_INFO` also has `contid-chain=` with the IDs of `chain`.
pub fn check_syscall_event_chain(
    t: &mut T<'_>,
    w: &Window,
    serial: u64,
    e: &SyscallEvent<'_>,
    chain: &[u64],
) {
    let g = w.group(serial);
    let what = e.what;
    let sys: Vec<usize> = g
        .iter()
        .copied()
        .filter(|&i| w.recs[i].rtype == AUDIT_SYSCALL)
        .collect();
    if !t.check(sys.len() == 1, || {
        format!(
            "{what}: event {serial} has {} SYSCALL records, want 1",
            sys.len()
        )
    }) {
        return;
    }
    let s = &w.recs[sys[0]];
    t.eq(
        &format!("{what}: SYSCALL syscall="),
        s.get_u64("syscall"),
        Some(u64::from(e.nr)),
    );
    t.eq(
        &format!("{what}: SYSCALL pid="),
        s.get_i64("pid"),
        Some(i64::from(e.pid)),
    );
    t.eq(
        &format!("{what}: SYSCALL success="),
        s.get("success"),
        Some("yes"),
    );
    if let Some(exit) = e.exit {
        t.eq(
            &format!("{what}: SYSCALL exit="),
            s.get_i64("exit"),
            Some(exit),
        );
    }
    for &i in e.during {
        t.check(g.contains(&i) && i < sys[0], || {
            format!("{what}: record [{i}] is not part of event {serial} before its SYSCALL record")
        });
    }
    for &i in &g {
        let rt = w.recs[i].rtype;
        let allowed = [
            AUDIT_SYSCALL,
            AUDIT_PROCTITLE,
            AUDIT_EOE,
            AUDIT_CONTAINER_INFO,
        ]
        .contains(&rt)
            || e.aux.contains(&rt)
            || e.during.contains(&i);
        t.check(allowed, || {
            format!(
                "{what}: unexpected record [{i}] {} in event {serial}",
                type_label(rt)
            )
        });
    }
    let last = g.last().copied();
    t.check(last.is_some_and(|i| w.recs[i].rtype == AUDIT_EOE), || {
        format!("{what}: event {serial} does not end with EOE")
    });
    t.check(
        g.iter().filter(|&&i| w.recs[i].rtype == AUDIT_EOE).count() == 1,
        || format!("{what}: event {serial} has more than one EOE"),
    );
    let infos: Vec<usize> = g
        .iter()
        .copied()
        .filter(|&i| w.recs[i].rtype == AUDIT_CONTAINER_INFO)
        .collect();
    match e.info {
        None => {
            t.check(infos.is_empty(), || {
                format!("{what}: a process in no container got CONTAINER_INFO in event {serial}")
            });
        }
        Some(c) => {
            if t.check(infos.len() == 1, || {
                format!(
                    "{what}: event {serial} has {} CONTAINER_INFO records, want 1",
                    infos.len()
                )
            }) {
                let r = &w.recs[infos[0]];
                let errs = fields_exact(r, &info_fields(c, chain), &[]);
                for err in errs {
                    t.fail(format!("{what}: {err}"));
                }
                let pos = g.iter().position(|&i| i == infos[0]).unwrap_or(0);
                t.check(pos + 2 == g.len(), || {
                    format!("{what}: CONTAINER_INFO is not the last record before EOE")
                });
                t.check(infos[0] > sys[0], || {
                    format!("{what}: CONTAINER_INFO comes before the SYSCALL record")
                });
            }
        }
    }
}

/// What a command printed and how it ended.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// Its pid.
    pub pid: u32,
    /// Exit code, or 128 + signal.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CmdOutput {
    /// For failure messages.
    pub fn describe(&self) -> String {
        format!(
            "exit {}, stdout {:?}, stderr {:?}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `prog args...` with a time limit, collecting its output.
pub fn run_cmd(
    prog: &std::path::Path,
    args: &[&str],
    timeout: Duration,
) -> Result<CmdOutput, Stop> {
    use std::os::unix::process::ExitStatusExt;
    let what = format!("{} {}", prog.display(), args.join(" "));
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Stop::Error(format!("running {what}: {e}")))?;
    let pid = child.id();
    let deadline = Instant::now() + timeout;
    let as_file = |fd: Option<std::os::fd::OwnedFd>| fd.map(std::fs::File::from);
    let mut out = as_file(child.stdout.take().map(Into::into));
    let mut err = as_file(child.stderr.take().map(Into::into));
    let (mut obuf, mut ebuf) = (Vec::new(), Vec::new());
    while out.is_some() || err.is_some() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Stop::Error(format!(
                "{what}: still running after {timeout:?}"
            )));
        }
        let ms =
            PollTimeout::try_from(left.as_millis().min(1000) as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = Vec::new();
        if let Some(o) = &out {
            fds.push(PollFd::new(o.as_fd(), PollFlags::POLLIN));
        }
        if let Some(e) = &err {
            fds.push(PollFd::new(e.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, ms) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Stop::Error(format!("poll: {e}"))),
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.any().unwrap_or(true)).collect();
        drop(fds);
        let mut k = 0;
        for (pipe, buf) in [(&mut out, &mut obuf), (&mut err, &mut ebuf)] {
            if pipe.is_none() {
                continue;
            }
            let is_ready = ready.get(k).copied().unwrap_or(false);
            k += 1;
            if !is_ready {
                continue;
            }
            let mut chunk = [0u8; 4096];
            let n = match pipe.as_mut() {
                Some(p) => p.read(&mut chunk).unwrap_or(0),
                None => 0,
            };
            if n == 0 {
                *pipe = None;
            } else {
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
    let status = loop {
        if let Some(s) = child
            .try_wait()
            .map_err(|e| Stop::Error(format!("waiting for {what}: {e}")))?
        {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Stop::Error(format!(
                "{what}: still running after {timeout:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(CmdOutput {
        pid,
        code,
        stdout: String::from_utf8_lossy(&obuf).into_owned(),
        stderr: String::from_utf8_lossy(&ebuf).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_contid::record::AUDIT_CONTAINER;

    #[test]
    fn exact_fields() {
        let r = Record::parse(
            AUDIT_CONTAINER,
            "audit(1.000:2): op=set opid=5 subj=x comm=\"sh\" exe=2F62696E2F7368",
        );
        let want = [
            ("op", raw("set")),
            ("opid", raw(5)),
            ("comm", V::Str("sh".into())),
            ("exe", V::Str("/bin/sh".into())),
        ];
        assert!(fields_exact(&r, &want, &["subj"]).is_empty());
        assert_eq!(fields_exact(&r, &want, &[]).len(), 1);
        let wrong = [
            ("op", raw("move")),
            ("opid", V::Any),
            ("comm", V::Str("sh".into())),
            ("exe", V::Str("/bin/sh".into())),
        ];
        assert_eq!(fields_exact(&r, &wrong, &["subj"]).len(), 1);
    }

    #[test]
    fn info_fields_of_nested_members() {
        let top = Record::parse(AUDIT_CONTAINER_INFO, "audit(1.000:2): contid=42");
        assert!(fields_exact(&top, &info_fields(42, &[]), &[]).is_empty());
        assert!(fields_exact(&top, &info_fields(42, &[42]), &[]).is_empty());
        let nested = Record::parse(
            AUDIT_CONTAINER_INFO,
            "audit(1.000:2): contid=300 contid-chain=300,200,100",
        );
        assert!(fields_exact(&nested, &info_fields(300, &[300, 200, 100]), &[]).is_empty());
        // A chain that is missing, or another one, is wrong.
        assert_eq!(fields_exact(&nested, &info_fields(300, &[]), &[]).len(), 1);
        assert_eq!(
            fields_exact(&nested, &info_fields(300, &[300, 100]), &[]).len(),
            1
        );
        assert_eq!(fields_exact(&top, &info_fields(42, &[42, 7]), &[]).len(), 1);
    }

    #[test]
    fn window_queries() {
        let w = Window {
            recs: vec![
                Record::parse(1341, "audit(1.000:7): op=clone nstype=net"),
                Record::parse(
                    1300,
                    "audit(1.000:7): arch=c000003e syscall=435 success=yes exit=9 pid=4",
                ),
                Record::parse(1320, "audit(1.000:7): "),
                Record::parse(1121, "audit(1.000:8): pid=4 msg='hi there'"),
                Record::parse(1340, "audit(1.000:8): contid=3"),
            ],
        };
        assert_eq!(w.group(7), vec![0, 1, 2]);
        assert_eq!(w.syscalls(435, 4), vec![1]);
        assert_eq!(w.user_messages("hi there"), vec![3]);
        assert_eq!(w.serials().len(), 2);
    }
}
