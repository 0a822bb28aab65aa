//! The IRSA convention: `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` and
//! `AWS_ENDPOINT_URL_STS` in the environment; the token file is re-read at every refresh.
//!
//! `cargo run -p tessera-client --example web_identity`

use std::sync::Arc;
use tessera_client::{
    AutoRefreshingProvider, GetCallerIdentityRequest, Sts, StsClient, WebIdentityProvider,
    resolve_endpoint, resolve_region,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let provider = WebIdentityProvider::from_k8s_env(None)
        .ok_or("set AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN")?;
    let region = resolve_region(None, None);
    let sts = StsClient::new(
        resolve_endpoint(None, None, &region),
        Arc::new(AutoRefreshingProvider::new(provider)),
    );
    let me = sts
        .get_caller_identity(GetCallerIdentityRequest::default())
        .await?;
    println!("{}", me.arn.unwrap_or_default());
    Ok(())
}
