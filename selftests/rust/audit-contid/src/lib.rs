//! Audit container IDs from user space: an audit netlink client (status,
//! rules with the `AUDIT_CONTID` field, records), a record parser, the
//! `/proc/PID/audit_containerid` and `/proc/PID/audit_containerid_quota`
//! interfaces and an orchestrator's paused child.
//!
//! The kernel side is the "audit container IDs" series; its contract is
//! `SEMANTICS.md` and its documentation
//! `Documentation/admin-guide/audit/audit-container.rst`.

pub mod error;
pub mod guest;
pub mod netlink;
pub mod proc;
pub mod record;
pub mod rule;
pub mod spawn;
pub mod syscalls;

pub use error::{errno_name, Errno, Error, Result};
