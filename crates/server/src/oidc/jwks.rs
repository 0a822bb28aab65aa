//! Issuer keys: discovery, JWKS fetch, and a per-issuer cache that honours `Cache-Control`,
//! refetches on an unknown key id at most once per interval, and lets one fetch per issuer be
//! in flight while concurrent requests wait for its result.

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Largest discovery document or JWKS accepted.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Longest a JWKS is cached, whatever its `max-age`.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// Why an issuer's keys are not available.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Connection, TLS, timeout or HTTP status failure (`IDPCommunicationError`).
    #[error("{0}")]
    Unreachable(String),
    /// The documents were fetched but are not usable (`InvalidIdentityToken`).
    #[error("{0}")]
    Unusable(String),
}

/// The kind of a verification key, which must match the token's `alg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// `kty: RSA`.
    Rsa,
    /// `kty: EC`, `crv: P-256`.
    P256,
    /// `kty: EC`, `crv: P-384`.
    P384,
}

/// One usable signing key of an issuer.
pub struct VerifyKey {
    /// `kid`, if the issuer named it.
    pub kid: Option<String>,
    /// `alg`, if the issuer pinned one.
    pub alg: Option<String>,
    /// What kind of key it is.
    pub key_type: KeyType,
    /// The key, ready for verification.
    pub key: DecodingKey,
}

/// An issuer's keys as last fetched.
pub struct KeySet {
    /// Usable signing keys (HMAC, encryption and unknown keys are dropped).
    pub keys: Vec<VerifyKey>,
    expires: Instant,
}

impl KeySet {
    /// The key a token's `kid` selects; without a `kid`, the only key if there is just one.
    pub fn select(&self, kid: Option<&str>) -> Option<&VerifyKey> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None => match self.keys.as_slice() {
                [only] => Some(only),
                _ => None,
            },
        }
    }
}

/// Converts a JWK to a verification key; `None` for keys that cannot verify ID tokens.
fn verify_key(jwk: &Jwk) -> Option<VerifyKey> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature)
    {
        return None;
    }
    let key_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyType::Rsa,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => KeyType::P256,
            EllipticCurve::P384 => KeyType::P384,
            _ => return None,
        },
        _ => return None,
    };
    Some(VerifyKey {
        kid: jwk.common.key_id.clone(),
        alg: jwk.common.key_algorithm.map(|a| format!("{a:?}")),
        key_type,
        key: DecodingKey::from_jwk(jwk).ok()?,
    })
}

/// Parses a JWKS document, keeping the keys that can verify signatures. Keys this server
/// cannot use are skipped, as an issuer may publish encryption or newer key types beside them.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<VerifyKey>, FetchError> {
    let unusable = || FetchError::Unusable("the JWKS is not a JSON Web Key Set".into());
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|_| unusable())?;
    let keys = doc
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(unusable)?;
    Ok(keys
        .iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .filter_map(|k| verify_key(&k))
        .collect())
}

/// `max-age` of a `Cache-Control` header, unless caching is forbidden.
fn max_age(header: Option<&str>) -> Option<Duration> {
    let header = header?;
    let mut age = None;
    for directive in header.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            age = v
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age
}

/// How keys are fetched and cached.
pub struct Fetcher {
    /// Least time between fetches caused by unknown key ids; also the shortest cache lifetime.
    pub refresh_interval: Duration,
    /// Lifetime of a JWKS without `max-age`.
    pub default_ttl: Duration,
    /// Whether `http://` issuers and JWKS URIs are accepted.
    pub insecure_http: bool,
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    /// When the last fetch finished, and its error if it failed.
    last: Option<(Instant, Option<FetchError>)>,
}

/// One issuer's cache.
#[derive(Default)]
struct Issuer {
    state: Mutex<State>,
    /// Held while fetching: one fetch per issuer at a time.
    fetching: tokio::sync::Mutex<()>,
}

/// What a lookup decided without fetching.
enum Cached {
    Use(Arc<KeySet>),
    Failed(FetchError),
    Fetch,
}

/// Every issuer's keys.
#[derive(Default)]
pub struct Cache {
    issuers: Mutex<HashMap<String, Arc<Issuer>>>,
}

