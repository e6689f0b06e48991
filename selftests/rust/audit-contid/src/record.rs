//! Audit records: `audit(SEC.MSEC:SERIAL): key=value key=value ...`.
//!
//! Values are bare (`pid=42`, `contid=-1`, a hex-encoded string such as
//! `proctitle=2F62696E2F7368`), double-quoted (`comm="sh"`) or, in messages
//! from user space, single-quoted (`msg='free text'`). Parsing never fails:
//! a record whose text has no `audit(...)` stamp keeps its text as body and
//! has no serial.

use std::fmt;

/// `AUDIT_CONTAINER`: registration, move and death of a container, grants
/// and revocations of a quota of sub-containers.
pub const AUDIT_CONTAINER: u16 = 1344;
/// `AUDIT_CONTAINER_INFO`: the container of a process an event involves.
pub const AUDIT_CONTAINER_INFO: u16 = 1340;
/// `AUDIT_NS_CREATE`: a namespace was created.
pub const AUDIT_NS_CREATE: u16 = 1341;
/// `AUDIT_NS_DESTROY`: a namespace is no longer used.
pub const AUDIT_NS_DESTROY: u16 = 1342;
/// `AUDIT_NS_CHANGE`: a process switched namespaces.
pub const AUDIT_NS_CHANGE: u16 = 1343;
/// `AUDIT_SYSCALL`: the system call record of a syscall event.
pub const AUDIT_SYSCALL: u16 = 1300;
/// `AUDIT_PATH`.
pub const AUDIT_PATH: u16 = 1302;
/// `AUDIT_CONFIG_CHANGE`.
pub const AUDIT_CONFIG_CHANGE: u16 = 1305;
/// `AUDIT_CWD`.
pub const AUDIT_CWD: u16 = 1307;
/// `AUDIT_EXECVE`.
pub const AUDIT_EXECVE: u16 = 1309;
/// `AUDIT_EOE`: the end of a multi-record event.
pub const AUDIT_EOE: u16 = 1320;
/// `AUDIT_PROCTITLE`.
pub const AUDIT_PROCTITLE: u16 = 1327;
/// `AUDIT_USER`: a message from user space (deprecated type).
pub const AUDIT_USER: u16 = 1005;
/// `AUDIT_TRUSTED_APP`: a free-text message of a trusted application.
pub const AUDIT_TRUSTED_APP: u16 = 1121;
/// The first and last type of messages user space may send.
pub const AUDIT_FIRST_USER_MSG: u16 = 1100;
/// See [`AUDIT_FIRST_USER_MSG`].
pub const AUDIT_LAST_USER_MSG: u16 = 1199;
/// The second range of user space messages.
pub const AUDIT_FIRST_USER_MSG2: u16 = 2100;
/// See [`AUDIT_FIRST_USER_MSG2`].
pub const AUDIT_LAST_USER_MSG2: u16 = 2999;

/// The record types of the audit container ID series.
pub const CONTAINER_TYPES: [u16; 5] = [
    AUDIT_CONTAINER,
    AUDIT_CONTAINER_INFO,
    AUDIT_NS_CREATE,
    AUDIT_NS_DESTROY,
    AUDIT_NS_CHANGE,
];

