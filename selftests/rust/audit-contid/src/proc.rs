//! `/proc`: the container ID file, the quota file of nesting, namespaces and
//! the identity fields that audit records show.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;

use nix::errno::Errno;

use crate::error::{Error, Result};

/// The container ID file of `pid` (or of its thread `tid`).
pub fn contid_path(pid: i32, tid: Option<i32>) -> String {
    match tid {
        Some(tid) => format!("/proc/{pid}/task/{tid}/audit_containerid"),
        None => format!("/proc/{pid}/audit_containerid"),
    }
}

fn errno_of(e: &std::io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

/// Writes `text` to `path` in one `write(2)`, from a file this process
/// opened itself (the kernel refuses a delegate's write through a file that
/// another process opened). The error is the errno of `open(2)` or
/// `write(2)`.
fn write_text(path: &str, text: &[u8]) -> std::result::Result<(), Errno> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| errno_of(&e))?;
    match f.write(text) {
        Ok(n) if n == text.len() => Ok(()),
        Ok(_) => Err(Errno::EIO),
        Err(e) => Err(errno_of(&e)),
    }
}

/// Writes `text` to the container ID file of `pid` in one `write(2)`.
/// The error is the errno of `open(2)` or `write(2)`.
pub fn write_contid_text(pid: i32, text: &[u8]) -> std::result::Result<(), Errno> {
    write_text(&contid_path(pid, None), text)
}

/// Registers `pid` as a member of container `contid`.
pub fn set_contid(pid: i32, contid: u64) -> std::result::Result<(), Errno> {
    write_contid_text(pid, format!("{contid}\n").as_bytes())
}

/// The text of the container ID file of `pid`.
pub fn read_contid_text(pid: i32) -> std::result::Result<String, Errno> {
    fs::read_to_string(contid_path(pid, None)).map_err(|e| errno_of(&e))
}

/// The container ID of `pid` (`u64::MAX`: in no container).
pub fn get_contid(pid: i32) -> Result<u64> {
    let text = read_contid_text(pid)
        .map_err(|e| Error::sys(format!("reading {}", contid_path(pid, None)), e))?;
    text.trim_end()
        .parse()
        .map_err(|_| Error::Protocol(format!("{} holds {text:?}", contid_path(pid, None))))
}

/// The largest quota of sub-containers (`/proc/PID/audit_containerid_quota`).
pub const QUOTA_MAX: u32 = 65536;

/// How many levels below the outermost container a container may be: the
/// outermost has depth 0, creating one at depth `MAX_DEPTH + 1` is `EMLINK`.
pub const MAX_DEPTH: usize = 8;

/// The quota file of `pid` (or of its thread `tid`).
pub fn quota_path(pid: i32, tid: Option<i32>) -> String {
    match tid {
        Some(tid) => format!("/proc/{pid}/task/{tid}/audit_containerid_quota"),
        None => format!("/proc/{pid}/audit_containerid_quota"),
    }
}

/// What `/proc/PID/audit_containerid_quota` reads: `USED LIMIT\n`.
///
/// `limit` is the number of sub-containers the process's pool (its grant)
/// may keep alive at once, `used` what is taken: live sub-containers the
/// pool created and quota carved out of it for grants. `0 0` for a process
/// without a pool or with a revoked one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quota {
    /// What is taken of the quota.
    pub used: u32,
    /// The quota.
    pub limit: u32,
}

impl Quota {
    /// Parses `USED LIMIT` with one optional trailing newline: two decimal
    /// numbers (digits only) separated by one space, `USED <= LIMIT <=
    /// QUOTA_MAX`.
    pub fn parse(text: &str) -> Result<Quota> {
        let bad = |why: &str| Error::Protocol(format!("quota {text:?}: {why}"));
        let line = text.strip_suffix('\n').unwrap_or(text);
        let (used, limit) = line
            .split_once(' ')
            .ok_or_else(|| bad("not \"USED LIMIT\""))?;
        let number = |s: &str| -> Result<u32> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&format!("{s:?} is not a decimal number")));
            }
            s.parse().map_err(|_| bad(&format!("{s} is out of range")))
        };
        let q = Quota {
            used: number(used)?,
            limit: number(limit)?,
        };
        if q.limit > QUOTA_MAX {
            return Err(bad(&format!("the limit is more than {QUOTA_MAX}")));
        }
        if q.used > q.limit {
            return Err(bad("more is used than the limit"));
        }
        Ok(q)
    }

    /// Whether the process holds an active pool (it is a delegate).
    pub fn is_delegate(self) -> bool {
        self.limit > 0
    }

    /// What is left: how many more sub-containers (or quota to carve).
    pub fn left(self) -> u32 {
        self.limit.saturating_sub(self.used)
    }
}

impl std::fmt::Display for Quota {
    /// `USED LIMIT`, as the file has it (without the newline).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.used, self.limit)
    }
}

/// Writes `text` to the quota file of `pid` in one `write(2)`. The error is
/// the errno of `open(2)` or `write(2)`.
pub fn write_quota_text(pid: i32, text: &[u8]) -> std::result::Result<(), Errno> {
    write_text(&quota_path(pid, None), text)
}

/// Grants `pid` a new pool of `quota` sub-containers (`0`: revokes its
/// pool).
pub fn set_quota(pid: i32, quota: u32) -> std::result::Result<(), Errno> {
    write_quota_text(pid, format!("{quota}\n").as_bytes())
}

/// The text of the quota file of `pid`.
pub fn read_quota_text(pid: i32) -> std::result::Result<String, Errno> {
    fs::read_to_string(quota_path(pid, None)).map_err(|e| errno_of(&e))
}

