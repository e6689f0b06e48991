//! A NETLINK_AUDIT socket: status, rules, user messages and records.
//!
//! Messages are laid out with `netlink-packet-core` (the netlink header,
//! `NLMSG_ERROR`) and `netlink-packet-audit` (`struct audit_status`, the
//! text of records); rules go through [`crate::rule`].

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use netlink_packet_audit::constants::{
    AUDIT_ADD_RULE, AUDIT_DEL_RULE, AUDIT_GET, AUDIT_LIST_RULES, AUDIT_NLGRP_READLOG, AUDIT_SET,
};
use netlink_packet_audit::{AuditBuffer, AuditMessage, StatusMessage};
use netlink_packet_core::{
    Emitable, ErrorBuffer, NetlinkBuffer, ParseableParametrized, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_NOOP, NLMSG_OVERRUN,
};
use netlink_sys::{protocols::NETLINK_AUDIT, Socket, SocketAddr};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::error::{Error, Result};
use crate::record::Record;
use crate::rule::Rule;

/// `struct audit_status` mask bits.
pub const AUDIT_STATUS_ENABLED: u32 = 0x0001;
/// See [`AUDIT_STATUS_ENABLED`].
pub const AUDIT_STATUS_FAILURE: u32 = 0x0002;
/// See [`AUDIT_STATUS_ENABLED`].
pub const AUDIT_STATUS_PID: u32 = 0x0004;
/// See [`AUDIT_STATUS_ENABLED`].
pub const AUDIT_STATUS_RATE_LIMIT: u32 = 0x0008;
/// See [`AUDIT_STATUS_ENABLED`].
pub const AUDIT_STATUS_BACKLOG_LIMIT: u32 = 0x0010;
/// `feature_bitmap`: the kernel knows the `AUDIT_CONTID` rule field.
pub const AUDIT_FEATURE_BITMAP_CONTID: u32 = 0x0000_0080;

const NLMSG_HDRLEN: usize = 16;
const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_ACK: u16 = 0x04;
/// How long a request waits for the kernel's answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// What came in on the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// An audit record.
    Record(Record),
    /// The answer to `AUDIT_GET`.
    Status(StatusMessage),
    /// One rule of an `AUDIT_LIST_RULES` answer.
    Rule(Rule),
    /// `NLMSG_ERROR`: an acknowledgment (`errno` `None`) or an error.
    Ack {
        /// The sequence number of the request.
        seq: u32,
        /// The type of the request.
        request: u16,
        /// The error, if any.
        errno: Option<Errno>,
    },
    /// `NLMSG_DONE`: the end of a multi-part answer.
    Done {
        /// The sequence number of the request.
        seq: u32,
    },
    /// `NLMSG_NOOP`, `NLMSG_OVERRUN` and the like.
    Other {
        /// Its type.
        rtype: u16,
    },
}

/// One netlink message of a datagram: `(type, seq, payload)`.
///
/// The kernel's unicast audit records put the payload length, without the
/// header, into `nlmsg_len` (an old quirk that auditd relies on; the
/// multicast copies have it right). As `netlink-packet-audit`'s
/// `NetlinkAuditCodec` does, a message whose stated length leaves at most a
/// header's worth of the datagram over is taken to fill the datagram.
pub fn split_datagram(datagram: &[u8]) -> Result<Vec<(u16, u32, &[u8])>> {
    let mut out = Vec::new();
    let mut rest = datagram;
    while rest.len() >= NLMSG_HDRLEN {
        let hdr = NetlinkBuffer::new(rest);
        let stated = hdr.length() as usize;
        let (rtype, seq) = (hdr.message_type(), hdr.sequence_number());
        let len = if stated < NLMSG_HDRLEN || rest.len().saturating_sub(stated) <= NLMSG_HDRLEN {
            rest.len()
        } else {
            stated
        };
        out.push((rtype, seq, &rest[NLMSG_HDRLEN..len]));
        let next = len.checked_add(3).map(|l| l & !3).unwrap_or(rest.len());
        rest = rest.get(next..).unwrap_or(&[]);
    }
    if out.is_empty() {
        return Err(Error::Protocol(format!(
            "datagram of {} bytes without a netlink header",
            datagram.len()
        )));
    }
    Ok(out)
}

