//! Assume a role with the default credential chain and print who the session is.
//!
//! `cargo run -p tessera-client --example assume_role -- ROLE_ARN [ENDPOINT]`

use std::sync::Arc;
use tessera_client::{
    AutoRefreshingProvider, Endpoint, GetCallerIdentityRequest, Sts,
    StsAssumeRoleSessionCredentialsProvider, StsClient, default_chain,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let role_arn = args
        .next()
        .ok_or("usage: assume_role ROLE_ARN [ENDPOINT]")?;
    let endpoint = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8470".into());
    let base = StsClient::new(
        Endpoint::custom(&endpoint, "us-east-1"),
        default_chain(None, Some(&endpoint), None),
    );
    // The role's credentials, refreshed 5 minutes before they expire.
    let role = AutoRefreshingProvider::new(StsAssumeRoleSessionCredentialsProvider::new(
        base,
        role_arn,
        "example".into(),
    ));
    let as_role = StsClient::new(Endpoint::custom(&endpoint, "us-east-1"), Arc::new(role));
    let me = as_role
        .get_caller_identity(GetCallerIdentityRequest::default())
        .await?;
    println!("{}", me.arn.unwrap_or_default());
    Ok(())
}
