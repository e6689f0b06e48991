// SPDX-License-Identifier: GPL-2.0
//! The few names of the kernel's `kernel` crate that
//! `kernel/audit_container/parse.rs` uses, with the same meaning, so that the
//! kernel file compiles unchanged on the host.

pub mod error {
    /// A kernel error: a positive errno, as `kernel::error::Error` wraps one.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Error(i32);

    impl Error {
        /// The negative errno, as the kernel's `Error::to_errno()` returns it.
        pub fn to_errno(self) -> i32 {
            -self.0
        }
    }

    /// `kernel::error::Result`.
    pub type Result<T = (), E = Error> = core::result::Result<T, E>;

    /// The errno constants the parser uses.
    pub mod code {
        use super::Error;
        /// Invalid argument.
        pub const EINVAL: Error = Error(22);
    }
}

/// `kernel::prelude`, as far as the parser needs it.
pub mod prelude {
    pub use crate::error::code::*;
    pub use crate::error::{Error, Result};
}