/// Parses one netlink message of the audit socket.
pub fn parse_message(rtype: u16, seq: u32, payload: &[u8]) -> Result<Message> {
    match rtype {
        NLMSG_ERROR => {
            let eb = ErrorBuffer::new_checked(payload)
                .map_err(|e| Error::Protocol(format!("NLMSG_ERROR: {e}")))?;
            let errno = eb.code().map(|c| Errno::from_raw(-c.get()));
            let orig = eb.payload();
            if orig.len() < NLMSG_HDRLEN {
                return Err(Error::Protocol("NLMSG_ERROR without the request".into()));
            }
            let orig = NetlinkBuffer::new(orig);
            Ok(Message::Ack {
                seq: orig.sequence_number(),
                request: orig.message_type(),
                errno,
            })
        }
        NLMSG_DONE => Ok(Message::Done { seq }),
        NLMSG_NOOP | NLMSG_OVERRUN => Ok(Message::Other { rtype }),
        AUDIT_LIST_RULES => Ok(Message::Rule(Rule::decode(payload)?)),
        AUDIT_GET => match AuditMessage::parse_with_param(&AuditBuffer::new(payload), AUDIT_GET) {
            Ok(AuditMessage::GetStatus(Some(s))) => Ok(Message::Status(s)),
            Ok(other) => Err(Error::Protocol(format!("AUDIT_GET answer {other:?}"))),
            Err(e) => Err(Error::Protocol(format!("AUDIT_GET answer: {e}"))),
        },
        _ => {
            let text = match AuditMessage::parse_with_param(&AuditBuffer::new(payload), rtype) {
                Ok(AuditMessage::Event((_, text))) | Ok(AuditMessage::Other((_, text))) => text,
                // Not UTF-8 (free text from user space): keep what we can.
                _ => String::from_utf8_lossy(payload).into_owned(),
            };
            Ok(Message::Record(Record::parse(rtype, &text)))
        }
    }
}

/// A NETLINK_AUDIT socket.
pub struct AuditSocket {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl AsFd for AuditSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

impl AuditSocket {
    /// A socket to send requests on (and, for the audit daemon, to receive
    /// the records on).
    pub fn open() -> Result<AuditSocket> {
        let mut sock =
            Socket::new(NETLINK_AUDIT).map_err(|e| Error::io("socket(NETLINK_AUDIT)", &e))?;
        sock.bind(&SocketAddr::new(0, 0))
            .map_err(|e| Error::io("bind(NETLINK_AUDIT)", &e))?;
        Ok(AuditSocket {
            sock,
            seq: 0,
            buf: Vec::with_capacity(1 << 16),
        })
    }

    /// A socket that reads every record through the read-only multicast
    /// group (`AUDIT_NLGRP_READLOG`, needs `CAP_AUDIT_READ`). It works
    /// whether or not an audit daemon runs.
    pub fn open_readlog() -> Result<AuditSocket> {
        let s = AuditSocket::open()?;
        s.sock
            .add_membership(AUDIT_NLGRP_READLOG)
            .map_err(|e| Error::io("joining AUDIT_NLGRP_READLOG", &e))?;
        Ok(s)
    }

    /// Sets the receive buffer, above the system limit if privileged
    /// (`SO_RCVBUFFORCE`), so that bursts of records are not dropped.
    pub fn set_receive_buffer(&self, bytes: usize) -> Result<()> {
        use nix::sys::socket::{setsockopt, sockopt};
        setsockopt(&self.sock, sockopt::RcvBufForce, &bytes)
            .or_else(|_| setsockopt(&self.sock, sockopt::RcvBuf, &bytes))
            .map_err(|e| Error::sys("setsockopt(SO_RCVBUF)", e))
    }

    /// Sends one message; returns its sequence number.
    pub fn send(&mut self, rtype: u16, flags: u16, payload: &[u8]) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let len = NLMSG_HDRLEN + payload.len();
        let mut msg = vec![0u8; (len + 3) & !3];
        {
            let mut hdr = NetlinkBuffer::new(&mut msg[..]);
            hdr.set_length(len as u32);
            hdr.set_message_type(rtype);
            hdr.set_flags(NLM_F_REQUEST | flags);
            hdr.set_sequence_number(self.seq);
            hdr.set_port_number(0);
        }
        msg[NLMSG_HDRLEN..len].copy_from_slice(payload);
        let sent = self
            .sock
            .send(&msg[..len], 0)
            .map_err(|e| Error::io(format!("sending message type {rtype}"), &e))?;
        if sent != len {
            return Err(Error::Protocol(format!("sent {sent} of {len} bytes")));
        }
        Ok(self.seq)
    }

