//! The orchestrator's paused child: `clone3()` into new namespaces, wait on
//! a pipe until released, then `execve()` the workload.
//!
//! While the child waits, the orchestrator registers its container ID (and
//! may grant it a quota of sub-containers): the child cannot be reaped, nor
//! its pid reused, before it is released, so the registration is race-free.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::{pipe2, read, write, Pid};

use crate::error::{Error, Result};

/// `CLONE_NEWTIME` (not in every libc).
pub const CLONE_NEWTIME: u64 = 0x80;

/// The namespace types a child can be created in: `(name, CLONE_* flag)`.
pub const NS_FLAGS: [(&str, u64); 8] = [
    ("mnt", libc::CLONE_NEWNS as u64),
    ("uts", libc::CLONE_NEWUTS as u64),
    ("ipc", libc::CLONE_NEWIPC as u64),
    ("net", libc::CLONE_NEWNET as u64),
    ("pid", libc::CLONE_NEWPID as u64),
    ("cgroup", libc::CLONE_NEWCGROUP as u64),
    ("time", CLONE_NEWTIME),
    ("user", libc::CLONE_NEWUSER as u64),
];

/// A set of namespace types, as `CLONE_NEW*` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NsSet(pub u64);

impl NsSet {
    /// Parses `mnt,uts,ipc,net,pid,cgroup,time,user` (any subset, any
    /// order), `all`, or `none` / the empty string.
    pub fn parse(text: &str) -> Result<NsSet> {
        let mut flags = 0;
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "none" => {}
                "all" => flags |= NS_FLAGS.iter().map(|&(_, f)| f).fold(0, |a, f| a | f),
                _ => {
                    let flag = NS_FLAGS
                        .iter()
                        .find(|&&(n, _)| n == word)
                        .map(|&(_, f)| f)
                        .ok_or_else(|| {
                            Error::Usage(format!(
                                "unknown namespace type {word:?} (known: mnt, uts, ipc, net, pid, cgroup, time, user, all, none)"
                            ))
                        })?;
                    flags |= flag;
                }
            }
        }
        Ok(NsSet(flags))
    }

    /// The namespace type names (`nstype=` of the records) in the set.
    pub fn types(self) -> Vec<&'static str> {
        NS_FLAGS
            .iter()
            .filter(|&&(_, f)| self.0 & f != 0)
            .map(|&(n, _)| n)
            .collect()
    }

    /// Whether the set has a new user namespace.
    pub fn has_user(self) -> bool {
        self.0 & libc::CLONE_NEWUSER as u64 != 0
    }
}

/// What the child does when released.
#[derive(Debug, Clone)]
pub enum Program {
    /// `execve(path, argv, envp)`.
    Exec {
        /// The file to execute.
        path: CString,
        /// The arguments, `argv[0]` first.
        argv: Vec<CString>,
        /// The environment.
        envp: Vec<CString>,
    },
    /// `_exit(code)` without executing anything.
    Exit(i32),
}

fn cstring(s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| Error::Usage(format!("{:?} holds a NUL byte", s.to_string_lossy())))
}

impl Program {
    /// Executes `argv[0]` (looked up in `PATH` when it has no `/`) with the
    /// caller's environment.
    pub fn exec<S: AsRef<OsStr>>(argv: &[S]) -> Result<Program> {
        let first = argv
            .first()
            .ok_or_else(|| Error::Usage("no command given".into()))?
            .as_ref();
        let path = if first.as_bytes().contains(&b'/') {
            first.to_os_string()
        } else {
            let dirs = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
            std::env::split_paths(&dirs)
                .map(|d| d.join(first))
                .find(|p| p.is_file())
                .map(|p| p.into_os_string())
                .ok_or_else(|| {
                    Error::Usage(format!("{}: command not found", first.to_string_lossy()))
                })?
        };
        Ok(Program::Exec {
            path: cstring(&path)?,
            argv: argv
                .iter()
                .map(|a| cstring(a.as_ref()))
                .collect::<Result<_>>()?,
            envp: std::env::vars_os()
                .map(|(k, v)| {
                    let mut kv = k;
                    kv.push("=");
                    kv.push(v);
                    cstring(&kv)
                })
                .collect::<Result<_>>()?,
        })
    }
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by a signal.
    Signaled(i32),
}

impl ExitStatus {
    /// The status as a shell reports it: the code, or 128 + the signal.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }
}

/// The exit code of a child whose orchestrator went away before releasing
/// it.
pub const NOT_RELEASED: i32 = 125;
/// The exit code of a child whose `execve()` failed.
pub const EXEC_FAILED: i32 = 127;

