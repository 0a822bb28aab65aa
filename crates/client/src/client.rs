//! [`StsClient`]: builds Query requests, signs them with our SigV4 signer, sends them with
//! reqwest (rustls), retries throttling and server errors with backoff, and decodes results
//! and errors. [`Sts`] is the trait it implements, one method per STS action.

use crate::credentials::ProvideCredentials;
use crate::error::{ServiceError, StsError};
use crate::types::*;
use crate::xml::Node;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tessera_sigv4::sign::{Params, sign_headers};
use tessera_sigv4::{AmzDate, HttpRequest};
use time::OffsetDateTime;

/// The STS API version.
const VERSION: &str = "2011-06-15";
/// Attempts for a retryable failure, the first included.
const MAX_ATTEMPTS: u32 = 3;

/// Where requests go and how they are scoped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The base URL (`https://sts.us-west-2.amazonaws.com`, `http://127.0.0.1:8470`).
    pub url: String,
    /// The region signatures are scoped to.
    pub signing_region: String,
}

impl Endpoint {
    /// AWS's endpoint for a region: regional endpoints, the global endpoint for
    /// `aws-global`, and the `.amazonaws.com.cn` domain for China regions.
    pub fn aws(region: &str) -> Self {
        if region == "aws-global" {
            return Self {
                url: "https://sts.amazonaws.com".into(),
                signing_region: "us-east-1".into(),
            };
        }
        let domain = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        Self {
            url: format!("https://sts.{region}.{domain}"),
            signing_region: region.to_owned(),
        }
    }

    /// Any endpoint (Tessera, a proxy, a FIPS endpoint), signing for `region`.
    pub fn custom(url: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            url: url.into().trim_end_matches('/').to_owned(),
            signing_region: region.into(),
        }
    }
}

/// The STS API: one method per action, with its typed request, response and error.
pub trait Sts {
    /// `AssumeRole`.
    fn assume_role(
        &self,
        input: AssumeRoleRequest,
    ) -> impl Future<Output = Result<AssumeRoleResponse, StsError<crate::AssumeRoleError>>> + Send;
    /// `AssumeRoleWithSAML` (unsigned).
    fn assume_role_with_saml(
        &self,
        input: AssumeRoleWithSAMLRequest,
    ) -> impl Future<
        Output = Result<AssumeRoleWithSAMLResponse, StsError<crate::AssumeRoleWithSAMLError>>,
    > + Send;
    /// `AssumeRoleWithWebIdentity` (unsigned).
    fn assume_role_with_web_identity(
        &self,
        input: AssumeRoleWithWebIdentityRequest,
    ) -> impl Future<
        Output = Result<
            AssumeRoleWithWebIdentityResponse,
            StsError<crate::AssumeRoleWithWebIdentityError>,
        >,
    > + Send;
    /// `AssumeRoot`.
    fn assume_root(
        &self,
        input: AssumeRootRequest,
    ) -> impl Future<Output = Result<AssumeRootResponse, StsError<crate::AssumeRootError>>> + Send;
    /// `DecodeAuthorizationMessage`.
    fn decode_authorization_message(
        &self,
        input: DecodeAuthorizationMessageRequest,
    ) -> impl Future<
        Output = Result<
            DecodeAuthorizationMessageResponse,
            StsError<crate::DecodeAuthorizationMessageError>,
        >,
    > + Send;
    /// `GetAccessKeyInfo`.
    fn get_access_key_info(
        &self,
        input: GetAccessKeyInfoRequest,
    ) -> impl Future<
        Output = Result<GetAccessKeyInfoResponse, StsError<crate::GetAccessKeyInfoError>>,
    > + Send;
    /// `GetCallerIdentity`.
    fn get_caller_identity(
        &self,
        input: GetCallerIdentityRequest,
    ) -> impl Future<
        Output = Result<GetCallerIdentityResponse, StsError<crate::GetCallerIdentityError>>,
    > + Send;
    /// `GetDelegatedAccessToken`.
    fn get_delegated_access_token(
        &self,
        input: GetDelegatedAccessTokenRequest,
    ) -> impl Future<
        Output = Result<
            GetDelegatedAccessTokenResponse,
            StsError<crate::GetDelegatedAccessTokenError>,
        >,
    > + Send;
    /// `GetFederationToken`.
    fn get_federation_token(
        &self,
        input: GetFederationTokenRequest,
    ) -> impl Future<
        Output = Result<GetFederationTokenResponse, StsError<crate::GetFederationTokenError>>,
    > + Send;
    /// `GetSessionToken`.
    fn get_session_token(
        &self,
        input: GetSessionTokenRequest,
    ) -> impl Future<Output = Result<GetSessionTokenResponse, StsError<crate::GetSessionTokenError>>>
    + Send;
    /// `GetWebIdentityToken`.
    fn get_web_identity_token(
        &self,
        input: GetWebIdentityTokenRequest,
    ) -> impl Future<
        Output = Result<GetWebIdentityTokenResponse, StsError<crate::GetWebIdentityTokenError>>,
    > + Send;
}