impl Fetcher {
    fn decide(&self, state: &State, kid: Option<&str>, now: Instant) -> Cached {
        let recently = state
            .last
            .as_ref()
            .filter(|(at, _)| now.duration_since(*at) < self.refresh_interval);
        match (&state.keys, recently) {
            (Some(keys), _) if now < keys.expires && keys.select(kid).is_some() => {
                Cached::Use(keys.clone())
            }
            // Unknown key, or keys expired: refetch unless a fetch ended very recently.
            (_, Some((_, Some(error)))) => Cached::Failed(error.clone()),
            (Some(keys), Some((_, None))) => Cached::Use(keys.clone()),
            _ => Cached::Fetch,
        }
    }

    /// The keys of `issuer` able to verify a token with `kid`, fetching (with the client
    /// `client` makes, only then) when the cache cannot answer. The returned set may still lack
    /// `kid`; the caller reports that.
    pub async fn keys(
        &self,
        cache: &Cache,
        client: impl FnOnce() -> Result<reqwest::Client, FetchError>,
        issuer: &str,
        kid: Option<&str>,
    ) -> Result<Arc<KeySet>, FetchError> {
        let entry = {
            let mut issuers = cache.issuers.lock().unwrap_or_else(PoisonError::into_inner);
            match issuers.get(issuer) {
                Some(e) => e.clone(),
                None => issuers.entry(issuer.to_owned()).or_default().clone(),
            }
        };
        let asked = Instant::now();
        let lookup = |now| {
            let state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
            (
                self.decide(&state, kid, now),
                state.last.as_ref().map(|(at, _)| *at),
            )
        };
        if let (Cached::Use(keys), _) = lookup(asked) {
            return Ok(keys);
        }
        let _fetching = entry.fetching.lock().await;
        // A fetch that ended while this request waited answers it too.
        let (decision, last) = lookup(Instant::now());
        match decision {
            Cached::Use(keys) => return Ok(keys),
            Cached::Failed(e) => return Err(e),
            Cached::Fetch => {}
        }
        if let Some(at) = last
            && at >= asked
        {
            let state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
            return state.keys.clone().ok_or_else(|| {
                FetchError::Unusable("the identity provider published no usable key".into())
            });
        }
        let fetched = match client() {
            Ok(client) => self.fetch(&client, issuer).await,
            Err(e) => Err(e),
        };
        let mut state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
        let done = Instant::now();
        match fetched {
            Ok((keys, ttl)) => {
                let set = Arc::new(KeySet {
                    keys,
                    expires: done + ttl,
                });
                state.keys = Some(set.clone());
                state.last = Some((done, None));
                Ok(set)
            }
            Err(e) => {
                state.last = Some((done, Some(e.clone())));
                Err(e)
            }
        }
    }

    async fn get(
        &self,
        client: &reqwest::Client,
        url: &str,
        what: &str,
    ) -> Result<(Vec<u8>, Option<String>), FetchError> {
        let mut response = client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| FetchError::Unreachable(format!("{what} {url}: {}", describe(&e))))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Unreachable(format!(
                "{what} {url}: HTTP {status}"
            )));
        }
        let cache_control = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::Unreachable(format!("{what} {url}: {}", describe(&e))))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::Unusable(format!(
                    "{what} {url} is larger than {MAX_DOCUMENT_BYTES} bytes"
                )));
            }
        }
        Ok((body, cache_control))
    }

    /// Discovery, then the JWKS; returns the keys and how long to keep them.
    async fn fetch(
        &self,
        client: &reqwest::Client,
        issuer: &str,
    ) -> Result<(Vec<VerifyKey>, Duration), FetchError> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let (body, _) = self.get(client, &discovery_url, "discovery").await?;
        let doc: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| FetchError::Unusable(format!("discovery {discovery_url} is not JSON")))?;
        if doc.get("issuer").and_then(serde_json::Value::as_str) != Some(issuer) {
            return Err(FetchError::Unusable(format!(
                "discovery {discovery_url} names another issuer"
            )));
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                FetchError::Unusable(format!("discovery {discovery_url} has no jwks_uri"))
            })?;
        if !(jwks_uri.starts_with("https://")
            || (self.insecure_http && jwks_uri.starts_with("http://")))
        {
            return Err(FetchError::Unusable(format!(
                "jwks_uri {jwks_uri} is not an HTTPS URL"
            )));
        }
        let (body, cache_control) = self.get(client, jwks_uri, "JWKS").await?;
        let keys = parse_jwks(&body)?;
        let ttl = max_age(cache_control.as_deref())
            .unwrap_or(self.default_ttl)
            .clamp(self.refresh_interval, MAX_TTL);
        Ok((keys, ttl))
    }
}

