// SPDX-License-Identifier: GPL-2.0
//! The kernel's parser against the reference over many seeded random inputs.
//!
//! `PARSE_PROP_SEED` and `PARSE_PROP_CASES` override the seed and the number
//! of cases; a failure prints the seed, the case number and the input.

use crate::parse::{parse_write, ContId, MAX_WRITE};
use crate::{reference, Rng};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn check(bytes: &[u8], pos: i64) -> Result<(), String> {
    let kernel = parse_write(bytes, pos).map(ContId::get);
    let want = reference(bytes, pos);
    match (kernel, want) {
        (Ok(a), Some(b)) if a == b => Ok(()),
        (Err(e), None) if e.to_errno() == -22 => Ok(()),
        (k, w) => Err(format!(
            "input {:?} (bytes {:02x?}) at pos {}: kernel {:?}, contract {:?}",
            String::from_utf8_lossy(bytes),
            bytes,
            pos,
            k,
            w
        )),
    }
}

#[test]
fn random_writes_match_the_contract() {
    let seed = env_u64("PARSE_PROP_SEED", 0x6175_6469_7463_6964); // "auditcid"
    let cases = env_u64("PARSE_PROP_CASES", 2_000_000);
    let mut rng = Rng::new(seed);
    let (mut accepted, mut refused) = (0u64, 0u64);
    for i in 0..cases {
        let (bytes, pos) = rng.write();
        if let Err(e) = check(&bytes, pos) {
            panic!("seed {seed:#x} case {i}: {e}");
        }
        if reference(&bytes, pos).is_some() {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    eprintln!("seed {seed:#x}: {cases} cases, {accepted} accepted, {refused} refused");
    // The generator must exercise both sides, or the test proves little.
    assert!(accepted > cases / 20 && refused > cases / 20);
}

#[test]
fn every_valid_value_round_trips() {
    let mut rng = Rng::new(env_u64("PARSE_PROP_SEED", 1));
    let edges = [
        0,
        1,
        9,
        10,
        99,
        100,
        u64::MAX / 10,
        u64::MAX - 2,
        u64::MAX - 1,
    ];
    let values = edges
        .into_iter()
        .chain((0..200_000).map(|_| rng.next_u64()));
    for v in values.filter(|&v| v != u64::MAX) {
        for text in [
            format!("{v}"),
            format!("{v}\n"),
            format!("{v:0>21}"),
            format!("{v:0>20}\n"),
        ] {
            assert_eq!(
                parse_write(text.as_bytes(), 0).map(ContId::get),
                Ok(v),
                "{text:?}"
            );
        }
        assert!(parse_write(format!("{v:0>22}").as_bytes(), 0).is_err());
        assert!(parse_write(format!("{v}").as_bytes(), 1).is_err());
    }
}

#[test]
fn exhaustive_short_inputs() {
    // Every input of up to 3 bytes over an alphabet with every byte class.
    let alphabet = b"0189\n\0 +-a\xff";
    let mut inputs: Vec<Vec<u8>> = vec![vec![]];
    for _ in 0..3 {
        let last: Vec<Vec<u8>> = inputs
            .iter()
            .filter(|s| s.len() == inputs.last().unwrap().len())
            .cloned()
            .collect();
        for s in last {
            for &b in alphabet {
                let mut t = s.clone();
                t.push(b);
                inputs.push(t);
            }
        }
    }
    for s in &inputs {
        for pos in [0, 1, -1, i64::MAX, i64::MIN] {
            check(s, pos).unwrap();
        }
    }
}

#[test]
fn limits_and_unset() {
    assert_eq!(MAX_WRITE, 21);
    assert_eq!(ContId::UNSET, u64::MAX);
    assert!(ContId::new(u64::MAX).is_none());
    for (text, ok) in [
        ("18446744073709551614", true),
        ("18446744073709551615", false),
        ("18446744073709551616", false),
        ("018446744073709551614", true),
        ("018446744073709551614\n", false),
        ("000000000000000000000", true),
        ("0000000000000000000000", false),
    ] {
        check(text.as_bytes(), 0).unwrap();
        assert_eq!(reference(text.as_bytes(), 0).is_some(), ok, "{text}");
    }
}
