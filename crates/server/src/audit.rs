//! The audit log: one CloudTrail-style JSON line per request, written by a background thread so
//! the request path never waits on disk or a lock. Records hold ids and outcomes, never a
//! secret or a session token.

use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// One request's record.
#[derive(Debug, Serialize)]
pub struct AuditRecord {
    /// When the request arrived; formatted (RFC 3339) by the writer thread, off the request path.
    #[serde(rename = "eventTime", serialize_with = "rfc3339")]
    pub event_time: OffsetDateTime,
    /// `sts.amazonaws.com`.
    #[serde(rename = "eventSource")]
    pub event_source: &'static str,
    /// The action, or `-` if it could not be read.
    #[serde(rename = "eventName")]
    pub event_name: String,
    /// Request id.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// Client address.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip: String,
    /// User agent header.
    #[serde(rename = "userAgent")]
    pub user_agent: String,
    /// Caller ARN, once authenticated.
    #[serde(rename = "userIdentityArn", skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    /// The access key id the request was signed with, once authenticated.
    #[serde(rename = "accessKeyId", skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The error code, if the request failed.
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
}

/// How often the writer drains the queue. Draining on a timer, not on each record, means a
/// request never wakes another thread: sending is a lock-free queue push.
const DRAIN_EVERY: Duration = Duration::from_millis(20);
/// Bytes the writer gathers before a `write` call: a busy server's records of one drain
/// interval (about 300 bytes each) go out in a few calls, not one per 8 KiB.
const BUFFER_BYTES: usize = 256 * 1024;
/// Queue capacity; a full queue makes requests wait (records are never dropped).
const CAPACITY: usize = 65_536;

fn rfc3339<S: serde::Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&tessera_proto::sts::format_timestamp(*t))
}

/// The sending side, held by the request pipeline.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<AuditRecord>,
}

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

fn drain(rx: &mut mpsc::Receiver<AuditRecord>, out: &mut BufWriter<File>) -> bool {
    loop {
        match rx.try_recv() {
            Ok(record) => {
                let written = serde_json::to_writer(&mut *out, &record)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"));
                if let Err(e) = written {
                    tracing::error!(error = %e, "audit log write failed");
                }
            }
            Err(mpsc::error::TryRecvError::Empty) => return true,
            Err(mpsc::error::TryRecvError::Disconnected) => return false,
        }
    }
}

impl AuditLog {
    /// A log that keeps nothing, for an app that serves no requests: `tessera apply` runs IAM
    /// actions on a copy of the store, and actions do not audit (the request pipeline does).
    pub fn disconnected() -> Self {
        let (tx, _) = mpsc::channel(1);
        Self { tx }
    }

    /// Starts the writer thread appending to `path`.
    pub fn start(path: &Path) -> std::io::Result<(Self, AuditWriter)> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let (tx, mut rx) = mpsc::channel::<AuditRecord>(CAPACITY);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("tessera-audit".into())
            .spawn(move || {
                let mut out = BufWriter::with_capacity(BUFFER_BYTES, file);
                loop {
                    let last = stopping.load(Ordering::Acquire);
                    let open = drain(&mut rx, &mut out) && !last;
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
    pub async fn record(&self, record: AuditRecord) {
        let pending = match self.tx.try_send(record) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(r)) => r,
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("audit log writer has stopped");
                return;
            }
        };
        if self.tx.send(pending).await.is_err() {
            tracing::error!("audit log writer has stopped");
        }
    }
}
