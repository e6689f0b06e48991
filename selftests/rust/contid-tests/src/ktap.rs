//! KTAP output: `KTAP version 1`, `1..N`, `ok N name`, `not ok N name`,
//! `ok N name # SKIP reason`, diagnostics as `# ...` lines.

use std::io::Write;

/// How a test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held.
    Pass,
    /// Not run, for the reason given.
    Skip(String),
    /// At least one check failed; the reasons.
    Fail(Vec<String>),
}

/// The result line of test `n`.
pub fn result_line(n: usize, name: &str, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Pass => format!("ok {n} {name}"),
        Outcome::Skip(reason) => format!("ok {n} {name} # SKIP {}", one_line(reason)),
        Outcome::Fail(_) => format!("not ok {n} {name}"),
    }
}

/// `text` as one line (diagnostics must not break the KTAP structure).
pub fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// A diagnostic line.
pub fn diag(text: &str) -> String {
    format!("# {}", one_line(text))
}

/// Prints lines to standard output at once.
pub fn emit(lines: &[String]) {
    let mut out = std::io::stdout().lock();
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = out.flush();
}

/// The totals of a run, for the closing diagnostic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Passed tests.
    pub passed: usize,
    /// Failed tests.
    pub failed: usize,
    /// Skipped tests.
    pub skipped: usize,
}

impl Totals {
    /// Counts one outcome.
    pub fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Pass => self.passed += 1,
            Outcome::Skip(_) => self.skipped += 1,
            Outcome::Fail(_) => self.failed += 1,
        }
    }

    /// The exit status: 0 when nothing failed.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.failed > 0)
    }

    /// `# totals: N pass, N fail, N skip`, as kselftest ends.
    pub fn line(&self) -> String {
        format!(
            "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:0",
            self.passed, self.failed, self.skipped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines() {
        assert_eq!(result_line(1, "a", &Outcome::Pass), "ok 1 a");
        assert_eq!(
            result_line(2, "b", &Outcome::Skip("no\nauditd".into())),
            "ok 2 b # SKIP no auditd"
        );
        assert_eq!(
            result_line(3, "c", &Outcome::Fail(vec!["x".into()])),
            "not ok 3 c"
        );
        assert_eq!(diag("two\nlines"), "# two lines");
    }

    #[test]
    fn totals_and_exit_code() {
        let mut t = Totals::default();
        t.add(&Outcome::Pass);
        t.add(&Outcome::Skip(String::new()));
        assert_eq!(t.exit_code(), 0);
        t.add(&Outcome::Fail(vec![]));
        assert_eq!(t.exit_code(), 1);
        assert_eq!(
            t.line(),
            "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0"
        );
    }
}