/// The quota of `pid`.
pub fn get_quota(pid: i32) -> Result<Quota> {
    let text = read_quota_text(pid)
        .map_err(|e| Error::sys(format!("reading {}", quota_path(pid, None)), e))?;
    Quota::parse(&text)
}

/// The namespace types, in the order of the `*ns=` fields of
/// `AUDIT_CONTAINER`: `(file in /proc/PID/ns, record field, nstype)`.
pub const NS_TYPES: [(&str, &str, &str); 8] = [
    ("cgroup", "cgroupns", "cgroup"),
    ("ipc", "ipcns", "ipc"),
    ("mnt", "mntns", "mnt"),
    ("net", "netns", "net"),
    ("pid", "pidns", "pid"),
    ("time", "timens", "time"),
    ("user", "userns", "user"),
    ("uts", "utsns", "uts"),
];

/// The namespaces of a process, as `/proc/PID/ns` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    /// `(nstype, inode)` in the order of [`NS_TYPES`].
    pub inodes: Vec<(&'static str, u64)>,
    /// The device of the namespace files (`nsfs`): `(major, minor)`.
    pub dev: (u64, u64),
}

impl Namespaces {
    /// The inode of namespace type `nstype` (`"net"`, ...).
    pub fn get(&self, nstype: &str) -> Option<u64> {
        self.inodes
            .iter()
            .find(|(t, _)| *t == nstype)
            .map(|&(_, i)| i)
    }
}

/// The namespaces of `pid` (`None`: the caller).
pub fn namespaces(pid: Option<i32>) -> Result<Namespaces> {
    let base = pid.map_or_else(|| "/proc/self".to_string(), |p| format!("/proc/{p}"));
    let mut inodes = Vec::new();
    let mut dev = (0, 0);
    for (file, _, nstype) in NS_TYPES {
        let path = format!("{base}/ns/{file}");
        let md = fs::metadata(&path).map_err(|e| Error::io(format!("stat {path}"), &e))?;
        inodes.push((nstype, md.ino()));
        dev = (libc::major(md.dev()) as u64, libc::minor(md.dev()) as u64);
    }
    Ok(Namespaces { inodes, dev })
}

/// The inode of `/proc/PID/ns/FILE` (e.g. `pid_for_children`).
pub fn ns_inode(pid: Option<i32>, file: &str) -> Result<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/ns/{file}"),
        None => format!("/proc/self/ns/{file}"),
    };
    fs::metadata(&path)
        .map(|m| m.ino())
        .map_err(|e| Error::io(format!("stat {path}"), &e))
}

fn read_trimmed(path: &str) -> Result<String> {
    fs::read_to_string(path)
        .map(|s| s.trim_end_matches('\n').to_string())
        .map_err(|e| Error::io(format!("reading {path}"), &e))
}

/// What audit records say about a process: `auid`, `ses`, `comm`, `exe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `/proc/PID/loginuid`.
    pub auid: String,
    /// `/proc/PID/sessionid`.
    pub ses: String,
    /// `/proc/PID/comm`.
    pub comm: String,
    /// The target of `/proc/PID/exe`.
    pub exe: String,
}

/// The identity of `pid` (`None`: the caller).
pub fn identity(pid: Option<i32>) -> Result<Identity> {
    let base = pid.map_or_else(|| "/proc/self".to_string(), |p| format!("/proc/{p}"));
    let exe_path = format!("{base}/exe");
    Ok(Identity {
        auid: read_trimmed(&format!("{base}/loginuid"))?,
        ses: read_trimmed(&format!("{base}/sessionid"))?,
        comm: read_trimmed(&format!("{base}/comm"))?,
        exe: fs::read_link(&exe_path)
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|e| Error::io(format!("readlink {exe_path}"), &e))?,
    })
}

/// The state letter of `pid` in `/proc/PID/stat` (`Z` for a zombie).
pub fn state(pid: i32) -> Result<char> {
    let stat = read_trimmed(&format!("/proc/{pid}/stat"))?;
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].trim_start().chars().next())
        .ok_or_else(|| Error::Protocol(format!("/proc/{pid}/stat: {stat}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contid_paths() {
        assert_eq!(contid_path(5, None), "/proc/5/audit_containerid");
        assert_eq!(contid_path(5, Some(6)), "/proc/5/task/6/audit_containerid");
        assert_eq!(quota_path(5, None), "/proc/5/audit_containerid_quota");
        assert_eq!(
            quota_path(5, Some(6)),
            "/proc/5/task/6/audit_containerid_quota"
        );
    }

    #[test]
    fn quota_parses_used_and_limit() {
        let q = Quota::parse("1 3\n").unwrap();
        assert_eq!(q, Quota { used: 1, limit: 3 });
        assert!(q.is_delegate());
        assert_eq!(q.left(), 2);
        assert_eq!(q.to_string(), "1 3");
        assert_eq!(Quota::parse("0 0\n").unwrap(), Quota::default());
        assert!(!Quota::default().is_delegate());
        // Without the newline too; the largest quota, all of it used.
        assert_eq!(
            Quota::parse("65536 65536").unwrap(),
            Quota {
                used: QUOTA_MAX,
                limit: QUOTA_MAX
            }
        );
    }

    #[test]
    fn quota_refuses_malformed_text() {
        for text in [
            "",
            "\n",
            "3",
            "3\n",
            "1 3 5\n",
            "1  3\n",
            " 1 3\n",
            "1 3 \n",
            "1 3\n\n",
            "1\t3\n",
            "-1 3\n",
            "+1 3\n",
            "1 x\n",
            "0x1 3\n",
            "4 3\n",
            "0 65537\n",
            "0 99999999999\n",
        ] {
            let e = Quota::parse(text).unwrap_err();
            assert!(matches!(e, Error::Protocol(_)), "{text:?}: {e:?}");
        }
    }
}