/// A transport error with its causes, which carry the useful part (refused, TLS, timeout).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_JWK: &str = r#"{"kty":"RSA","kid":"r1","use":"sig","alg":"RS256","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}"#;
    const EC_JWK: &str = r#"{"kty":"EC","kid":"e1","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

    #[test]
    fn jwks_keeps_signing_keys_only() {
        let doc = format!(
            r#"{{"keys":[{RSA_JWK},{EC_JWK},{{"kty":"oct","kid":"h","k":"c2VjcmV0"}},{{"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"}},{{"kty":"OKP","crv":"X25519","x":"AA"}},"junk"]}}"#
        );
        let keys = parse_jwks(doc.as_bytes()).unwrap();
        let kids: Vec<_> = keys.iter().map(|k| k.kid.clone().unwrap()).collect();
        assert_eq!(kids, vec!["r1", "e1"]);
        assert_eq!(keys[0].key_type, KeyType::Rsa);
        assert_eq!(keys[0].alg.as_deref(), Some("RS256"));
        assert_eq!(keys[1].key_type, KeyType::P256);
        assert!(matches!(
            parse_jwks(b"{\"nokeys\":1}"),
            Err(FetchError::Unusable(_))
        ));
        assert!(matches!(
            parse_jwks(b"<html>"),
            Err(FetchError::Unusable(_))
        ));
    }

    #[test]
    fn key_selection() {
        let one = KeySet {
            keys: parse_jwks(format!(r#"{{"keys":[{RSA_JWK}]}}"#).as_bytes()).unwrap(),
            expires: Instant::now(),
        };
        assert!(one.select(None).is_some(), "a lone key needs no kid");
        assert!(one.select(Some("r1")).is_some());
        assert!(one.select(Some("r2")).is_none());
        let two = KeySet {
            keys: parse_jwks(format!(r#"{{"keys":[{RSA_JWK},{EC_JWK}]}}"#).as_bytes()).unwrap(),
            expires: Instant::now(),
        };
        assert!(
            two.select(None).is_none(),
            "without a kid, two keys are ambiguous"
        );
    }

    #[test]
    fn cache_control() {
        assert_eq!(
            max_age(Some("public, max-age=600")),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age(Some("no-store")), Some(Duration::ZERO));
        assert_eq!(max_age(Some("public")), None);
        assert_eq!(max_age(None), None);
    }

    fn fetcher() -> Fetcher {
        Fetcher {
            refresh_interval: Duration::from_secs(60),
            default_ttl: Duration::from_secs(3600),
            insecure_http: false,
        }
    }

    #[test]
    fn unknown_kids_refetch_at_most_once_per_interval() {
        let f = fetcher();
        let now = Instant::now();
        let keys = Arc::new(KeySet {
            keys: parse_jwks(format!(r#"{{"keys":[{RSA_JWK}]}}"#).as_bytes()).unwrap(),
            expires: now + Duration::from_secs(3600),
        });
        let fresh = State {
            keys: Some(keys.clone()),
            last: Some((now, None)),
        };
        assert!(matches!(f.decide(&fresh, Some("r1"), now), Cached::Use(_)));
        // Unknown kid just after a fetch: no new fetch, the caller sees the key missing.
        assert!(matches!(f.decide(&fresh, Some("zz"), now), Cached::Use(_)));
        let later = now + Duration::from_secs(61);
        assert!(matches!(f.decide(&fresh, Some("zz"), later), Cached::Fetch));
        // A recent failure is reported without another fetch.
        let failed = State {
            keys: None,
            last: Some((now, Some(FetchError::Unreachable("down".into())))),
        };
        assert!(matches!(
            f.decide(&failed, Some("r1"), now),
            Cached::Failed(_)
        ));
        assert!(matches!(
            f.decide(&failed, Some("r1"), later),
            Cached::Fetch
        ));
        assert!(matches!(
            f.decide(&State::default(), None, now),
            Cached::Fetch
        ));
        // Expired keys are refetched even for a known kid.
        let expired = State {
            keys: Some(Arc::new(KeySet {
                keys: Vec::new(),
                expires: now,
            })),
            last: Some((now - Duration::from_secs(3600), None)),
        };
        assert!(matches!(f.decide(&expired, Some("r1"), now), Cached::Fetch));
    }
}
