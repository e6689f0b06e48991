//! Audit filter rules (`struct audit_rule_data`), with the `AUDIT_CONTID`
//! field.
//!
//! # Why not `netlink_packet_audit::RuleMessage`
//!
//! `netlink-packet-audit` 0.7 models a rule field as a closed enum: numeric
//! fields carry a `u32`, thirteen known string fields carry a `String`.
//! `AUDIT_CONTID` (27) is neither: its value is an 8-byte binary buffer in
//! the rule's string area, so `RuleMessage` can neither emit it nor parse a
//! rule list that holds one (its parser fails on the unknown field and the
//! whole reply is lost). It also treats `AUDIT_EXE`, a string field, as a
//! number. This module therefore encodes and decodes rules itself, on top of
//! the crate's [`RuleBuffer`] (the byte layout of `struct audit_rule_data`)
//! and its constants. A field's value is either a number or bytes in the
//! buffer, decided by the field type as `kernel/auditfilter.c` decides it.

use std::fmt;

use netlink_packet_audit::constants::{
    AUDIT_ALWAYS, AUDIT_ARCH, AUDIT_ARCH_X86_64, AUDIT_BIT_MASK, AUDIT_BIT_TEST, AUDIT_DIR,
    AUDIT_EQUAL, AUDIT_EXE, AUDIT_FILTERKEY, AUDIT_FILTER_ENTRY, AUDIT_FILTER_EXIT,
    AUDIT_FILTER_FS, AUDIT_FILTER_TASK, AUDIT_FILTER_TYPE, AUDIT_FILTER_USER, AUDIT_FILTER_WATCH,
    AUDIT_GREATER_THAN, AUDIT_GREATER_THAN_OR_EQUAL, AUDIT_LESS_THAN, AUDIT_LESS_THAN_OR_EQUAL,
    AUDIT_MAX_FIELDS, AUDIT_NEVER, AUDIT_NOT_EQUAL, AUDIT_POSSIBLE, AUDIT_WATCH,
};
use netlink_packet_audit::RuleBuffer;

use crate::error::{Error, Result};
use crate::syscalls;

/// The container ID rule field (provisional number of the series).
pub const AUDIT_CONTID: u32 = 27;
/// The exclude list (`AUDIT_FILTER_TYPE` in older headers).
pub const AUDIT_FILTER_EXCLUDE: u32 = AUDIT_FILTER_TYPE;
/// The io_uring exit list.
pub const AUDIT_FILTER_URING_EXIT: u32 = 7;
/// Insert the rule at the head of its list.
pub const AUDIT_FILTER_PREPEND: u32 = 0x10;
/// `AUDIT_ARCH_I386` (`EM_386 | __AUDIT_ARCH_LE`).
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// Re-exported for callers that build rules.
pub use netlink_packet_audit::constants::{
    AUDIT_ALWAYS as ACTION_ALWAYS, AUDIT_ARCH as FIELD_ARCH, AUDIT_ARCH_X86_64 as ARCH_X86_64,
    AUDIT_FILTER_EXIT as LIST_EXIT, AUDIT_FILTER_FS as LIST_FS, AUDIT_FILTER_TASK as LIST_TASK,
    AUDIT_FILTER_USER as LIST_USER, AUDIT_NEVER as ACTION_NEVER,
};

/// The size of `struct audit_rule_data` without its buffer.
pub const RULE_DATA_LEN: usize = 4 * (3 + 64 + 3 * AUDIT_MAX_FIELDS + 1);
/// The number of 32-bit words of the syscall mask.
pub const MASK_WORDS: usize = 64;

/// The comparison operators of `fieldflags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `<`
    Less,
    /// `>`
    Greater,
    /// `<=`
    LessEqual,
    /// `>=`
    GreaterEqual,
    /// `&`
    BitMask,
    /// `&=`
    BitTest,
    /// Anything else.
    Raw(u32),
}

