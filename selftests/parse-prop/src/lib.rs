// SPDX-License-Identifier: GPL-2.0
//! Host build of the kernel's parser of `/proc/PID/audit_containerid` writes.
//!
//! `parse` is the kernel file itself, compiled unchanged: the `#[path]` below
//! names it in the kernel tree (`linux/`, made by `make kernel`), and the
//! `kernel` crate it imports is the shim in `kernel-shim/`. There is no copy
//! that could drift from the kernel.

// The kernel file's items are `pub(crate)`, so the tests live in this crate
// (`src/prop.rs`) rather than in `tests/`.
#[allow(dead_code)]
#[rustfmt::skip]
#[path = "../../../linux/kernel/audit_container/parse.rs"]
mod parse;

#[cfg(test)]
mod prop;

/// The contract (`SEMANTICS.md`, "Write"), written independently of the
/// kernel's code: no arithmetic, only a comparison of decimal strings.
///
/// Accepted: one write at offset 0 of at most 21 bytes, holding a decimal
/// `u64` (leading zeros allowed) with an optional single trailing `\n`, whose
/// value is not `u64::MAX`. Returns the value, or `None` for `EINVAL`.
pub fn reference(bytes: &[u8], pos: i64) -> Option<u64> {
    const MAX_VALID: &str = "18446744073709551614"; // u64::MAX - 1
    if pos != 0 || bytes.len() > 21 {
        return None;
    }
    let body = match bytes.last() {
        Some(b'\n') => &bytes[..bytes.len() - 1],
        _ => bytes,
    };
    if body.is_empty() || !body.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let text = core::str::from_utf8(body).ok()?;
    let significant = text.trim_start_matches('0');
    let fits = significant.len() < MAX_VALID.len()
        || (significant.len() == MAX_VALID.len() && significant <= MAX_VALID);
    if !fits {
        return None;
    }
    // Only now turn the digits into a number; `fits` guarantees no overflow.
    Some(
        significant
            .bytes()
            .fold(0u64, |v, d| v * 10 + u64::from(d - b'0')),
    )
}

/// A small seeded generator (SplitMix64), so that a failure names its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// One write: mostly near-valid input, since uniformly random bytes would
    /// almost never reach the numeric checks.
    pub fn write(&mut self) -> (Vec<u8>, i64) {
        let pos = match self.below(16) {
            0 => 1,
            1 => -1,
            2 => self.next_u64() as i64,
            _ => 0,
        };
        let mut bytes: Vec<u8> = match self.below(8) {
            // Any bytes, any length 0..=32.
            0 => (0..self.below(33)).map(|_| self.next_u64() as u8).collect(),
            // Bytes from the interesting alphabet.
            1 | 2 => {
                let alphabet = b"0123456789\n\0 +-xX\t9";
                (0..self.below(25)).map(|_| self.pick(alphabet)).collect()
            }
            // A number around an edge, in decimal.
            3 | 4 => {
                let edges = [
                    0,
                    1,
                    9,
                    10,
                    u64::MAX - 1,
                    u64::MAX,
                    u64::MAX / 10,
                    u64::MAX / 10 + 1,
                ];
                let v = self
                    .pick(&edges)
                    .wrapping_add(self.below(5))
                    .wrapping_sub(2);
                v.to_string().into_bytes()
            }
            // Digits of any count (overflow, leading zeros, the 21-byte limit).
            5 => {
                let zeros = self.below(23) as usize;
                let mut s = vec![b'0'; zeros];
                s.extend(self.next_u64().to_string().bytes());
                s
            }
            6 => {
                let n = 1 + self.below(24) as usize;
                (0..n).map(|_| b'0' + self.below(10) as u8).collect()
            }
            // Any u64 in decimal.
            _ => self.next_u64().to_string().into_bytes(),
        };
        // A newline, two, or a stray byte at the end, now and then.
        match self.below(8) {
            0 | 1 => bytes.push(b'\n'),
            2 => bytes.extend_from_slice(b"\n\n"),
            3 => bytes.push(self.next_u64() as u8),
            4 if !bytes.is_empty() => {
                let i = self.below(bytes.len() as u64) as usize;
                bytes[i] = self.next_u64() as u8;
            }
            _ => {}
        }
        (bytes, pos)
    }
}
