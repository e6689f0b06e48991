//! The guard that keeps the programs off machines other than the test VM.
//!
//! The programs change the audit configuration (rules, the audit daemon,
//! the enabled flag) and register containers, so they run only in the
//! project's guest image, which has the marker file below.

use std::path::Path;

/// The file that only the project's test VM image has.
pub const GUEST_MARKER: &str = "/ac/bin/run-selftests";

/// Whether `marker` exists, i.e. whether this is the test VM.
pub fn is_test_vm_at(marker: &Path) -> bool {
    marker.exists()
}

/// Whether this is the project's test VM.
pub fn is_test_vm() -> bool {
    is_test_vm_at(Path::new(GUEST_MARKER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_needs_the_marker() {
        assert!(!is_test_vm_at(Path::new(
            "/nonexistent/ac/bin/run-selftests"
        )));
        // Any existing file counts as the marker.
        assert!(is_test_vm_at(Path::new("/")));
    }
}
