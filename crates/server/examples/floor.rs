//! The benchmark floor: the smallest hyper server we could write, answering every request with a
//! fixed body. Tessera's throughput is reported as a ratio to this, measured in the same run
//! (BENCHMARKS.md).
//!
//! Two models, so that the ratio never flatters Tessera: `tokio` is hyper's textbook server
//! (tokio's work-stealing runtime, a task per connection); `workers` deals connections to
//! Tessera's own worker threads ([`tessera_server::workers::Workers`]), as `tessera serve` does.
//!
//! Usage: `cargo run --release -p tessera-server --example floor -- 127.0.0.1:18080 [tokio|workers]`

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

const BODY: &[u8] = b"<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><UserId>AIDAEXAMPLEEXAMPLE000</UserId><Account>123456789012</Account><Arn>arn:aws:iam::123456789012:user/admin</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></GetCallerIdentityResponse>";

async fn answer(_req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

async fn connection(stream: tokio::net::TcpStream) {
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service_fn(answer))
        .await;
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18080".to_owned());
    let model = args.next().unwrap_or_else(|| "tokio".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    match model.as_str() {
        "tokio" => loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(connection(stream));
        },
        "workers" => {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            let mut workers = tessera_server::workers::Workers::start(cores)?;
            loop {
                let (stream, _) = listener.accept().await?;
                workers.dispatch(stream, connection)?;
            }
        }
        other => Err(std::io::Error::other(format!(
            "unknown model '{other}': tokio or workers"
        ))),
    }
}
