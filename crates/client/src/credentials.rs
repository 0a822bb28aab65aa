//! Credentials and the providers that find them: static, environment, a chain, and an
//! auto-refreshing cache that any provider of temporary credentials sits behind.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tessera_sigv4::SecretKey;
use time::OffsetDateTime;

/// AWS credentials: a key pair, with a session token and expiry when temporary.
#[derive(Clone)]
pub struct AwsCredentials {
    key: String,
    secret: SecretKey,
    token: Option<String>,
    expires_at: Option<OffsetDateTime>,
}

impl AwsCredentials {
    /// Credentials from their parts.
    pub fn new(
        key: impl Into<String>,
        secret: impl Into<String>,
        token: Option<String>,
        expires_at: Option<OffsetDateTime>,
    ) -> Self {
        Self {
            key: key.into(),
            secret: SecretKey::new(secret.into()),
            token,
            expires_at,
        }
    }

    /// The access key id.
    pub fn aws_access_key_id(&self) -> &str {
        &self.key
    }

    /// The secret access key.
    pub fn aws_secret_access_key(&self) -> &str {
        self.secret.expose()
    }

    /// The secret as the signer takes it.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// The session token of temporary credentials.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// When temporary credentials expire.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at
    }

    /// Whether they expire within `margin` of `now`.
    pub fn expires_within(&self, now: OffsetDateTime, margin: Duration) -> bool {
        self.expires_at
            .is_some_and(|at| at - now <= time::Duration::try_from(margin).unwrap_or_default())
    }
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl TryFrom<&crate::types::Credentials> for AwsCredentials {
    type Error = CredentialsError;

    /// STS's credentials as provider credentials; the expiry must parse.
    fn try_from(c: &crate::types::Credentials) -> Result<Self, CredentialsError> {
        let expires = OffsetDateTime::parse(
            &c.expiration,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| CredentialsError::new(format!("bad Expiration {}: {e}", c.expiration)))?;
        Ok(Self::new(
            c.access_key_id.clone(),
            c.secret_access_key.clone(),
            Some(c.session_token.clone()),
            Some(expires),
        ))
    }
}

/// Why credentials could not be provided.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CredentialsError {
    /// What went wrong.
    pub message: String,
    /// When STS refused the call that would have produced them: so callers can report it as
    /// the service error it is (the aws CLI does).
    pub service: Option<ServiceFailure>,
}

/// A service error met while fetching credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFailure {
    /// The STS action (`AssumeRole`, …).
    pub operation: &'static str,
    /// The error code.
    pub code: String,
    /// The error message.
    pub message: String,
}

impl CredentialsError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            service: None,
        }
    }
}

/// A boxed future of credentials, so providers can be trait objects in chains.
pub type CredentialsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AwsCredentials, CredentialsError>> + Send + 'a>>;

/// Something that yields credentials.
pub trait ProvideCredentials: Send + Sync {
    /// Current credentials, fetching or refreshing as needed.
    fn credentials(&self) -> CredentialsFuture<'_>;
}

impl<P: ProvideCredentials + ?Sized> ProvideCredentials for Arc<P> {
    fn credentials(&self) -> CredentialsFuture<'_> {
        (**self).credentials()
    }
}

/// Fixed credentials.
#[derive(Clone, Debug)]
pub struct StaticProvider(AwsCredentials);

impl StaticProvider {
    /// Long-term (or any fixed) credentials.
    pub fn new(key: impl Into<String>, secret: impl Into<String>, token: Option<String>) -> Self {
        Self(AwsCredentials::new(key, secret, token, None))
    }

    /// Wraps credentials obtained elsewhere.
    pub fn from_credentials(c: AwsCredentials) -> Self {
        Self(c)
    }
}

