//! The audit log: one CloudTrail-style JSON line per request, written to disk by a background
//! thread so the request path never waits on disk or a lock. Records hold ids and outcomes,
//! never a secret or a session token.
//!
//! The request's own thread turns its record into the line, from borrowed fields, and hands
//! over only that one buffer: the writer thread then frees one allocation per request, not
//! one per field (a free from another thread is the allocator's slow path).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use time::OffsetDateTime;

/// One request's record, borrowed from the request. Each field is written under its
/// CloudTrail name, given with it.
#[derive(Debug)]
pub struct AuditRecord<'a> {
    /// `eventTime`: when the request arrived (RFC 3339).
    pub event_time: OffsetDateTime,
    /// `eventSource`: `sts.amazonaws.com` or `iam.amazonaws.com`.
    pub event_source: &'static str,
    /// `eventName`: the action, or `-` if it could not be read.
    pub event_name: &'a str,
    /// `requestID`.
    pub request_id: &'a str,
    /// `sourceIPAddress`: the client address.
    pub source_ip: &'a str,
    /// `userAgent`: the User-Agent header.
    pub user_agent: &'a str,
    /// `userIdentityArn`: the caller ARN, once authenticated; left out before.
    pub caller_arn: Option<&'a str>,
    /// `accessKeyId`: the access key id the request was signed with, once authenticated.
    pub access_key_id: Option<&'a str>,
    /// `errorCode`: the error code, if the request failed.
    pub error_code: Option<&'static str>,
}

/// Appends `s` as a JSON string: `"` and `\` escaped, control characters as `\n`-style or
/// `\u00XX` escapes, everything else (UTF-8 included) as is.
fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    // Nearly every value needs no escaping; one scan without an early exit, which the compiler
    // can vectorise, finds out.
    let needs_escape = s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    let mut plain = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(s.as_bytes().get(plain..i).unwrap_or_default());
        plain = i + 1;
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            for nibble in [b >> 4, b & 0x0f] {
                out.push(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'));
            }
        } else {
            out.extend_from_slice(short);
        }
    }
    out.extend_from_slice(s.as_bytes().get(plain..).unwrap_or_default());
    out.push(b'"');
}

impl AuditRecord<'_> {
    /// Appends the record as one line of JSON. Written by hand: this runs for every request,
    /// and a generic serializer spent twice as long on it.
    fn write_line(&self, out: &mut Vec<u8>) {
        let time = tessera_proto::sts::format_timestamp(self.event_time);
        let fields = [
            ("eventTime", Some(time.as_str())),
            ("eventSource", Some(self.event_source)),
            ("eventName", Some(self.event_name)),
            ("requestID", Some(self.request_id)),
            ("sourceIPAddress", Some(self.source_ip)),
            ("userAgent", Some(self.user_agent)),
            ("userIdentityArn", self.caller_arn),
            ("accessKeyId", self.access_key_id),
            ("errorCode", self.error_code),
        ];
        out.push(b'{');
        let mut first = true;
        for (name, value) in fields {
            let Some(value) = value else { continue };
            if !first {
                out.push(b',');
            }
            first = false;
            push_json_string(out, name);
            out.push(b':');
            push_json_string(out, value);
        }
        out.extend_from_slice(b"}\n");
    }
}

/// How often the writer drains the queue. Draining on a timer, not on each record, means a
/// request never wakes another thread: sending is a lock-free queue push.
const DRAIN_EVERY: Duration = Duration::from_millis(20);
/// Bytes the writer gathers before a `write` call: a busy server's records of one drain
/// interval (about 300 bytes each) go out in a few calls, not one per 8 KiB.
const BUFFER_BYTES: usize = 256 * 1024;
/// Room for a typical line, so writing one does not reallocate.
const LINE_BYTES: usize = 512;
/// Queue capacity; a full queue makes requests wait (records are never dropped).
const CAPACITY: usize = 65_536;

/// The sending side, held by the request pipeline. A bounded array queue: sending is one
/// compare-and-swap when there is room.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::SyncSender<Vec<u8>>,
}

/// How long a request waits before trying again when the queue is full.
const FULL_RETRY: Duration = Duration::from_millis(1);

/// The writer thread; [`AuditWriter::finish`] flushes everything queued.
pub struct AuditWriter {
    thread: std::thread::JoinHandle<()>,
    stop: Arc<AtomicBool>,
}