/// The name of a record type, as `ausearch` prints it (without `AUDIT_`).
pub fn type_name(rtype: u16) -> Option<&'static str> {
    Some(match rtype {
        1005 => "USER",
        1006 => "LOGIN",
        1100 => "USER_AUTH",
        1101 => "USER_ACCT",
        1104 => "CRED_ACQ",
        1105 => "USER_START",
        1106 => "USER_END",
        1107 => "USER_AVC",
        1112 => "USER_LOGIN",
        1121 => "TRUSTED_APP",
        1130 => "SERVICE_START",
        1131 => "SERVICE_STOP",
        1300 => "SYSCALL",
        1302 => "PATH",
        1303 => "IPC",
        1304 => "SOCKETCALL",
        1305 => "CONFIG_CHANGE",
        1306 => "SOCKADDR",
        1307 => "CWD",
        1309 => "EXECVE",
        1318 => "OBJ_PID",
        1320 => "EOE",
        1321 => "BPRM_FCAPS",
        1322 => "CAPSET",
        1323 => "MMAP",
        1324 => "NETFILTER_PKT",
        1325 => "NETFILTER_CFG",
        1326 => "SECCOMP",
        1327 => "PROCTITLE",
        1328 => "FEATURE_CHANGE",
        1329 => "REPLACE",
        1330 => "KERN_MODULE",
        1331 => "FANOTIFY",
        1332 => "TIME_INJOFFSET",
        1333 => "TIME_ADJNTPVAL",
        1334 => "BPF",
        1335 => "EVENT_LISTENER",
        1336 => "URINGOP",
        1337 => "OPENAT2",
        1338 => "DM_CTRL",
        1339 => "DM_EVENT",
        1340 => "CONTAINER_INFO",
        1341 => "NS_CREATE",
        1342 => "NS_DESTROY",
        1343 => "NS_CHANGE",
        1344 => "CONTAINER_OP",
        1400 => "AVC",
        1423 => "LANDLOCK_ACCESS",
        1424 => "LANDLOCK_DOMAIN",
        1700 => "ANOM_PROMISCUOUS",
        1701 => "ANOM_ABEND",
        2000 => "KERNEL",
        _ => return None,
    })
}

/// The name of a record type, or `UNKNOWN[N]` as `ausearch` has it.
pub fn type_label(rtype: u16) -> String {
    type_name(rtype).map_or_else(|| format!("UNKNOWN[{rtype}]"), str::to_string)
}

/// The time stamp and serial number that every record of one event shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    /// Seconds since the epoch.
    pub sec: u64,
    /// Milliseconds.
    pub msec: u32,
    /// The serial number of the event.
    pub serial: u64,
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}:{}", self.sec, self.msec, self.serial)
    }
}

/// How a value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// `key=value`.
    Bare,
    /// `key="value"`.
    Double,
    /// `key='value'`.
    Single,
    /// A word without `=`.
    NoValue,
}

/// One `key=value` of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The key.
    pub key: String,
    /// The value without its quotes.
    pub value: String,
    /// How the value was quoted.
    pub quote: Quote,
}

/// Whether the kernel writes the value of `key` with
/// `audit_log_untrustedstring()`: quoted, or hex-encoded when it holds
/// characters that need escaping (as `auparse` knows them).
pub fn is_encoded_key(key: &str) -> bool {
    const KEYS: [&str; 14] = [
        "comm",
        "exe",
        "cwd",
        "name",
        "proctitle",
        "path",
        "cmd",
        "acct",
        "key",
        "data",
        "ocomm",
        "root_dir",
        "old",
        "new",
    ];
    KEYS.contains(&key)
        || key
            .strip_prefix('a')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'['))
}

impl Field {
    /// The value as a string: quoted values as they are; bare values of
    /// string fields (see [`is_encoded_key`]) hex-decoded when they are hex;
    /// other bare values as they are; `(null)` as `None`.
    pub fn text(&self) -> Option<String> {
        match self.quote {
            Quote::Double | Quote::Single => Some(self.value.clone()),
            Quote::NoValue => None,
            Quote::Bare if self.value == "(null)" => None,
            Quote::Bare if is_encoded_key(&self.key) => {
                Some(decode_hex(&self.value).unwrap_or_else(|| self.value.clone()))
            }
            Quote::Bare => Some(self.value.clone()),
        }
    }
}