impl Op {
    /// Every operator the kernel knows, in `fieldflags` order.
    pub const ALL: [Op; 8] = [
        Op::Equal,
        Op::NotEqual,
        Op::Less,
        Op::Greater,
        Op::LessEqual,
        Op::GreaterEqual,
        Op::BitMask,
        Op::BitTest,
    ];

    /// The `fieldflags` value.
    pub fn bits(self) -> u32 {
        match self {
            Op::Equal => AUDIT_EQUAL,
            Op::NotEqual => AUDIT_NOT_EQUAL,
            Op::Less => AUDIT_LESS_THAN,
            Op::Greater => AUDIT_GREATER_THAN,
            Op::LessEqual => AUDIT_LESS_THAN_OR_EQUAL,
            Op::GreaterEqual => AUDIT_GREATER_THAN_OR_EQUAL,
            Op::BitMask => AUDIT_BIT_MASK,
            Op::BitTest => AUDIT_BIT_TEST,
            Op::Raw(bits) => bits,
        }
    }

    /// The operator of a `fieldflags` value.
    pub fn from_bits(bits: u32) -> Op {
        Op::ALL
            .into_iter()
            .find(|op| op.bits() == bits)
            .unwrap_or(Op::Raw(bits))
    }

    /// The operator as `auditctl` writes it.
    pub fn symbol(self) -> String {
        match self {
            Op::Equal => "=".into(),
            Op::NotEqual => "!=".into(),
            Op::Less => "<".into(),
            Op::Greater => ">".into(),
            Op::LessEqual => "<=".into(),
            Op::GreaterEqual => ">=".into(),
            Op::BitMask => "&".into(),
            Op::BitTest => "&=".into(),
            Op::Raw(bits) => format!("?{bits:#x}?"),
        }
    }
}

/// The value of a rule field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A number in `values[i]`.
    Num(u32),
    /// Bytes in the buffer; `values[i]` holds their length.
    Bytes(Vec<u8>),
}

/// One field (condition) of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleField {
    /// `AUDIT_*` field type.
    pub field: u32,
    /// The comparison.
    pub op: Op,
    /// The value.
    pub value: Value,
}

/// Whether the value of field type `field` lives in the rule's buffer, as
/// `audit_data_to_entry()` in `kernel/auditfilter.c` decides.
pub fn is_buffer_field(field: u32) -> bool {
    matches!(field, 13..=17 | 19..=23 | AUDIT_CONTID)
        || field == AUDIT_WATCH
        || field == AUDIT_DIR
        || field == AUDIT_EXE
        || field == AUDIT_FILTERKEY
}

/// The names of the rule fields, as `auditctl -F` knows them.
const FIELD_NAMES: &[(u32, &str)] = &[
    (0, "pid"),
    (1, "uid"),
    (2, "euid"),
    (3, "suid"),
    (4, "fsuid"),
    (5, "gid"),
    (6, "egid"),
    (7, "sgid"),
    (8, "fsgid"),
    (9, "auid"),
    (10, "pers"),
    (11, "arch"),
    (12, "msgtype"),
    (13, "subj_user"),
    (14, "subj_role"),
    (15, "subj_type"),
    (16, "subj_sen"),
    (17, "subj_clr"),
    (18, "ppid"),
    (19, "obj_user"),
    (20, "obj_role"),
    (21, "obj_type"),
    (22, "obj_lev_low"),
    (23, "obj_lev_high"),
    (24, "loginuid_set"),
    (25, "sessionid"),
    (26, "fstype"),
    (AUDIT_CONTID, "contid"),
    (100, "devmajor"),
    (101, "devminor"),
    (102, "inode"),
    (103, "exit"),
    (104, "success"),
    (105, "path"),
    (106, "perm"),
    (107, "dir"),
    (108, "filetype"),
    (109, "obj_uid"),
    (110, "obj_gid"),
    (111, "field_compare"),
    (112, "exe"),
    (113, "saddr_fam"),
    (200, "a0"),
    (201, "a1"),
    (202, "a2"),
    (203, "a3"),
    (AUDIT_FILTERKEY, "key"),
];

