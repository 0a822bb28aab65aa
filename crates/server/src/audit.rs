//! The audit log: one CloudTrail-style JSON line per request, written by a background task so
//! the request path never waits on disk or a lock. Records hold ids and outcomes, never a
//! secret or a session token.

use serde::Serialize;
use std::path::Path;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// One request's record.
#[derive(Debug, Serialize)]
pub struct AuditRecord {
    /// RFC 3339 time.
    #[serde(rename = "eventTime")]
    pub event_time: String,
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

/// The sending side, held by the request pipeline.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<AuditRecord>,
}

impl AuditLog {
    /// Starts the writer task appending to `path`.
    pub async fn start(path: &Path) -> std::io::Result<(Self, tokio::task::JoinHandle<()>)> {
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        let (tx, mut rx) = mpsc::channel::<AuditRecord>(8192);
        let task = tokio::spawn(async move {
            while let Some(record) = rx.recv().await {
                let mut line = serde_json::to_vec(&record).unwrap_or_default();
                line.push(b'\n');
                if let Err(e) = file.write_all(&line).await {
                    tracing::error!(error = %e, "audit log write failed");
                }
            }
            let _ = file.flush().await;
        });
        Ok((Self { tx }, task))
    }

    /// Queues a record; waits only if the writer is 8192 records behind.
    pub async fn record(&self, record: AuditRecord) {
        if self.tx.send(record).await.is_err() {
            tracing::error!("audit log writer has stopped");
        }
    }
}