impl ProvideCredentials for StaticProvider {
    fn credentials(&self) -> CredentialsFuture<'_> {
        let c = self.0.clone();
        Box::pin(async move { Ok(c) })
    }
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_CREDENTIAL_EXPIRATION`, read at every call.
#[derive(Clone, Debug, Default)]
pub struct EnvironmentProvider;

impl EnvironmentProvider {
    fn read() -> Result<AwsCredentials, CredentialsError> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let key = var("AWS_ACCESS_KEY_ID")
            .ok_or_else(|| CredentialsError::new("AWS_ACCESS_KEY_ID is not set"))?;
        let secret = var("AWS_SECRET_ACCESS_KEY")
            .ok_or_else(|| CredentialsError::new("AWS_SECRET_ACCESS_KEY is not set"))?;
        let expires = var("AWS_CREDENTIAL_EXPIRATION").and_then(|e| {
            OffsetDateTime::parse(&e, &time::format_description::well_known::Rfc3339).ok()
        });
        Ok(AwsCredentials::new(
            key,
            secret,
            var("AWS_SESSION_TOKEN"),
            expires,
        ))
    }
}

impl ProvideCredentials for EnvironmentProvider {
    fn credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(async { Self::read() })
    }
}

/// Tries providers in order; the first that yields credentials wins.
pub struct ChainProvider {
    providers: Vec<Box<dyn ProvideCredentials>>,
}

impl ChainProvider {
    /// A chain of providers, tried in order.
    pub fn new(providers: Vec<Box<dyn ProvideCredentials>>) -> Self {
        Self { providers }
    }
}

impl ProvideCredentials for ChainProvider {
    fn credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(async move {
            let mut reasons = Vec::new();
            let mut service = None;
            for p in &self.providers {
                match p.credentials().await {
                    Ok(c) => return Ok(c),
                    Err(e) => {
                        reasons.push(e.message);
                        service = service.or(e.service);
                    }
                }
            }
            Err(CredentialsError {
                message: format!(
                    "no provider in the chain had credentials: {}",
                    reasons.join("; ")
                ),
                service,
            })
        })
    }
}

/// How long before expiry the cache refreshes.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// The most the refresh point is moved earlier at random, so many clients do not refresh at
/// once.
pub const REFRESH_JITTER: Duration = Duration::from_secs(60);

/// Caches another provider's temporary credentials and refreshes them 5 minutes (plus up to a
/// minute of jitter) before they expire. One refresh runs at a time; concurrent callers wait
/// for it and share its result.
pub struct AutoRefreshingProvider<P> {
    inner: P,
    cached: tokio::sync::Mutex<Option<(AwsCredentials, Duration)>>,
}

fn jitter() -> Duration {
    let mut b = [0u8; 2];
    let secs = if aws_lc_rs::rand::fill(&mut b).is_ok() {
        u64::from(u16::from_le_bytes(b)) % (REFRESH_JITTER.as_secs() + 1)
    } else {
        0
    };
    Duration::from_secs(secs)
}

impl<P: ProvideCredentials> AutoRefreshingProvider<P> {
    /// Wraps a provider.
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// Drops the cached credentials, so the next call refreshes.
    pub async fn clear(&self) {
        *self.cached.lock().await = None;
    }
}

impl<P: ProvideCredentials> ProvideCredentials for AutoRefreshingProvider<P> {
    fn credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(async move {
            // Holding the lock across the refresh is what makes concurrent callers wait for
            // one refresh instead of starting their own.
            let mut cached = self.cached.lock().await;
            let now = OffsetDateTime::now_utc();
            if let Some((c, margin)) = cached.as_ref()
                && !c.expires_within(now, *margin)
            {
                return Ok(c.clone());
            }
            let fresh = self.inner.credentials().await?;
            *cached = Some((fresh.clone(), REFRESH_MARGIN + jitter()));
            Ok(fresh)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        calls: AtomicUsize,
        lifetime: time::Duration,
    }

    impl ProvideCredentials for Counting {
        fn credentials(&self) -> CredentialsFuture<'_> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(AwsCredentials::new(
                    format!("ASIA{n}"),
                    "s",
                    Some("t".into()),
                    Some(OffsetDateTime::now_utc() + self.lifetime),
                ))
            })
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh() {
        let p = Arc::new(AutoRefreshingProvider::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime: time::Duration::hours(1),
        }));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.credentials().await.unwrap() })
            })
            .collect();
        for h in handles {
            assert_eq!(h.await.unwrap().aws_access_key_id(), "ASIA0");
        }
        assert_eq!(p.inner.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshes_within_five_minutes_of_expiry() {
        let p = AutoRefreshingProvider::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime: time::Duration::minutes(4),
        });
        assert_eq!(p.credentials().await.unwrap().aws_access_key_id(), "ASIA0");
        assert_eq!(p.credentials().await.unwrap().aws_access_key_id(), "ASIA1");
        let long = AutoRefreshingProvider::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime: time::Duration::minutes(7),
        });
        long.credentials().await.unwrap();
        long.credentials().await.unwrap();
        assert_eq!(long.inner.calls.load(Ordering::SeqCst), 1);
        long.clear().await;
        assert_eq!(
            long.credentials().await.unwrap().aws_access_key_id(),
            "ASIA1"
        );
    }

    #[tokio::test]
    async fn chain_takes_the_first_that_works() {
        struct Failing;
        impl ProvideCredentials for Failing {
            fn credentials(&self) -> CredentialsFuture<'_> {
                Box::pin(async { Err(CredentialsError::new("none here")) })
            }
        }
        let chain = ChainProvider::new(vec![
            Box::new(Failing),
            Box::new(StaticProvider::new("AKIA1", "s", None)),
        ]);
        assert_eq!(
            chain.credentials().await.unwrap().aws_access_key_id(),
            "AKIA1"
        );
        let empty = ChainProvider::new(vec![Box::new(Failing)]);
        assert!(
            empty
                .credentials()
                .await
                .unwrap_err()
                .message
                .contains("none here")
        );
    }

    #[test]
    fn sts_credentials_convert() {
        let c = crate::types::Credentials {
            access_key_id: "ASIA".into(),
            expiration: "2026-11-24T04:00:00Z".into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
        };
        let a = AwsCredentials::try_from(&c).unwrap();
        assert_eq!(a.token(), Some("t"));
        assert_eq!(a.expires_at().unwrap().unix_timestamp(), 1_795_492_800);
        assert!(!format!("{a:?}").contains("\"s\""));
    }
}