/// The name of a rule field type.
pub fn field_name(field: u32) -> String {
    name_in(FIELD_NAMES, field, "field")
}

/// The name of `value` in `table`, or `prefix` and the number.
fn name_in(table: &[(u32, &str)], value: u32, prefix: &str) -> String {
    table
        .iter()
        .find(|&&(v, _)| v == value)
        .map_or_else(|| format!("{prefix}{value}"), |&(_, n)| n.to_string())
}

/// The filter lists.
pub const LISTS: &[(u32, &str)] = &[
    (AUDIT_FILTER_USER, "user"),
    (AUDIT_FILTER_TASK, "task"),
    (AUDIT_FILTER_ENTRY, "entry"),
    (AUDIT_FILTER_WATCH, "watch"),
    (AUDIT_FILTER_EXIT, "exit"),
    (AUDIT_FILTER_EXCLUDE, "exclude"),
    (AUDIT_FILTER_FS, "filesystem"),
    (AUDIT_FILTER_URING_EXIT, "io_uring"),
];

/// The name of a filter list.
pub fn list_name(list: u32) -> String {
    name_in(LISTS, list, "list")
}

/// The list named `name`.
pub fn list_by_name(name: &str) -> Option<u32> {
    LISTS.iter().find(|&&(_, n)| n == name).map(|&(l, _)| l)
}

/// The name of a rule action.
pub fn action_name(action: u32) -> String {
    match action {
        AUDIT_NEVER => "never".into(),
        AUDIT_POSSIBLE => "possible".into(),
        AUDIT_ALWAYS => "always".into(),
        other => format!("action{other}"),
    }
}

/// An audit filter rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The filter list, possibly with `AUDIT_FILTER_PREPEND`.
    pub list: u32,
    /// `AUDIT_NEVER` or `AUDIT_ALWAYS`.
    pub action: u32,
    /// The syscall mask (exit list), one bit per syscall number.
    pub mask: [u32; MASK_WORDS],
    /// The conditions.
    pub fields: Vec<RuleField>,
}

impl Rule {
    /// An empty rule of `list` with `action`: no fields; on the exit lists
    /// it matches every system call until [`Rule::syscall`] narrows it (the
    /// other lists have no system calls: their mask is empty).
    pub fn new(list: u32, action: u32) -> Rule {
        let syscalls =
            [AUDIT_FILTER_EXIT, AUDIT_FILTER_URING_EXIT].contains(&(list & !AUDIT_FILTER_PREPEND));
        Rule {
            list,
            action,
            mask: [if syscalls { u32::MAX } else { 0 }; MASK_WORDS],
            fields: Vec::new(),
        }
    }

    /// Restricts the rule to the system calls `nrs` (they add up).
    pub fn syscall(mut self, nr: u32) -> Rule {
        if self.mask.iter().all(|&w| w == u32::MAX) {
            self.mask = [0; MASK_WORDS];
        }
        if let Some(word) = self.mask.get_mut((nr / 32) as usize) {
            *word |= 1 << (nr % 32);
        }
        self
    }

    /// Adds a numeric condition.
    pub fn num(mut self, field: u32, op: Op, value: u32) -> Rule {
        self.fields.push(RuleField {
            field,
            op,
            value: Value::Num(value),
        });
        self
    }

    /// Adds `arch=b64` (x86_64).
    pub fn arch_b64(self) -> Rule {
        self.num(AUDIT_ARCH, Op::Equal, AUDIT_ARCH_X86_64)
    }

    /// Adds `contid=VALUE` or `contid!=VALUE`: the contid as 8 bytes in the
    /// machine's byte order.
    pub fn contid(self, op: Op, contid: u64) -> Rule {
        self.contid_bytes(op, contid.to_ne_bytes().to_vec())
    }

    /// Adds an `AUDIT_CONTID` condition with arbitrary bytes (to test how
    /// the kernel treats a wrong length).
    pub fn contid_bytes(mut self, op: Op, bytes: Vec<u8>) -> Rule {
        self.fields.push(RuleField {
            field: AUDIT_CONTID,
            op,
            value: Value::Bytes(bytes),
        });
        self
    }

