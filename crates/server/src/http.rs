//! The HTTP layer: our own accept loop over hyper (so limits and graceful shutdown are ours),
//! body-size limit, request ids and the AWS response headers. Knows nothing of AWS semantics.

use crate::App;
use crate::pipeline::{Incoming, Reply, handle};
use crate::store::Store;
use crate::workers::Workers;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as Body};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tessera_proto::{ApiError, ErrorCode};
use tessera_sigv4::HttpRequest;
use tokio::net::TcpListener;

/// How long a client may take to send its headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

fn xml_response(status: u16, body: String, request_id: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    response
}

fn too_large(limit: usize, request_id: &str) -> Response<Full<Bytes>> {
    let e = ApiError::new(
        ErrorCode::RequestEntityTooLarge,
        format!("Request body is larger than the {limit}-byte limit."),
    );
    xml_response(
        e.code.status(),
        e.to_xml(tessera_proto::sts::NAMESPACE, request_id),
        request_id,
    )
}

async fn serve_request<S: Store>(
    app: &'static App<S>,
    req: Request<Body>,
    source_ip: Arc<str>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut id_buffer = uuid::Uuid::encode_buffer();
    let request_id: &str = uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut id_buffer);
    if matches!(req.uri().path(), "/healthz" | "/readyz") && req.method() == hyper::Method::GET {
        let mut ok = Response::new(Full::new(Bytes::from_static(b"ok\n")));
        ok.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return Ok(ok);
    }
    let limit = app.max_body_bytes;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Ok(too_large(limit, request_id));
    }
    let (parts, body) = req.into_parts();
    let body = if hyper::body::Body::is_end_stream(&body) {
        Bytes::new()
    } else {
        match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return Ok(too_large(limit, request_id)),
        }
    };
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v)))
        .collect();
    let incoming = Incoming {
        http: HttpRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or_default(),
            headers: &headers,
            body: &body,
        },
        source_ip: &source_ip,
        request_id,
    };
    let Reply { status, body } = handle(app, incoming).await;
    Ok(xml_response(status, body, request_id))
}

/// Serves until `shutdown` completes, then drains connections for up to [`DRAIN_TIMEOUT`].
///
/// This task only accepts; each connection is served by one of `workers` threads
/// ([`Workers`]) for its whole life.
pub async fn serve<S: Store>(
    app: &'static App<S>,
    listener: TcpListener,
    workers: usize,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut workers = Workers::start(workers)?;
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                // Responses are small and complete: send them at once.
                let _ = stream.set_nodelay(true);
                let dispatched = workers.dispatch(stream, |stream| {
                    // `app` is a `&'static`: no shared reference count is touched per
                    // request. The address is formatted once per connection, not per request;
                    // its count is only ever touched by this connection's worker.
                    let source_ip: Arc<str> = remote.ip().to_string().into();
                    let service =
                        service_fn(move |req| serve_request(app, req, source_ip.clone()));
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_TIMEOUT)
                        .writev(false)
                        .serve_connection(TokioIo::new(stream), service);
                    let watched = graceful.watch(conn);
                    async move {
                        if let Err(e) = watched.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    }
                });
                if let Err(e) = dispatched {
                    tracing::warn!(error = %e, "could not hand a connection to a worker");
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within the drain timeout");
    }
    workers.stop();
    Ok(())
}