    /// Receives one datagram: its messages, or `None` when nothing came
    /// within `timeout` (`None`: wait for ever). `ENOBUFS` (records dropped
    /// because the socket buffer was full) is an error.
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Option<Vec<Message>>> {
        let ms = match timeout {
            None => PollTimeout::NONE,
            Some(t) => PollTimeout::try_from(t.as_millis().min(i32::MAX as u128) as i32)
                .unwrap_or(PollTimeout::MAX),
        };
        loop {
            let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, ms) {
                Ok(0) => return Ok(None),
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("poll(audit socket)", e)),
            }
        }
        self.buf.clear();
        self.buf.reserve(1 << 16);
        let n = loop {
            match self.sock.recv(&mut self.buf, libc::MSG_DONTWAIT) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(Some(vec![])),
                Err(e) => return Err(Error::io("recv(audit socket)", &e)),
            }
        };
        let data = &self.buf[..n.min(self.buf.len())];
        split_datagram(data)?
            .into_iter()
            .map(|(t, s, p)| parse_message(t, s, p))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Sends a request and waits for its acknowledgment; what else comes
    /// meanwhile (records, for the audit daemon's socket) is passed to
    /// `other`.
    fn request_with(
        &mut self,
        rtype: u16,
        payload: &[u8],
        what: &str,
        mut other: impl FnMut(Message),
    ) -> Result<()> {
        let seq = self.send(rtype, NLM_F_ACK, payload)?;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let msgs = self
                .recv(Some(remaining(deadline)))?
                .ok_or_else(|| Error::Timeout(format!("no answer to {what}")))?;
            for m in msgs {
                match m {
                    Message::Ack {
                        seq: s,
                        request,
                        errno,
                    } if s == seq && request == rtype => {
                        return match errno {
                            None => Ok(()),
                            Some(errno) => Err(Error::Kernel {
                                what: what.to_string(),
                                errno,
                            }),
                        };
                    }
                    m => other(m),
                }
            }
        }
    }

    /// Sends a request and waits for its acknowledgment.
    pub fn request(&mut self, rtype: u16, payload: &[u8], what: &str) -> Result<()> {
        self.request_with(rtype, payload, what, |_| {})
    }

    /// `AUDIT_GET`.
    pub fn get_status(&mut self) -> Result<StatusMessage> {
        let mut status = None;
        self.request_with(AUDIT_GET, &[], "AUDIT_GET", |m| {
            if let Message::Status(s) = m {
                status = Some(s);
            }
        })?;
        if let Some(s) = status {
            return Ok(s);
        }
        // The answer may follow the acknowledgment.
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let msgs = self
                .recv(Some(remaining(deadline)))?
                .ok_or_else(|| Error::Timeout("no AUDIT_GET answer".into()))?;
            for m in msgs {
                if let Message::Status(s) = m {
                    return Ok(s);
                }
            }
        }
    }

    /// `AUDIT_SET` with the fields that `status.mask` names.
    pub fn set_status(&mut self, status: &StatusMessage) -> Result<()> {
        let mut payload = vec![0u8; status.buffer_len()];
        status.emit(&mut payload);
        self.request(AUDIT_SET, &payload, "AUDIT_SET")
    }

    /// Makes the calling process the audit daemon (records are sent to this
    /// socket) and enables audit.
    pub fn become_daemon(&mut self) -> Result<()> {
        let mut s = StatusMessage::new();
        s.mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID;
        s.enabled = 1;
        s.pid = std::process::id();
        self.set_status(&s)
    }

    /// `AUDIT_ADD_RULE`.
    pub fn add_rule(&mut self, rule: &Rule) -> Result<()> {
        self.request(AUDIT_ADD_RULE, &rule.encode()?, "AUDIT_ADD_RULE")
    }

    /// `AUDIT_DEL_RULE`.
    pub fn del_rule(&mut self, rule: &Rule) -> Result<()> {
        self.request(AUDIT_DEL_RULE, &rule.encode()?, "AUDIT_DEL_RULE")
    }

    /// `AUDIT_LIST_RULES`: every rule, in list order.
    pub fn list_rules(&mut self) -> Result<Vec<Rule>> {
        let seq = self.send(AUDIT_LIST_RULES, 0, &[])?;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        let mut rules = Vec::new();
        loop {
            let msgs = self
                .recv(Some(remaining(deadline)))?
                .ok_or_else(|| Error::Timeout("no end of the rule list".into()))?;
            for m in msgs {
                match m {
                    Message::Rule(r) => rules.push(r),
                    Message::Done { seq: s } if s == seq => return Ok(rules),
                    Message::Ack {
                        seq: s,
                        errno: Some(errno),
                        ..
                    } if s == seq => {
                        return Err(Error::Kernel {
                            what: "AUDIT_LIST_RULES".into(),
                            errno,
                        })
                    }
                    _ => {}
                }
            }
        }
    }

    /// Sends a message from user space (`AUDIT_USER`, `AUDIT_TRUSTED_APP`,
    /// ...) with free text; it is logged as `msg='text'`.
    pub fn send_user_message(&mut self, rtype: u16, text: &str) -> Result<()> {
        let mut payload = text.as_bytes().to_vec();
        // The kernel overwrites the last byte with a NUL.
        payload.push(0);
        self.request(rtype, &payload, "sending a user message")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(len_field: u32, rtype: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&len_field.to_ne_bytes());
        d.extend_from_slice(&rtype.to_ne_bytes());
        d.extend_from_slice(&0u16.to_ne_bytes());
        d.extend_from_slice(&seq.to_ne_bytes());
        d.extend_from_slice(&0u32.to_ne_bytes());
        d.extend_from_slice(payload);
        d
    }

    #[test]
    fn record_with_unicast_length_quirk() {
        let text = b"audit(1.000:7): contid=42";
        // nlmsg_len without the header, as kauditd sends to the daemon.
        let d = datagram(text.len() as u32, 1340, 0, text);
        let msgs = split_datagram(&d).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].2, text);
        match parse_message(msgs[0].0, msgs[0].1, msgs[0].2).unwrap() {
            Message::Record(r) => {
                assert_eq!(r.rtype, 1340);
                assert_eq!(r.serial(), Some(7));
                assert_eq!(r.get("contid"), Some("42"));
            }
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn record_with_correct_length() {
        let text = b"audit(1.000:8): op=destroy contid=5\0";
        let d = datagram(16 + text.len() as u32, 1344, 0, text);
        let msgs = split_datagram(&d).unwrap();
        assert_eq!(msgs.len(), 1);
        match parse_message(msgs[0].0, msgs[0].1, msgs[0].2).unwrap() {
            Message::Record(r) => assert_eq!(r.body, "op=destroy contid=5"),
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn error_ack_and_done() {
        let mut payload = (-22i32).to_ne_bytes().to_vec();
        payload.extend_from_slice(&datagram(1056, AUDIT_ADD_RULE, 3, &[]));
        let mut d = datagram(16 + payload.len() as u32, NLMSG_ERROR, 3, &payload);
        let ok = datagram(20, NLMSG_DONE, 4, &0i32.to_ne_bytes());
        d.extend_from_slice(&ok);
        let msgs: Vec<Message> = split_datagram(&d)
            .unwrap()
            .into_iter()
            .map(|(t, s, p)| parse_message(t, s, p).unwrap())
            .collect();
        assert_eq!(
            msgs,
            vec![
                Message::Ack {
                    seq: 3,
                    request: AUDIT_ADD_RULE,
                    errno: Some(Errno::EINVAL)
                },
                Message::Done { seq: 4 }
            ]
        );
    }

    #[test]
    fn status_answer() {
        let mut s = StatusMessage::new();
        s.enabled = 1;
        s.pid = 77;
        s.feature_bitmap = 0xff;
        let mut payload = vec![0u8; s.buffer_len()];
        s.emit(&mut payload);
        // Newer kernels send a longer struct: extra bytes are ignored.
        payload.extend_from_slice(&[0; 4]);
        match parse_message(AUDIT_GET, 1, &payload).unwrap() {
            Message::Status(got) => {
                assert_eq!(got.pid, 77);
                assert_ne!(got.feature_bitmap & AUDIT_FEATURE_BITMAP_CONTID, 0);
            }
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(split_datagram(&[1, 2, 3]).is_err());
        assert!(parse_message(NLMSG_ERROR, 0, &[1, 2]).is_err());
        assert!(parse_message(AUDIT_GET, 0, &[1, 2]).is_err());
        assert!(parse_message(AUDIT_LIST_RULES, 0, &[0; 12]).is_err());
        let d = datagram(u32::MAX, 1300, 0, b"x");
        assert_eq!(split_datagram(&d).unwrap().len(), 1);
        // Invalid UTF-8 in a user message is kept, lossily.
        match parse_message(1121, 0, b"audit(1.0:1): msg='\xff'").unwrap() {
            Message::Record(r) => assert_eq!(r.serial(), Some(1)),
            m => panic!("{m:?}"),
        }
    }
}