impl AuditWriter {
    /// Stops the writer after a last drain, and waits until every queued record is on disk.
    /// Called once no request is in flight.
    pub fn finish(self) {
        self.stop.store(true, Ordering::Release);
        if self.thread.join().is_err() {
            tracing::error!("audit writer panicked");
        }
    }
}

fn drain(rx: &mpsc::Receiver<Vec<u8>>, out: &mut BufWriter<File>) -> bool {
    loop {
        match rx.try_recv() {
            Ok(line) => {
                if let Err(e) = out.write_all(&line) {
                    tracing::error!(error = %e, "audit log write failed");
                }
            }
            Err(mpsc::TryRecvError::Empty) => return true,
            Err(mpsc::TryRecvError::Disconnected) => return false,
        }
    }
}

impl AuditLog {
    /// A log that keeps nothing, for an app that serves no requests: `tessera apply` runs IAM
    /// actions on a copy of the store, and actions do not audit (the request pipeline does).
    pub fn disconnected() -> Self {
        let (tx, _) = mpsc::sync_channel(1);
        Self { tx }
    }

    /// Starts the writer thread appending to `path`.
    pub fn start(path: &Path) -> std::io::Result<(Self, AuditWriter)> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(CAPACITY);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("tessera-audit".into())
            .spawn(move || {
                let mut out = BufWriter::with_capacity(BUFFER_BYTES, file);
                loop {
                    let last = stopping.load(Ordering::Acquire);
                    let open = drain(&rx, &mut out) && !last;
                    if let Err(e) = out.flush() {
                        tracing::error!(error = %e, "audit log flush failed");
                    }
                    if !open {
                        return;
                    }
                    std::thread::sleep(DRAIN_EVERY);
                }
            })?;
        Ok((Self { tx }, AuditWriter { thread, stop }))
    }

    /// Queues a record; waits only if the writer is [`CAPACITY`] records behind.
    pub async fn record(&self, record: &AuditRecord<'_>) {
        let mut pending = Vec::with_capacity(LINE_BYTES);
        record.write_line(&mut pending);
        loop {
            match self.tx.try_send(pending) {
                Ok(()) => return,
                // The writer drains every few milliseconds; wait without blocking the worker.
                Err(mpsc::TrySendError::Full(r)) => {
                    pending = r;
                    tokio::time::sleep(FULL_RETRY).await;
                }
                Err(mpsc::TrySendError::Disconnected(_)) => {
                    tracing::error!("audit log writer has stopped");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(user_agent: &'a str, caller: Option<&'a str>) -> AuditRecord<'a> {
        AuditRecord {
            event_time: OffsetDateTime::from_unix_timestamp(1_572_640_007).unwrap(),
            event_source: "sts.amazonaws.com",
            event_name: "AssumeRole",
            request_id: "r-1",
            source_ip: "127.0.0.1",
            user_agent,
            caller_arn: caller,
            access_key_id: None,
            error_code: Some("AccessDenied"),
        }
    }

    #[test]
    fn lines_are_json_with_every_character_escaped_as_json_requires() {
        let awkward = "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f} é ✓ \u{7f}";
        let mut line = Vec::new();
        record(awkward, Some("arn:aws:iam::123456789012:user/a")).write_line(&mut line);
        assert_eq!(line.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["userAgent"], awkward);
        assert_eq!(v["eventTime"], "2019-11-01T20:26:47Z");
        assert_eq!(v["userIdentityArn"], "arn:aws:iam::123456789012:user/a");
        assert_eq!(v["errorCode"], "AccessDenied");
        assert!(v.get("accessKeyId").is_none(), "absent fields are left out");
        // Byte for byte as serde_json writes it: short escapes where JSON has them, `\u00XX`
        // for other control characters, DEL and non-ASCII as they are.
        let text = String::from_utf8(line).unwrap();
        let expected = concat!(
            r#""userAgent":"a\"b\\c\n\r\t\b\f\u0001\u001f é ✓ "#,
            "\u{7f}\""
        );
        assert!(text.contains(expected), "{text}");
    }

    #[test]
    fn an_unauthenticated_record_names_no_caller() {
        let mut line = Vec::new();
        record("", None).write_line(&mut line);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert!(v.get("userIdentityArn").is_none());
        assert_eq!(v["userAgent"], "");
        assert_eq!(v.as_object().unwrap().len(), 7);
    }
}