/// `struct clone_args` of `clone3(2)` (version 2, 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// A child created by [`Paused::spawn`], waiting to be released.
#[derive(Debug)]
pub struct Paused {
    pid: i32,
    pidfd: OwnedFd,
    go: Option<OwnedFd>,
    exec_error: Option<OwnedFd>,
    status: Option<ExitStatus>,
}

/// The pointers the child needs, made before `clone3()` so that the child
/// does not allocate.
struct Prepared<'a> {
    program: &'a Program,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

impl<'a> Prepared<'a> {
    fn new(program: &'a Program) -> Prepared<'a> {
        let ptrs = |v: &[CString]| {
            v.iter()
                .map(|c| c.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        match program {
            Program::Exec { argv, envp, .. } => Prepared {
                program,
                argv: ptrs(argv),
                envp: ptrs(envp),
            },
            Program::Exit(_) => Prepared {
                program,
                argv: vec![],
                envp: vec![],
            },
        }
    }
}

/// The child's side: wait for the go byte, then exec or exit.
///
/// # Safety
///
/// Must only be called in the child of `clone3()` (a copy of a
/// single-threaded parent's address space), with file descriptors that are
/// open in it. It makes only async-signal-safe system calls and never
/// returns.
unsafe fn child_main(go_read: RawFd, go_write: RawFd, err_write: RawFd, p: &Prepared<'_>) -> ! {
    // SAFETY: Plain system calls on descriptors this process owns and on
    // memory that is valid in the copied address space; nothing allocates
    // and nothing takes a lock, so nothing can deadlock on the state of
    // other threads of the parent.
    unsafe {
        // Without this, the child would keep the pipe open itself and
        // never see the orchestrator go away.
        libc::close(go_write);
        // The Rust runtime ignores SIGPIPE; exec keeps ignored signals
        // ignored, so give the workload the default back (as std's Command
        // does), and an empty signal mask.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        let mut byte = 0u8;
        let n = loop {
            let n = libc::read(go_read, (&mut byte as *mut u8).cast(), 1);
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            break n;
        };
        if n != 1 {
            libc::_exit(NOT_RELEASED);
        }
        match p.program {
            Program::Exec { path, .. } => {
                libc::execve(path.as_ptr(), p.argv.as_ptr(), p.envp.as_ptr());
                let errno: i32 = *libc::__errno_location();
                libc::write(err_write, (&errno as *const i32).cast(), 4);
                libc::_exit(EXEC_FAILED)
            }
            Program::Exit(code) => libc::_exit(*code),
        }
    }
}

fn poll_in(fd: std::os::fd::BorrowedFd<'_>, timeout: Option<Duration>) -> Result<bool> {
    let ms = match timeout {
        None => PollTimeout::NONE,
        Some(t) => PollTimeout::try_from(t.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX),
    };
    loop {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(n) => return Ok(n > 0),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("poll", e)),
        }
    }
}

impl Paused {
    /// Creates a child in the new namespaces `ns` that runs `program` once
    /// released. The caller must be single-threaded.
    pub fn spawn(ns: NsSet, program: &Program) -> Result<Paused> {
        let (go_read, go_write) = pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe2", e))?;
        let (err_read, err_write) = pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe2", e))?;
        let prepared = Prepared::new(program);
        let mut pidfd: libc::c_int = -1;
        let mut args = CloneArgs {
            flags: ns.0 | libc::CLONE_PIDFD as u64,
            pidfd: (&mut pidfd as *mut libc::c_int) as u64,
            exit_signal: libc::SIGCHLD as u64,
            ..CloneArgs::default()
        };
        // SAFETY: `args` is a valid `struct clone_args` of the size passed,
        // its `pidfd` points at a live `c_int`; without CLONE_VM the child
        // runs on a copy of this stack, like after fork().
        let ret = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &mut args as *mut CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        if ret == 0 {
            // SAFETY: This is the child of clone3(); the descriptors are
            // open in it (copies of the parent's) and `prepared` lives in
            // the copied address space.
            unsafe {
                child_main(
                    go_read.as_raw_fd(),
                    go_write.as_raw_fd(),
                    err_write.as_raw_fd(),
                    &prepared,
                )
            }
        }
        if ret < 0 {
            return Err(Error::sys(
                format!("clone3(namespaces: {})", ns.types().join(",")),
                Errno::last(),
            ));
        }
        drop(go_read);
        drop(err_write);
        // SAFETY: With CLONE_PIDFD the kernel stored a new descriptor, which
        // nothing else owns, in `pidfd`.
        let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
        Ok(Paused {
            pid: ret as i32,
            pidfd,
            go: Some(go_write),
            exec_error: Some(err_read),
            status: None,
        })
    }