    /// Adds a filter key.
    pub fn key(mut self, key: &str) -> Rule {
        self.fields.push(RuleField {
            field: AUDIT_FILTERKEY,
            op: Op::Equal,
            value: Value::Bytes(key.as_bytes().to_vec()),
        });
        self
    }

    /// The system calls the mask selects, or `None` for all of them. The
    /// top 16 bits of the mask name syscall classes, which the kernel
    /// replaces by their members: a rule for all system calls comes back
    /// from `AUDIT_LIST_RULES` with them cleared.
    pub fn syscalls(&self) -> Option<Vec<u32>> {
        let (last, words) = self.mask.split_last()?;
        if words.iter().all(|&w| w == u32::MAX) && last & 0xffff == 0xffff {
            return None;
        }
        let mut nrs = Vec::new();
        for (i, word) in self.mask.iter().enumerate() {
            for bit in 0..32 {
                if word & (1 << bit) != 0 {
                    nrs.push(i as u32 * 32 + bit);
                }
            }
        }
        Some(nrs)
    }

    /// The contid conditions: `(op, contid)`, or `(op, None)` when the
    /// value is not 8 bytes long.
    pub fn contids(&self) -> Vec<(Op, Option<u64>)> {
        self.fields
            .iter()
            .filter(|f| f.field == AUDIT_CONTID)
            .map(|f| {
                let v = match &f.value {
                    Value::Bytes(b) => b.as_slice().try_into().ok().map(u64::from_ne_bytes),
                    Value::Num(_) => None,
                };
                (f.op, v)
            })
            .collect()
    }

    /// The rule as `struct audit_rule_data`.
    pub fn encode(&self) -> Result<Vec<u8>> {
        if self.fields.len() > AUDIT_MAX_FIELDS {
            return Err(Error::Usage(format!(
                "a rule has at most {AUDIT_MAX_FIELDS} fields"
            )));
        }
        let mut strings = Vec::new();
        for f in &self.fields {
            if let Value::Bytes(b) = &f.value {
                strings.extend_from_slice(b);
            }
        }
        let buflen = u32::try_from(strings.len())
            .map_err(|_| Error::Usage("rule values too long".into()))?;
        let mut data = vec![0u8; RULE_DATA_LEN + strings.len()];
        let mut rb = RuleBuffer::new(&mut data[..]);
        rb.set_flags(self.list);
        rb.set_action(self.action);
        rb.set_field_count(self.fields.len() as u32);
        for (i, word) in self.mask.iter().enumerate() {
            rb.syscalls_mut()[4 * i..4 * i + 4].copy_from_slice(&word.to_ne_bytes());
        }
        for (i, f) in self.fields.iter().enumerate() {
            rb.set_field(i, f.field);
            rb.set_field_flags(i, f.op.bits());
            match &f.value {
                Value::Num(v) => rb.set_value(i, *v),
                Value::Bytes(b) => rb.set_value(i, b.len() as u32),
            }
        }
        rb.set_buflen(buflen);
        rb.buf_mut().copy_from_slice(&strings);
        Ok(data)
    }