/// `s` decoded from hex, when it is hex (an even, non-zero number of
/// upper-case hex digits, as the kernel writes them).
pub fn decode_hex(s: &str) -> Option<String> {
    if s.is_empty() || s.len() % 2 != 0 {
        return None;
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record type (`nlmsg_type`).
    pub rtype: u16,
    /// The whole text, as the kernel sent it.
    pub text: String,
    /// The stamp, when the text has one.
    pub stamp: Option<Stamp>,
    /// The text after the stamp.
    pub body: String,
    /// The fields of the body, in order.
    pub fields: Vec<Field>,
}

fn parse_stamp(text: &str) -> Option<(Stamp, &str)> {
    let rest = text.strip_prefix("audit(")?;
    let end = rest.find(')')?;
    let inner = &rest[..end];
    let body = rest[end + 1..].strip_prefix(':')?;
    let (time, serial) = inner.split_once(':')?;
    let (sec, msec) = time.split_once('.')?;
    let stamp = Stamp {
        sec: sec.parse().ok()?,
        msec: msec.parse().ok()?,
        serial: serial.parse().ok()?,
    };
    Some((stamp, body.strip_prefix(' ').unwrap_or(body)))
}

/// Splits a record body into its fields.
pub fn parse_fields(body: &str) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut rest = body;
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        let key_end = rest.find([' ', '=']).unwrap_or(rest.len());
        let key = rest[..key_end].to_string();
        rest = &rest[key_end..];
        let Some(after) = rest.strip_prefix('=') else {
            fields.push(Field {
                key,
                value: String::new(),
                quote: Quote::NoValue,
            });
            continue;
        };
        let (value, quote, next) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (&q[..end], Quote::Double, &q[end + 1..]),
                None => (q, Quote::Double, ""),
            }
        } else if let Some(q) = after.strip_prefix('\'') {
            // The text of a user message may hold quotes and spaces: it
            // ends at a quote followed by a space or the end.
            let mut end = None;
            for (i, _) in q.match_indices('\'') {
                let tail = &q[i + 1..];
                if tail.is_empty() || tail.starts_with(' ') {
                    end = Some(i);
                    break;
                }
            }
            match end {
                Some(end) => (&q[..end], Quote::Single, &q[end + 1..]),
                None => (q, Quote::Single, ""),
            }
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            (&after[..end], Quote::Bare, &after[end..])
        };
        fields.push(Field {
            key,
            value: value.to_string(),
            quote,
        });
        rest = next;
    }
    fields
}

impl Record {
    /// Parses the text of a record of type `rtype`.
    pub fn parse(rtype: u16, text: &str) -> Record {
        let text = text.trim_end_matches(['\0', '\n']);
        let (stamp, body) = match parse_stamp(text) {
            Some((stamp, body)) => (Some(stamp), body),
            None => (None, text),
        };
        Record {
            rtype,
            text: text.to_string(),
            stamp,
            body: body.to_string(),
            fields: parse_fields(body),
        }
    }

    /// The serial number of the record's event.
    pub fn serial(&self) -> Option<u64> {
        self.stamp.map(|s| s.serial)
    }

    /// The first field named `key`.
    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The value of the first field named `key`, without quotes.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.field(key).map(|f| f.value.as_str())
    }

    /// The value of `key` as a string (see [`Field::text`]).
    pub fn text_of(&self, key: &str) -> Option<String> {
        self.field(key).and_then(Field::text)
    }

    /// The value of `key` as an unsigned number.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(|v| v.parse().ok())
    }

    /// The value of `key` as a signed number.
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.parse().ok())
    }

    /// The keys, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.key.as_str()).collect()
    }

    /// Whether this is one of the record types of the container ID series.
    pub fn is_container_related(&self) -> bool {
        CONTAINER_TYPES.contains(&self.rtype)
    }

    /// Whether this is a message from user space.
    pub fn is_user_message(&self) -> bool {
        (AUDIT_FIRST_USER_MSG..=AUDIT_LAST_USER_MSG).contains(&self.rtype)
            || (AUDIT_FIRST_USER_MSG2..=AUDIT_LAST_USER_MSG2).contains(&self.rtype)
            || self.rtype == AUDIT_USER
    }
}

impl fmt::Display for Record {
    /// `type=NAME msg=audit(...): ...`, the form of auditd's log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "type={} msg={}", type_label(self.rtype), self.text)
    }
}

/// Parses the value of `contid-chain=` (`AUDIT_CONTAINER_INFO` of a member
/// of a nested container): the container IDs from the innermost to the
/// outermost, `C,B,A`. `None` unless every element is a decimal u64 (digits
/// only; `-1` is never part of a chain).
pub fn parse_contid_chain(text: &str) -> Option<Vec<u64>> {
    text.split(',')
        .map(|id| {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            id.parse().ok()
        })
        .collect()
}

