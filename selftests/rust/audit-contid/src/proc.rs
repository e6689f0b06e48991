//! `/proc`: the container ID file, namespaces and the identity fields that
//! audit records show.

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

/// Writes `text` to the container ID file of `pid` in one `write(2)`.
/// The error is the errno of `open(2)` or `write(2)`.
pub fn write_contid_text(pid: i32, text: &[u8]) -> std::result::Result<(), Errno> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(contid_path(pid, None))
        .map_err(|e| errno_of(&e))?;
    match f.write(text) {
        Ok(n) if n == text.len() => Ok(()),
        Ok(_) => Err(Errno::EIO),
        Err(e) => Err(errno_of(&e)),
    }
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
    }
}