    /// Parses `struct audit_rule_data` (an `AUDIT_LIST_RULES` reply).
    pub fn decode(payload: &[u8]) -> Result<Rule> {
        let rb =
            RuleBuffer::new_checked(payload).map_err(|e| Error::Protocol(format!("rule: {e}")))?;
        let count = rb.field_count() as usize;
        if count > AUDIT_MAX_FIELDS {
            return Err(Error::Protocol(format!("rule with {count} fields")));
        }
        let word = |bytes: &[u8], i: usize| -> u32 {
            let mut w = [0u8; 4];
            w.copy_from_slice(&bytes[4 * i..4 * i + 4]);
            u32::from_ne_bytes(w)
        };
        let mut mask = [0u32; MASK_WORDS];
        let sys = rb.syscalls();
        for (i, m) in mask.iter_mut().enumerate() {
            *m = word(sys, i);
        }
        let (fields, values, flags, buf) = (rb.fields(), rb.values(), rb.field_flags(), rb.buf());
        let mut offset = 0usize;
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let field = word(fields, i);
            let raw = word(values, i);
            let value = if is_buffer_field(field) {
                let end = offset
                    .checked_add(raw as usize)
                    .filter(|&end| end <= buf.len())
                    .ok_or_else(|| {
                        Error::Protocol(format!(
                            "rule field {} of {raw} bytes overruns the buffer",
                            field_name(field)
                        ))
                    })?;
                let bytes = buf[offset..end].to_vec();
                offset = end;
                Value::Bytes(bytes)
            } else {
                Value::Num(raw)
            };
            out.push(RuleField {
                field,
                op: Op::from_bits(word(flags, i)),
                value,
            });
        }
        Ok(Rule {
            list: rb.flags(),
            action: rb.action(),
            mask,
            fields: out,
        })
    }
}

fn arch_name(arch: u32) -> String {
    match arch {
        AUDIT_ARCH_X86_64 => "b64".into(),
        AUDIT_ARCH_I386 => "b32".into(),
        other => format!("{other:#x}"),
    }
}