/// The value of `contid-chain=` for the chain `ids` (innermost first).
pub fn contid_chain_text(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

impl Record {
    /// `contid-chain=` as IDs, innermost first: `Some` only when the field
    /// is there and well-formed (members of nested containers).
    pub fn contid_chain(&self) -> Option<Vec<u64>> {
        self.get("contid-chain").and_then(parse_contid_chain)
    }

    /// `parent-contid=` of an `op=set` or `op=move` into a nested container.
    pub fn parent_contid(&self) -> Option<u64> {
        self.get_u64("parent-contid")
    }

    /// `quota=` of an `op=delegate` or `op=revoke`.
    pub fn quota(&self) -> Option<u32> {
        self.get("quota").and_then(|v| v.parse().ok())
    }
}

/// A contid as records write it: `-1` for "in no container".
pub fn contid_text(contid: u64) -> String {
    if contid == u64::MAX {
        "-1".to_string()
    } else {
        contid.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = "audit(1795913509.486:2): op=set opid=731 contid=42 old-contid=-1 nsfs=0:4 cgroupns=4026531835 ipcns=4026531839 mntns=4026531832 netns=4026531833 pidns=4026531836 timens=4026531834 userns=4026531837 utsns=4026531838 pid=730 uid=0 auid=4294967295 ses=4294967295 comm=\"sh\" exe=\"/bin/busybox\" res=1";

    #[test]
    fn parses_stamp_and_fields() {
        let r = Record::parse(AUDIT_CONTAINER, SET);
        assert_eq!(
            r.stamp,
            Some(Stamp {
                sec: 1795913509,
                msec: 486,
                serial: 2
            })
        );
        assert_eq!(r.serial(), Some(2));
        assert_eq!(r.get("op"), Some("set"));
        assert_eq!(r.get_u64("contid"), Some(42));
        assert_eq!(r.get_i64("old-contid"), Some(-1));
        assert_eq!(r.get("nsfs"), Some("0:4"));
        assert_eq!(r.get("comm"), Some("sh"));
        assert_eq!(r.field("comm").map(|f| f.quote), Some(Quote::Double));
        assert_eq!(r.text_of("exe").as_deref(), Some("/bin/busybox"));
        assert_eq!(r.keys().len(), 20);
        assert_eq!(r.keys()[0], "op");
        assert_eq!(r.keys()[19], "res");
        assert!(r.is_container_related());
        assert_eq!(
            r.stamp.map(|s| s.to_string()).as_deref(),
            Some("1795913509.486:2")
        );
    }

    #[test]
    fn parses_hex_and_null_values() {
        let r = Record::parse(
            AUDIT_PROCTITLE,
            "audit(1.002:3): proctitle=2F62696E2F7368002D63 key=(null) comm=73682062 auid=12 a1=4142",
        );
        // Numbers stay numbers; string fields are decoded.
        assert_eq!(r.text_of("auid").as_deref(), Some("12"));
        assert_eq!(r.text_of("a1").as_deref(), Some("AB"));
        assert!(!is_encoded_key("arch"));
        assert!(is_encoded_key("a12"));
        assert_eq!(r.text_of("proctitle").as_deref(), Some("/bin/sh\0-c"));
        assert_eq!(r.text_of("key"), None);
        assert_eq!(r.text_of("comm").as_deref(), Some("sh b"));
        // Decimal numbers are not taken for hex strings when odd in length.
        assert_eq!(decode_hex("123"), None);
        assert_eq!(decode_hex("12"), Some("\u{12}".to_string()));
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex(""), None);
    }

    #[test]
    fn parses_user_message_text() {
        let r = Record::parse(
            AUDIT_TRUSTED_APP,
            "audit(5.000:9): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='it's a=b test' res=1",
        );
        assert_eq!(r.get("msg"), Some("it's a=b test"));
        assert_eq!(r.get("res"), Some("1"));
        assert!(r.is_user_message());
    }

    #[test]
    fn parses_eoe_and_garbage_without_panic() {
        let eoe = Record::parse(AUDIT_EOE, "audit(1.000:5): \0");
        assert_eq!(eoe.serial(), Some(5));
        assert!(eoe.fields.is_empty());
        for text in [
            "",
            "audit(",
            "audit(1.2:x): a=b",
            "audit(1.2:3)",
            "a= =b \"c=\"d 'e",
            "k=\"unterminated",
            "k='unterminated",
            "ns=4026531833->4026532222 word",
        ] {
            let r = Record::parse(1, text);
            let _ = r.keys();
        }
        let r = Record::parse(AUDIT_NS_CHANGE, "ns=1->2 word");
        assert_eq!(r.get("ns"), Some("1->2"));
        assert_eq!(r.field("word").map(|f| f.quote), Some(Quote::NoValue));
        assert_eq!(Record::parse(1, "audit(1.2:x): a=b").stamp, None);
    }

    #[test]
    fn parses_nesting_fields() {
        let mv = Record::parse(
            AUDIT_CONTAINER,
            "audit(1796382043.262:33): op=move opid=806 contid=200 old-contid=100 parent-contid=100 nsfs=0:4 cgroupns=4026531835 ipcns=4026531839 mntns=4026531832 netns=4026531833 pidns=4026531836 timens=4026531834 userns=4026531837 utsns=4026531838 pid=802 uid=0 auid=4294967295 ses=4294967295 comm=\"sh\" exe=\"/bin/busybox\" res=1",
        );
        assert_eq!(mv.parent_contid(), Some(100));
        assert_eq!(mv.keys()[4], "parent-contid");
        assert_eq!(mv.keys().len(), 21);
        assert_eq!(mv.quota(), None);
        assert_eq!(mv.contid_chain(), None);
        // A top-level container has no parent.
        assert_eq!(Record::parse(AUDIT_CONTAINER, SET).parent_contid(), None);

        let grant = Record::parse(
            AUDIT_CONTAINER,
            "audit(1796382043.215:31): op=delegate opid=802 contid=100 quota=3 pid=781 uid=0 auid=4294967295 ses=4294967295 comm=\"sh\" exe=\"/bin/busybox\" res=1",
        );
        assert_eq!(grant.get("op"), Some("delegate"));
        assert_eq!(grant.quota(), Some(3));
        assert_eq!(grant.get_u64("contid"), Some(100));
        let revoke = Record::parse(
            AUDIT_CONTAINER,
            "audit(1.000:2): op=revoke opid=802 contid=-1 quota=0 pid=781 res=0",
        );
        assert_eq!(revoke.quota(), Some(0));
        assert_eq!(revoke.get_i64("contid"), Some(-1));

        let info = Record::parse(
            AUDIT_CONTAINER_INFO,
            "audit(1796382043.301:35): contid=300 contid-chain=300,200,100",
        );
        assert_eq!(info.get_u64("contid"), Some(300));
        assert_eq!(info.contid_chain(), Some(vec![300, 200, 100]));
        assert_eq!(info.keys(), vec!["contid", "contid-chain"]);
        let top = Record::parse(AUDIT_CONTAINER_INFO, "audit(1.000:2): contid=42");
        assert_eq!(top.contid_chain(), None);
    }

    #[test]
    fn contid_chains() {
        assert_eq!(parse_contid_chain("7"), Some(vec![7]));
        assert_eq!(
            parse_contid_chain("18446744073709551614,1"),
            Some(vec![u64::MAX - 1, 1])
        );
        for bad in [
            "",
            ",",
            "1,",
            ",1",
            "1,,2",
            "1, 2",
            "-1,2",
            "+1,2",
            "1;2",
            "18446744073709551616,1",
        ] {
            assert_eq!(parse_contid_chain(bad), None, "{bad:?}");
        }
        assert_eq!(contid_chain_text(&[300, 200, 100]), "300,200,100");
        assert_eq!(
            parse_contid_chain(&contid_chain_text(&[3, 2, 1])),
            Some(vec![3, 2, 1])
        );
    }

    #[test]
    fn contid_text_of_unset_is_minus_one() {
        assert_eq!(contid_text(u64::MAX), "-1");
        assert_eq!(contid_text(42), "42");
        assert_eq!(type_label(AUDIT_NS_CREATE), "NS_CREATE");
        assert_eq!(type_label(9999), "UNKNOWN[9999]");
    }
}
