//! The one request pipeline (STYLE.md #2): decode → authenticate → validate → authorize → act →
//! encode. Each stage produces the value the next one needs, and the audit record is emitted
//! in one place, at the end.

use crate::App;
use crate::audit::AuditRecord;
use crate::auth::{AuthContext, authenticate};
use crate::authorize::authorize;
use crate::ops::{Federations, OpContext, execute, execute_unsigned};
use crate::principal::{Caller, RequestEnv};
use crate::store::Store;
use tessera_proto::query::Params;
use tessera_proto::{ApiError, ErrorCode};
use tessera_proto::{iam, sts};
use tessera_sigv4::{AmzDate, HttpRequest};
use time::OffsetDateTime;

/// What the HTTP layer hands over.
pub struct Incoming<'a> {
    /// The request as SigV4 sees it.
    pub http: HttpRequest<'a>,
    /// Client address.
    pub source_ip: &'a str,
    /// Request id, already chosen (it goes into a header too).
    pub request_id: &'a str,
}

/// The reply: HTTP status and XML body.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The XML document.
    pub body: String,
}

/// Which API a request is for, chosen by its `Version`.
#[derive(Clone, Copy)]
enum Api {
    Sts(sts::Action),
    Iam(iam::Action),
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Self::Sts(a) => a.name(),
            Self::Iam(a) => a.name(),
        }
    }
}

/// Stage 1: parameters decoded and the action resolved.
struct Decoded<'a> {
    api: Api,
    params: Params<'a>,
}

fn form_body<'a>(http: &HttpRequest<'a>) -> Result<&'a str, ApiError> {
    if http.method.eq_ignore_ascii_case("POST") {
        std::str::from_utf8(http.body).map_err(|_| {
            ApiError::new(
                ErrorCode::MalformedQueryString,
                "The request body is not valid UTF-8.",
            )
        })
    } else {
        Ok("")
    }
}

fn decode<'a>(params: Params<'a>) -> Result<Decoded<'a>, ApiError> {
    let api = if params.get("Version") == Some(iam::VERSION) {
        Api::Iam(iam::resolve_action(&params)?)
    } else {
        Api::Sts(sts::resolve_action(&params)?)
    };
    Ok(Decoded { api, params })
}

/// What the audit record needs to know of a request, filled in as stages complete.
#[derive(Default)]
struct Seen {
    /// The request is for IAM: its version is IAM's and its action is not an STS action
    /// (an STS action sent with IAM's version is answered as STS).
    iam: bool,
    action: Option<&'static str>,
    caller: Option<(String, String)>,
}

/// The result of either API, encoded for the wire.
enum Outcome {
    Sts(sts::Response),
    Iam(iam::Response),
}

async fn run<S: Store>(
    app: &App<S>,
    incoming: &Incoming<'_>,
    now: OffsetDateTime,
    seen: &mut Seen,
) -> Result<Outcome, ApiError> {
    let params = Params::decode(incoming.http.query, form_body(&incoming.http)?)?;
    seen.iam = params.get("Version") == Some(iam::VERSION)
        && params
            .get("Action")
            .is_none_or(|a| sts::Action::parse(a).is_none());
    let decoded = decode(params)?;
    seen.action = Some(decoded.api.name());
    let snapshot = app.snapshot.load();
    let ring = app.ring.load();
    let service = match decoded.api {
        Api::Sts(_) => "sts",
        Api::Iam(_) => "iam",
    };
    let needs_signature = match decoded.api {
        Api::Sts(a) => a.needs_signature(),
        Api::Iam(_) => true,
    };
    let caller: Option<Caller> = if needs_signature {
        let ctx = AuthContext {
            snapshot: &snapshot,
            ring: &ring,
            service,
            regions: &app.scope_regions,
            now: AmzDate::from_time(now),
        };
        Some(authenticate(&incoming.http, &ctx)?)
    } else {
        None
    };
    if let Some(c) = &caller {
        seen.caller = Some((c.arn(&snapshot.partition), c.access_key_id().to_owned()));
    }
    let env = RequestEnv {
        partition: &snapshot.partition,
        now,
        source_ip: incoming.source_ip,
    };
    match decoded.api {
        Api::Sts(action) => {
            let ctx = OpContext {
                snapshot: &snapshot,
                ring: &ring,
                now,
                env: &env,
            };
            let Some(caller) = caller else {
                // Unsigned actions: any signature sent along is ignored, as AWS does.
                let request = sts::decode_unsigned(action, &decoded.params)?;
                return Ok(Outcome::Sts(
                    execute_unsigned(
                        &Federations {
                            oidc: &app.oidc,
                            saml: &app.saml,
                            store: &app.store,
                        },
                        &request,
                        &ctx,
                    )
                    .await?,
                ));
            };
            let request = sts::decode(action, &decoded.params)?;
            let authorized = authorize(caller, request, &env)?;
            Ok(Outcome::Sts(execute(authorized, &ctx)?))
        }
        Api::Iam(action) => {
            let caller = caller.ok_or_else(|| {
                ApiError::new(
                    ErrorCode::MissingAuthenticationToken,
                    "Request is missing Authentication Token",
                )
            })?;
            let request = iam::decode(action, &decoded.params)?;
            let planned = crate::iam::plan(action, request, &caller, &snapshot)?;
            let authorized = crate::iam::authorize(planned, &caller, &env)?;
            Ok(Outcome::Iam(
                crate::iam::execute(authorized, app, &snapshot, &caller, now).await?,
            ))
        }
    }
}

/// Handles one request of either API end to end, and audits it.
pub async fn handle<S: Store>(app: &App<S>, incoming: Incoming<'_>) -> Reply {
    let now = OffsetDateTime::now_utc();
    let mut seen = Seen::default();
    let outcome = run(app, &incoming, now, &mut seen).await;
    let (reply, error_code) = match outcome {
        Ok(Outcome::Sts(response)) => (
            Reply {
                status: 200,
                body: response.to_xml(incoming.request_id),
            },
            None,
        ),
        Ok(Outcome::Iam(response)) => (
            Reply {
                status: 200,
                body: response.to_xml(incoming.request_id),
            },
            None,
        ),
        Err(e) => {
            // Errors use the namespace of the API the request is for.
            let namespace = if seen.iam {
                iam::NAMESPACE
            } else {
                sts::NAMESPACE
            };
            (
                Reply {
                    status: e.code.status(),
                    body: e.to_xml(namespace, incoming.request_id),
                },
                Some(e.code.as_str()),
            )
        }
    };
    let (caller_arn, access_key_id) = seen
        .caller
        .as_ref()
        .map(|(arn, key)| (arn.as_str(), key.as_str()))
        .unzip();
    app.audit
        .record(&AuditRecord {
            event_time: now,
            event_source: if seen.iam {
                "iam.amazonaws.com"
            } else {
                "sts.amazonaws.com"
            },
            event_name: seen.action.unwrap_or("-"),
            request_id: incoming.request_id,
            source_ip: incoming.source_ip,
            user_agent: incoming.http.header("user-agent").unwrap_or_default(),
            caller_arn,
            access_key_id,
            error_code,
        })
        .await;
    reply
}