impl fmt::Display for Rule {
    /// `exit,always arch=b64 syscall=execve contid=42 key=k`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{}",
            list_name(self.list & !AUDIT_FILTER_PREPEND),
            action_name(self.action)
        )?;
        let b64 = !self
            .fields
            .iter()
            .any(|fl| fl.field == AUDIT_ARCH && fl.value == Value::Num(AUDIT_ARCH_I386));
        for fl in &self.fields {
            let name = field_name(fl.field);
            let op = fl.op.symbol();
            match (&fl.value, fl.field) {
                (Value::Num(v), AUDIT_ARCH) => write!(f, " {name}{op}{}", arch_name(*v))?,
                (Value::Num(v), _) => write!(f, " {name}{op}{v}")?,
                (Value::Bytes(b), AUDIT_CONTID) => match <[u8; 8]>::try_from(b.as_slice()) {
                    Ok(a) => write!(
                        f,
                        " {name}{op}{}",
                        crate::record::contid_text(u64::from_ne_bytes(a))
                    )?,
                    Err(_) => write!(f, " {name}{op}<{} bytes>", b.len())?,
                },
                (Value::Bytes(b), _) => write!(f, " {name}{op}{}", String::from_utf8_lossy(b))?,
            }
        }
        if self.list & !AUDIT_FILTER_PREPEND == AUDIT_FILTER_EXIT {
            match self.syscalls() {
                None => write!(f, " syscall=all")?,
                Some(nrs) => {
                    let names: Vec<String> = nrs
                        .iter()
                        .map(|&nr| match syscalls::name(nr) {
                            Some(n) if b64 => n.to_string(),
                            _ => nr.to_string(),
                        })
                        .collect();
                    write!(f, " syscall={}", names.join(","))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    #[test]
    fn layout_matches_netlink_packet_audit() {
        let empty = netlink_packet_audit::RuleMessage::new();
        assert_eq!(RULE_DATA_LEN, empty.buffer_len());
        assert_eq!(RULE_DATA_LEN, 1040);
    }

    #[test]
    fn contid_rule_encodes_eight_native_bytes() {
        let rule = Rule::new(AUDIT_FILTER_EXIT, AUDIT_ALWAYS)
            .arch_b64()
            .syscall(59)
            .contid(Op::Equal, 0x0102_0304_0506_0708);
        let data = rule.encode().unwrap();
        assert_eq!(data.len(), RULE_DATA_LEN + 8);
        let u32_at = |off: usize| u32::from_ne_bytes(data[off..off + 4].try_into().unwrap());
        assert_eq!(u32_at(0), AUDIT_FILTER_EXIT);
        assert_eq!(u32_at(4), AUDIT_ALWAYS);
        assert_eq!(u32_at(8), 2);
        // mask[1] has bit 59 - 32.
        assert_eq!(u32_at(12 + 4), 1 << 27);
        let fields = 12 + 256;
        let values = fields + 256;
        let flags = values + 256;
        assert_eq!(u32_at(fields + 4), AUDIT_CONTID);
        assert_eq!(u32_at(values + 4), 8);
        assert_eq!(u32_at(flags + 4), 0x4000_0000);
        assert_eq!(u32_at(flags + 256), 8, "buflen");
        assert_eq!(
            &data[RULE_DATA_LEN..],
            &0x0102_0304_0506_0708u64.to_ne_bytes()
        );
    }

    #[test]
    fn buffer_values_keep_field_order() {
        let rule = Rule::new(AUDIT_FILTER_EXCLUDE, AUDIT_NEVER)
            .key("before")
            .contid(Op::NotEqual, 7)
            .key("after");
        let data = rule.encode().unwrap();
        let buf = &data[RULE_DATA_LEN..];
        assert_eq!(&buf[..6], b"before");
        assert_eq!(&buf[6..14], &7u64.to_ne_bytes());
        assert_eq!(&buf[14..], b"after");
        let back = Rule::decode(&data).unwrap();
        assert_eq!(back, rule);
        assert_eq!(back.contids(), vec![(Op::NotEqual, Some(7))]);
    }

    #[test]
    fn decode_roundtrips_and_checks_bounds() {
        let rule = Rule::new(AUDIT_FILTER_USER, AUDIT_NEVER).contid(Op::Equal, u64::MAX);
        let mut data = rule.encode().unwrap();
        assert_eq!(Rule::decode(&data).unwrap(), rule);
        // A length that overruns the buffer is an error, not a panic.
        let values = 12 + 256 + 256;
        data[values..values + 4].copy_from_slice(&9u32.to_ne_bytes());
        assert!(Rule::decode(&data).is_err());
        // A short message and a silly field count too.
        assert!(Rule::decode(&data[..100]).is_err());
        let mut silly = rule.encode().unwrap();
        silly[8..12].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(Rule::decode(&silly).is_err());
    }

    #[test]
    fn too_many_fields_is_an_error() {
        let mut rule = Rule::new(AUDIT_FILTER_EXIT, AUDIT_ALWAYS);
        for _ in 0..65 {
            rule = rule.num(0, Op::Equal, 1);
        }
        assert!(rule.encode().is_err());
    }

    #[test]
    fn ops_roundtrip() {
        for op in Op::ALL {
            assert_eq!(Op::from_bits(op.bits()), op);
        }
        assert_eq!(Op::from_bits(0x30000000), Op::NotEqual);
        assert_eq!(Op::from_bits(7), Op::Raw(7));
    }

    #[test]
    fn display_like_auditctl() {
        let rule = Rule::new(AUDIT_FILTER_EXIT, AUDIT_ALWAYS)
            .arch_b64()
            .syscall(59)
            .contid(Op::NotEqual, 42)
            .key("k");
        assert_eq!(
            rule.to_string(),
            "exit,always arch=b64 contid!=42 key=k syscall=execve"
        );
        let rule = Rule::new(AUDIT_FILTER_EXCLUDE, AUDIT_NEVER).contid(Op::Equal, u64::MAX);
        assert_eq!(rule.to_string(), "exclude,never contid=-1");
        let mut all = Rule::new(AUDIT_FILTER_EXIT, AUDIT_ALWAYS);
        assert_eq!(all.syscalls(), None);
        all.mask[MASK_WORDS - 1] = 0xffff;
        assert_eq!(all.syscalls(), None, "class bits cleared");
        assert_eq!(
            Rule::new(AUDIT_FILTER_USER, AUDIT_NEVER).mask,
            [0; MASK_WORDS]
        );
        assert_eq!(all.to_string(), "exit,always syscall=all");
        assert_eq!(list_by_name("exclude"), Some(5));
        assert!(is_buffer_field(AUDIT_EXE));
        assert!(!is_buffer_field(AUDIT_ARCH));
    }
}
