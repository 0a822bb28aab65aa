//! Web identity federation (spec §3.3): finding a token's provider, fetching and caching the
//! issuer's keys, and verifying the token. The STS action itself is in `ops::web_identity`.

pub mod jwks;
mod tls;
pub mod token;

use crate::config::OidcConfig;
use crate::snapshot::OidcProvider;
use jwks::{Cache, FetchError, Fetcher};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
pub use tls::RootsError;
use token::{Claims, Identity, Rules, TokenError, Unverified};

/// Why a web identity token was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebIdentityError {
    /// The token itself (`InvalidIdentityToken`, or `ExpiredTokenException` for its age).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// No provider of the role's account is registered for the token's issuer.
    #[error("No OpenIDConnect provider found in your account for {0}")]
    NoProvider(String),
    /// The issuer's keys could not be fetched (`IDPCommunicationError`) or used.
    #[error(transparent)]
    Keys(#[from] FetchError),
    /// The OAuth 2.0 mode (`ProviderId`) needs a provider this server does not have.
    #[error("The ProviderId {0} is not supported: only OpenID Connect ID tokens are accepted.")]
    ProviderId(String),
}

/// Issuer keys and the rules tokens are judged by, shared by every request.
pub struct Federation {
    fetcher: Fetcher,
    cache: Cache,
    roots: Arc<rustls::RootCertStore>,
    timeout: Duration,
    /// HTTP clients by the thumbprint list they also trust (most providers have none).
    clients: Mutex<HashMap<Vec<String>, reqwest::Client>>,
    skew: i64,
    max_age: i64,
    /// Tokens whose signature verified, by digest (see [`Federation::verify`]).
    verified: Mutex<HashMap<[u8; 32], Arc<Claims>>>,
}

/// Remembered verified tokens; the map is emptied when it reaches this size.
const MAX_VERIFIED: usize = 4096;

fn secs(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Federation {
    /// Loads the trust roots and sets the rules.
    pub fn new(config: &OidcConfig) -> Result<Self, RootsError> {
        Ok(Self {
            fetcher: Fetcher {
                refresh_interval: Duration::from_secs(config.refresh_interval_secs),
                default_ttl: Duration::from_secs(config.jwks_ttl_secs),
                insecure_http: config.insecure_http,
            },
            cache: Cache::default(),
            roots: tls::load_roots(config.ca_bundle.as_deref())?,
            timeout: Duration::from_secs(config.fetch_timeout_secs),
            clients: Mutex::new(HashMap::new()),
            skew: secs(config.clock_skew_secs),
            max_age: secs(config.max_token_age_secs),
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `http://` issuers are accepted (development only).
    pub fn insecure_http(&self) -> bool {
        self.fetcher.insecure_http
    }

    fn client(&self, thumbprints: &[String]) -> Result<reqwest::Client, FetchError> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = clients.get(thumbprints) {
            return Ok(c.clone());
        }
        let c = tls::client(
            &self.roots,
            thumbprints,
            self.timeout,
            self.fetcher.insecure_http,
        )
        .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        clients.insert(thumbprints.to_vec(), c.clone());
        Ok(c)
    }

    /// The issuer path (`host[:port][/path]`) of an `iss`, if its scheme is acceptable.
    pub fn issuer_path<'i>(&self, iss: &'i str) -> Option<&'i str> {
        iss.strip_prefix("https://").or_else(|| {
            iss.strip_prefix("http://")
                .filter(|_| self.fetcher.insecure_http)
        })
    }

    /// Verifies a token of `provider` and returns what it says. `iss` decides where keys are
    /// fetched from, so it is the token's own issuer, which names the provider.
    ///
    /// A token presented again (an IRSA pod refreshing with its projected token) skips the
    /// signature check while the key that verified it is still published; its claims are
    /// checked every time.
    pub async fn verify(
        &self,
        token: Unverified<'_>,
        provider: &OidcProvider,
        now: i64,
    ) -> Result<Identity, WebIdentityError> {
        let issuer = token.issuer()?.to_owned();
        let keys = self
            .fetcher
            .keys(
                &self.cache,
                || self.client(&provider.thumbprints),
                &issuer,
                token.kid(),
            )
            .await?;
        let digest = token.digest();
        let remembered = self
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&digest)
            .cloned()
            .filter(|_| keys.select(token.kid()).is_some());
        let claims = match remembered {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(token.verify(&keys)?);
                let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
                if verified.len() >= MAX_VERIFIED {
                    verified.clear();
                }
                verified.insert(digest, claims.clone());
                claims
            }
        };
        let rules = Rules {
            now,
            skew: self.skew,
            max_age: self.max_age,
        };
        Ok(claims.check(&provider.client_ids, &rules)?)
    }
}