/// A client for STS at one endpoint with one credentials provider.
#[derive(Clone)]
pub struct StsClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    credentials: Arc<dyn ProvideCredentials>,
}

impl StsClient {
    /// A client for `endpoint`, signing with credentials from `credentials`.
    pub fn new(endpoint: Endpoint, credentials: Arc<dyn ProvideCredentials>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            http,
            endpoint,
            credentials,
        }
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn body(action: &str, params: &Form) -> String {
        let mut body = format!("Action={action}&Version={VERSION}");
        for (k, v) in params {
            body.push('&');
            body.push_str(&tessera_sigv4::percent_encode(k));
            body.push('=');
            body.push_str(&tessera_sigv4::percent_encode(v));
        }
        body
    }

    /// Sends one request (signed unless `R::SIGNED` is false) with retries, and decodes it.
    async fn call<R: StsRequest, O: StsResponse, E: ServiceError>(
        &self,
        input: &R,
    ) -> Result<O, StsError<E>> {
        let body = Self::body(R::ACTION, &input.params());
        let url = reqwest::Url::parse(&format!("{}/", self.endpoint.url))
            .map_err(|e| StsError::Validation(format!("endpoint {}: {e}", self.endpoint.url)))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => {
                return Err(StsError::Validation(format!(
                    "endpoint {} has no host",
                    self.endpoint.url
                )));
            }
        };
        let creds = if R::SIGNED {
            Some(
                self.credentials
                    .credentials()
                    .await
                    .map_err(StsError::Credentials)?,
            )
        } else {
            None
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let content_type = "application/x-www-form-urlencoded; charset=utf-8";
            let mut headers: Vec<(String, String)> = vec![
                ("host".into(), host.clone()),
                ("content-type".into(), content_type.into()),
            ];
            if let Some(c) = &creds {
                let base: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                let req = HttpRequest {
                    method: "POST",
                    path: "/",
                    query: "",
                    headers: &base,
                    body: body.as_bytes(),
                };
                let signed = sign_headers(
                    &req,
                    &Params {
                        access_key_id: c.aws_access_key_id(),
                        secret: c.secret(),
                        session_token: c.token(),
                        region: &self.endpoint.signing_region,
                        service: "sts",
                        time: AmzDate::from_time(OffsetDateTime::now_utc()),
                    },
                );
                headers.extend(signed.headers);
            }
            let mut request = self.http.post(url.clone()).body(body.clone());
            for (n, v) in &headers {
                if n != "host" {
                    request = request.header(n.as_str(), v.as_str());
                }
            }
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match response.text().await {
                        Ok(text) => Ok((status, text)),
                        Err(e) => Err(e.to_string()),
                    }
                }
                Err(e) => Err(e.to_string()),
            };
            let retry = match &outcome {
                Err(_) => true,
                Ok((status, text)) => {
                    // 501 is an action the server does not implement: retrying cannot help.
                    matches!(*status, 500 | 502 | 503 | 504 | 429)
                        || ["Throttling", "ThrottlingException", "RequestLimitExceeded"]
                            .iter()
                            .any(|c| text.contains(&format!("<Code>{c}</Code>")))
                }
            };
            if retry && attempt < MAX_ATTEMPTS {
                // 100 ms, 200 ms … with up to 50 % jitter.
                let base = 100u64 << (attempt - 1);
                let mut b = [0u8; 1];
                let extra = if aws_lc_rs::rand::fill(&mut b).is_ok() {
                    base * u64::from(b[0]) / 510
                } else {
                    0
                };
                tokio::time::sleep(Duration::from_millis(base + extra)).await;
                continue;
            }
            let (status, text) = outcome.map_err(StsError::Dispatch)?;
            return decode::<E>(R::ACTION, status, &text).and_then(|result| {
                O::from_result(&result).ok_or_else(|| {
                    StsError::Parse(format!("{} result is missing members", R::ACTION))
                })
            });
        }
    }
}