    /// The child's pid (in the caller's pid namespace).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Maps uid and gid 0 to 0, and the rest one to one, in the child's new
    /// user namespace, so that it runs as root there.
    pub fn map_root(&self) -> Result<()> {
        for file in ["uid_map", "gid_map"] {
            let path = format!("/proc/{}/{file}", self.pid);
            std::fs::write(&path, "0 0 4294967295\n")
                .map_err(|e| Error::io(format!("writing {path}"), &e))?;
        }
        Ok(())
    }

    /// Registers the child as a member of container `contid`.
    pub fn register(&self, contid: u64) -> std::result::Result<(), Errno> {
        crate::proc::set_contid(self.pid, contid)
    }

    /// Grants the child a quota of `quota` sub-containers (`0`: revokes
    /// its pool), once it is registered: it becomes a delegate of its
    /// container, which may register containers nested in it.
    pub fn delegate(&self, quota: u32) -> std::result::Result<(), Errno> {
        crate::proc::set_quota(self.pid, quota)
    }

    /// Lets the child go on: it executes its program. Returns once it has
    /// (or has exited), or the error of its `execve()`.
    pub fn release(&mut self) -> Result<()> {
        if let Some(go) = self.go.take() {
            write(&go, b"x").map_err(|e| Error::sys("releasing the child", e))?;
        }
        let Some(err_read) = self.exec_error.take() else {
            return Ok(());
        };
        if !poll_in(err_read.as_fd(), Some(Duration::from_secs(30)))? {
            return Err(Error::Timeout(
                "the child neither executed nor exited".into(),
            ));
        }
        let mut buf = [0u8; 4];
        match read(&err_read, &mut buf) {
            Ok(4) => Err(Error::sys(
                "execve",
                Errno::from_raw(i32::from_ne_bytes(buf)),
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(Error::sys("reading the child's exec status", e)),
        }
    }

    /// Waits for the child to end, at most `timeout` (`None`: for ever), and
    /// reaps it.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<ExitStatus> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        if !poll_in(self.pidfd.as_fd(), timeout)? {
            return Err(Error::Timeout(format!("child {} still runs", self.pid)));
        }
        let status = loop {
            match waitid(Id::PIDFd(self.pidfd.as_fd()), WaitPidFlag::WEXITED) {
                Ok(WaitStatus::Exited(_, code)) => break ExitStatus::Exited(code),
                Ok(WaitStatus::Signaled(_, sig, _)) => break ExitStatus::Signaled(sig as i32),
                Ok(other) => return Err(Error::Protocol(format!("waitid: unexpected {other:?}"))),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("waitid", e)),
            }
        };
        self.status = Some(status);
        Ok(status)
    }

    /// Kills the child (it is not reaped yet, so its pid is still its own).
    pub fn kill(&self) {
        if self.status.is_none() {
            let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
        }
    }
}

/// Ignores SIGINT and SIGQUIT, as a shell does while it waits for a job:
/// the terminal's signals are for the job. Call it after [`Paused::spawn`],
/// so that the child keeps the default dispositions.
pub fn ignore_terminal_signals() {
    use nix::sys::signal::{signal, SigHandler};
    for sig in [Signal::SIGINT, Signal::SIGQUIT] {
        // SAFETY: Installing SIG_IGN runs no code in signal context and
        // replaces no handler that this program relies on.
        let _ = unsafe { signal(sig, SigHandler::SigIgn) };
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.kill();
            let _ = self.wait(Some(Duration::from_secs(10)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_set_parsing() {
        let all = NsSet::parse("all").unwrap();
        assert_eq!(all.types().len(), 8);
        assert!(all.has_user());
        let some = NsSet::parse("net, pid,mnt").unwrap();
        assert_eq!(some.types(), vec!["mnt", "net", "pid"]);
        assert_eq!(
            some.0,
            (libc::CLONE_NEWNET | libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u64
        );
        assert_eq!(NsSet::parse("").unwrap(), NsSet(0));
        assert_eq!(NsSet::parse("none").unwrap(), NsSet(0));
        assert_eq!(NsSet::parse("time").unwrap().0, 0x80);
        assert!(NsSet::parse("network").is_err());
    }

    #[test]
    fn clone_args_is_version_2() {
        assert_eq!(std::mem::size_of::<CloneArgs>(), 88);
    }

    #[test]
    fn program_lookup() {
        assert!(Program::exec::<&str>(&[]).is_err());
        assert!(Program::exec(&["/no/such/dir/prog"]).is_ok());
        assert!(Program::exec(&["no-such-command-anywhere"]).is_err());
        assert!(Program::exec(&["a\0b"]).is_err());
        assert_eq!(ExitStatus::Signaled(9).code(), 137);
        assert_eq!(ExitStatus::Exited(3).code(), 3);
    }
}
