//! The one request pipeline (STYLE.md #2): decode → authenticate → validate → authorize → act →
//! encode. Each stage produces the value the next one needs, and the audit record is emitted
//! in one place, at the end.

use crate::App;
use crate::audit::AuditRecord;
use crate::auth::{AuthContext, authenticate};
use crate::authorize::authorize;
use crate::ops::{OpContext, execute};
use crate::principal::{Caller, RequestEnv};
use tessera_proto::query::Params;
use tessera_proto::sts::{self, Action};
use tessera_proto::{ApiError, ErrorCode};
use tessera_sigv4::{AmzDate, HttpRequest};
use time::OffsetDateTime;

/// What the HTTP layer hands over.
pub struct Incoming<'a> {
    /// The request as SigV4 sees it.
    pub http: HttpRequest<'a>,
    /// Client address.
    pub source_ip: String,
    /// Request id, already chosen (it goes into a header too).
    pub request_id: String,
}

/// The reply: HTTP status and XML body.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The XML document.
    pub body: String,
}

/// Stage 1: parameters decoded and the action resolved.
struct Decoded<'a> {
    action: Action,
    params: Params<'a>,
}

fn decode<'a>(http: &HttpRequest<'a>) -> Result<Decoded<'a>, ApiError> {
    let body = if http.method.eq_ignore_ascii_case("POST") {
        std::str::from_utf8(http.body).map_err(|_| {
            ApiError::new(
                ErrorCode::MalformedQueryString,
                "The request body is not valid UTF-8.",
            )
        })?
    } else {
        ""
    };
    let params = Params::decode(http.query, body)?;
    let action = sts::resolve_action(&params)?;
    Ok(Decoded { action, params })
}

/// Runs a request through every stage. `caller` is filled in once known, for the audit record.
fn run<S>(
    app: &App<S>,
    incoming: &Incoming<'_>,
    now: OffsetDateTime,
    action_name: &mut Option<&'static str>,
    caller_seen: &mut Option<(String, String)>,
) -> Result<sts::Response, ApiError> {
    let decoded = decode(&incoming.http)?;
    *action_name = Some(decoded.action.name());
    let snapshot = app.snapshot.load();
    let ring = app.ring.load();
    let caller: Option<Caller> = if decoded.action.needs_signature() {
        let ctx = AuthContext {
            snapshot: &snapshot,
            ring: &ring,
            service: "sts",
            regions: &app.scope_regions,
            now: AmzDate::from_time(now),
        };
        Some(authenticate(&incoming.http, &ctx)?)
    } else {
        None
    };
    let request = sts::decode(decoded.action, &decoded.params)?;
    // Every action implemented so far is signed; the federation actions, whose token or
    // assertion is the credential, are refused by `decode` until they are built.
    let caller = caller.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotImplemented,
            "Unsigned actions are not implemented by this server yet.",
        )
    })?;
    *caller_seen = Some((
        caller.arn(&snapshot.partition),
        caller.access_key_id().to_owned(),
    ));
    let env = RequestEnv {
        partition: &snapshot.partition,
        now,
        source_ip: &incoming.source_ip,
    };
    let authorized = authorize(caller, request, &env)?;
    let ctx = OpContext {
        snapshot: &snapshot,
        ring: &ring,
        now,
    };
    Ok(execute(authorized, &ctx)?)
}

/// Handles one STS request end to end, and audits it.
pub async fn handle<S>(app: &App<S>, incoming: Incoming<'_>) -> Reply {
    let now = OffsetDateTime::now_utc();
    let mut action_name = None;
    let mut caller_seen = None;
    let outcome = run(app, &incoming, now, &mut action_name, &mut caller_seen);
    let (reply, error_code) = match outcome {
        Ok(response) => (
            Reply {
                status: 200,
                body: response.to_xml(&incoming.request_id),
            },
            None,
        ),
        Err(e) => (
            Reply {
                status: e.code.status(),
                body: e.to_xml(sts::NAMESPACE, &incoming.request_id),
            },
            Some(e.code.as_str()),
        ),
    };
    let (caller_arn, access_key_id) = caller_seen.unzip();
    app.audit
        .record(AuditRecord {
            event_time: now,
            event_source: "sts.amazonaws.com",
            event_name: action_name.unwrap_or("-").to_owned(),
            request_id: incoming.request_id,
            source_ip: incoming.source_ip,
            user_agent: incoming
                .http
                .header("user-agent")
                .unwrap_or_default()
                .to_owned(),
            caller_arn,
            access_key_id,
            error_code,
        })
        .await;
    reply
}
