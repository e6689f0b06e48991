//! The error type of the crate.

use std::fmt;

pub use nix::errno::Errno;

/// Everything that can go wrong: a system call, a refusal by the kernel, a
/// message that makes no sense, a timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A system call failed; `what` says which one and on what.
    Sys {
        /// What was attempted.
        what: String,
        /// The error number.
        errno: Errno,
    },
    /// The kernel answered a netlink request with an error.
    Kernel {
        /// The request.
        what: String,
        /// The error number the kernel gave.
        errno: Errno,
    },
    /// A message from the kernel that does not have the expected form.
    Protocol(String),
    /// Nothing came in time.
    Timeout(String),
    /// Bad input from the user (command line, rule text).
    Usage(String),
}

impl Error {
    /// A failed system call.
    pub fn sys(what: impl Into<String>, errno: Errno) -> Self {
        Error::Sys {
            what: what.into(),
            errno,
        }
    }

    /// A failed system call, from an `std::io::Error`.
    pub fn io(what: impl Into<String>, err: &std::io::Error) -> Self {
        let errno = err.raw_os_error().map_or(Errno::EIO, Errno::from_raw);
        Error::sys(what, errno)
    }

    /// The error number, when there is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Sys { errno, .. } | Error::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// `EINVAL (Invalid argument)`: the symbolic name, then the description.
pub fn errno_name(errno: Errno) -> String {
    if errno == Errno::UnknownErrno {
        return "unknown error".to_string();
    }
    format!("{errno:?} ({})", errno.desc())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sys { what, errno } => write!(f, "{what}: {}", errno_name(*errno)),
            Error::Kernel { what, errno } => {
                write!(f, "{what}: the kernel said {}", errno_name(*errno))
            }
            Error::Protocol(s) => write!(f, "unexpected message from the kernel: {s}"),
            Error::Timeout(s) => write!(f, "timed out: {s}"),
            Error::Usage(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_are_symbolic() {
        assert_eq!(errno_name(Errno::EINVAL), "EINVAL (Invalid argument)");
        assert!(errno_name(Errno::ESRCH).starts_with("ESRCH ("));
        assert!(errno_name(Errno::EPERM).starts_with("EPERM ("));
        assert!(errno_name(Errno::ENOENT).starts_with("ENOENT ("));
        // The refusals of nesting: a foreign live ID, a full quota, too deep.
        assert!(errno_name(Errno::EEXIST).starts_with("EEXIST ("));
        assert!(errno_name(Errno::EDQUOT).starts_with("EDQUOT ("));
        assert!(errno_name(Errno::EMLINK).starts_with("EMLINK ("));
    }

    #[test]
    fn error_display_names_the_errno() {
        let e = Error::Kernel {
            what: "AUDIT_ADD_RULE".into(),
            errno: Errno::EINVAL,
        };
        assert_eq!(
            e.to_string(),
            "AUDIT_ADD_RULE: the kernel said EINVAL (Invalid argument)"
        );
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        let io = std::io::Error::from_raw_os_error(libc::ESRCH);
        assert_eq!(Error::io("write", &io).errno(), Some(Errno::ESRCH));
        let io = std::io::Error::from_raw_os_error(libc::EDQUOT);
        let e = Error::io("writing /proc/5/audit_containerid", &io);
        assert_eq!(e.errno(), Some(Errno::EDQUOT));
        assert!(e
            .to_string()
            .starts_with("writing /proc/5/audit_containerid: EDQUOT ("));
    }
}