/// Splits a response into its result element or its error.
fn decode<E: ServiceError>(action: &str, status: u16, text: &str) -> Result<Node, StsError<E>> {
    let root = Node::parse(text).map_err(|e| {
        StsError::Parse(format!(
            "HTTP {status}: {e}: {}",
            text.chars().take(200).collect::<String>()
        ))
    })?;
    if root.name == "ErrorResponse" || root.child("Error").is_some() {
        let error = root.child("Error").unwrap_or(&root);
        let code = error.text_of("Code").unwrap_or_default();
        let message = error.text_of("Message").unwrap_or_default();
        let request_id = root
            .text_of("RequestId")
            .or_else(|| root.child("RequestId").map(|r| r.text.clone()))
            .unwrap_or_default();
        return Err(match E::from_code(&code, &message) {
            Some(e) => StsError::Service(e),
            None => StsError::Unknown {
                status,
                code,
                message,
                request_id,
            },
        });
    }
    if !(200..300).contains(&status) {
        return Err(StsError::Unknown {
            status,
            code: String::new(),
            message: text.chars().take(200).collect(),
            request_id: String::new(),
        });
    }
    Ok(root
        .child(&format!("{action}Result"))
        .cloned()
        .unwrap_or_default())
}

macro_rules! sts_methods {
    ($($method:ident($req:ty) -> $resp:ty, $err:ty;)*) => {
        impl Sts for StsClient {
            $(
                async fn $method(&self, input: $req) -> Result<$resp, StsError<$err>> {
                    self.call(&input).await
                }
            )*
        }
    };
}

sts_methods! {
    assume_role(AssumeRoleRequest) -> AssumeRoleResponse, crate::AssumeRoleError;
    assume_role_with_saml(AssumeRoleWithSAMLRequest) -> AssumeRoleWithSAMLResponse, crate::AssumeRoleWithSAMLError;
    assume_role_with_web_identity(AssumeRoleWithWebIdentityRequest) -> AssumeRoleWithWebIdentityResponse, crate::AssumeRoleWithWebIdentityError;
    assume_root(AssumeRootRequest) -> AssumeRootResponse, crate::AssumeRootError;
    decode_authorization_message(DecodeAuthorizationMessageRequest) -> DecodeAuthorizationMessageResponse, crate::DecodeAuthorizationMessageError;
    get_access_key_info(GetAccessKeyInfoRequest) -> GetAccessKeyInfoResponse, crate::GetAccessKeyInfoError;
    get_caller_identity(GetCallerIdentityRequest) -> GetCallerIdentityResponse, crate::GetCallerIdentityError;
    get_delegated_access_token(GetDelegatedAccessTokenRequest) -> GetDelegatedAccessTokenResponse, crate::GetDelegatedAccessTokenError;
    get_federation_token(GetFederationTokenRequest) -> GetFederationTokenResponse, crate::GetFederationTokenError;
    get_session_token(GetSessionTokenRequest) -> GetSessionTokenResponse, crate::GetSessionTokenError;
    get_web_identity_token(GetWebIdentityTokenRequest) -> GetWebIdentityTokenResponse, crate::GetWebIdentityTokenError;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AssumeRoleError;

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::aws("eu-west-1").url,
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(Endpoint::aws("aws-global").signing_region, "us-east-1");
        assert_eq!(
            Endpoint::aws("cn-north-1").url,
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            Endpoint::custom("http://127.0.0.1:8470/", "us-east-1").url,
            "http://127.0.0.1:8470"
        );
    }

    #[test]
    fn errors_decode_to_modeled_or_unknown() {
        let err = |code: &str| {
            format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>m</Message></Error><RequestId>r1</RequestId></ErrorResponse>"
            )
        };
        match decode::<AssumeRoleError>("AssumeRole", 400, &err("PackedPolicyTooLarge")) {
            Err(StsError::Service(AssumeRoleError::PackedPolicyTooLarge(m))) => assert_eq!(m, "m"),
            _ => panic!("not modeled"),
        }
        match decode::<AssumeRoleError>("AssumeRole", 403, &err("AccessDenied")) {
            Err(StsError::Unknown {
                status,
                code,
                request_id,
                ..
            }) => assert_eq!(
                (status, code.as_str(), request_id.as_str()),
                (403, "AccessDenied", "r1")
            ),
            _ => panic!("not unknown"),
        }
        assert!(matches!(
            decode::<AssumeRoleError>("AssumeRole", 502, "<html>bad gateway"),
            Err(StsError::Parse(_))
        ));
    }

    #[test]
    fn bodies_are_form_encoded() {
        let body = StsClient::body(
            "AssumeRole",
            &vec![("Policy".to_owned(), "{\"a\": 1}".to_owned())],
        );
        assert_eq!(
            body,
            "Action=AssumeRole&Version=2011-06-15&Policy=%7B%22a%22%3A%201%7D"
        );
    }
}
