//! OIDC ID tokens (spec §3.3): the compact JWS, its header's algorithm allowlist, signature
//! verification with the issuer's key, and the claims AWS reads, each failure with its reason.

use super::jwks::{KeySet, KeyType};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

/// The claim holding session tags.
const TAGS_CLAIM: &str = "https://aws.amazon.com/tags";
/// The claim holding the source identity.
const SOURCE_IDENTITY_CLAIM: &str = "https://aws.amazon.com/source_identity";

/// Why a token is refused. Messages follow AWS's where AWS's are known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url segments of JSON.
    #[error(
        "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
    )]
    NotJwt,
    /// `alg` outside the allowlist (`none`, HMAC, …).
    #[error("Unsupported signing algorithm in the ID Token header: {0}")]
    Algorithm(String),
    /// A claim AWS requires is absent or of the wrong type.
    #[error("Missing a required claim: {0}")]
    MissingClaim(&'static str),
    /// No key of the issuer matches the token's `kid` and `alg`.
    #[error(
        "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
    )]
    NoKey,
    /// The signature does not verify.
    #[error("The ID Token signature is invalid.")]
    Signature,
    /// `exp` is not in the future (`ExpiredTokenException`).
    #[error("Token expired: current date/time {now} must be before the expiration date/time{exp}")]
    Expired {
        /// Unix seconds.
        now: i64,
        /// Unix seconds.
        exp: i64,
    },
    /// `iat` is older than the configured maximum age (`ExpiredTokenException`).
    #[error("Token too old: issued {0} seconds ago")]
    TooOld(i64),
    /// `nbf` is in the future beyond the tolerated skew.
    #[error("Token not yet valid: nbf is {0} seconds in the future")]
    NotYetValid(i64),
    /// `iat` is in the future beyond the tolerated skew.
    #[error("Token issued in the future: iat is {0} seconds ahead")]
    IssuedInFuture(i64),
    /// No audience of the token is a client id of the provider.
    #[error("Incorrect token audience")]
    Audience,
    /// The tags or source-identity claim breaks a rule.
    #[error("Invalid session tags in the ID Token: {0}")]
    Tags(String),
    /// The source-identity claim breaks a rule.
    #[error("Invalid source identity in the ID Token: {0}")]
    SourceIdentity(String),
}

/// A token split and decoded, signature not yet checked.
pub struct Unverified<'t> {
    alg: Algorithm,
    kid: Option<String>,
    signing_input: &'t str,
    signature: &'t str,
    claims: Map<String, Value>,
}

fn segment(s: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| TokenError::NotJwt)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(TokenError::NotJwt),
    }
}

/// The algorithms an ID token may be signed with: asymmetric only, so a public key can never
/// be used as an HMAC secret.
fn allowed(alg: &str) -> Option<Algorithm> {
    Some(match alg {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        _ => return None,
    })
}

/// The key type an algorithm needs.
fn key_type_for(alg: Algorithm) -> KeyType {
    match alg {
        Algorithm::ES256 => KeyType::P256,
        Algorithm::ES384 => KeyType::P384,
        _ => KeyType::Rsa,
    }
}

impl<'t> Unverified<'t> {
    /// Splits and decodes a compact JWS and checks its algorithm.
    pub fn parse(token: &'t str) -> Result<Self, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::NotJwt);
        };
        let header_map = segment(header)?;
        let claims = segment(payload)?;
        let alg_name = header_map
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(TokenError::NotJwt)?;
        let alg = allowed(alg_name).ok_or_else(|| TokenError::Algorithm(alg_name.to_owned()))?;
        if header_map.contains_key("crit") {
            // No critical extension is understood, so a token that requires one is refused.
            return Err(TokenError::Algorithm(format!("{alg_name} with crit")));
        }
        let kid = header_map
            .get("kid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let signing_input = token
            .get(..header.len() + 1 + payload.len())
            .ok_or(TokenError::NotJwt)?;
        Ok(Self {
            alg,
            kid,
            signing_input,
            signature,
            claims,
        })
    }

    /// SHA-256 of the whole token: what a verified signature is remembered by.
    pub fn digest(&self) -> [u8; 32] {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(self.signing_input.as_bytes());
        ctx.update(b".");
        ctx.update(self.signature.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    /// The header's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `iss` claim, which says which provider's keys verify the token.
    pub fn issuer(&self) -> Result<&str, TokenError> {
        self.claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or(TokenError::MissingClaim("iss"))
    }

    /// Verifies the signature with the issuer's key selected by `kid`, whose type (and pinned
    /// `alg`, if any) must match the token's algorithm.
    pub fn verify(self, keys: &KeySet) -> Result<Claims, TokenError> {
        let key = keys.select(self.kid.as_deref()).ok_or(TokenError::NoKey)?;
        let name = format!("{:?}", self.alg);
        if key.key_type != key_type_for(self.alg) || key.alg.as_ref().is_some_and(|a| *a != name) {
            return Err(TokenError::NoKey);
        }
        let valid = jsonwebtoken::crypto::verify(
            self.signature,
            self.signing_input.as_bytes(),
            &key.key,
            self.alg,
        )
        .unwrap_or(false);
        if !valid {
            return Err(TokenError::Signature);
        }
        Ok(Claims(self.claims))
    }
}

/// The claims of a token whose signature verified.
pub struct Claims(Map<String, Value>);

/// The rules claims are checked by.
pub struct Rules {
    /// Unix seconds now.
    pub now: i64,
    /// Tolerated clock difference for `nbf` and `iat`.
    pub skew: i64,
    /// Oldest acceptable `iat`, in seconds before now.
    pub max_age: i64,
}

/// Session tags `(key, value, transitive)`.
pub use crate::claims::SessionTags;

/// What AssumeRoleWithWebIdentity takes from a valid token.
#[derive(Debug, PartialEq, Eq)]
pub struct Identity {
    /// `sub`.
    pub subject: String,
    /// The matched client id (`aud` element or `azp`).
    pub audience: String,
    /// `amr`, as a list (Cognito).
    pub amr: Vec<String>,
    /// Session tags `(key, value, transitive)` from the tags claim.
    pub tags: SessionTags,
    /// Transitive tag keys as given in the claim.
    pub transitive_tag_keys: Vec<String>,
    /// The source identity claim.
    pub source_identity: Option<String>,
}

fn strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

impl Claims {
    fn time(&self, name: &'static str) -> Result<Option<i64>, TokenError> {
        match self.0.get(name) {
            None => Ok(None),
            // NumericDate may carry a fraction; whole seconds are compared.
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().map(|f| f as i64))
                .map(Some)
                .ok_or(TokenError::MissingClaim(name)),
        }
    }

    /// Checks times, audience, subject, tags and source identity.
    pub fn check(&self, client_ids: &[String], rules: &Rules) -> Result<Identity, TokenError> {
        let exp = self.time("exp")?.ok_or(TokenError::MissingClaim("exp"))?;
        if rules.now >= exp {
            return Err(TokenError::Expired {
                now: rules.now,
                exp,
            });
        }
        if let Some(nbf) = self.time("nbf")?
            && nbf > rules.now + rules.skew
        {
            return Err(TokenError::NotYetValid(nbf - rules.now));
        }
        let iat = self.time("iat")?.ok_or(TokenError::MissingClaim("iat"))?;
        if iat > rules.now + rules.skew {
            return Err(TokenError::IssuedInFuture(iat - rules.now));
        }
        if rules.now - iat > rules.max_age {
            return Err(TokenError::TooOld(rules.now - iat));
        }
        let audiences = self
            .0
            .get("aud")
            .and_then(strings)
            .filter(|a| !a.is_empty())
            .ok_or(TokenError::MissingClaim("aud"))?;
        let azp = self.0.get("azp").and_then(Value::as_str);
        let audience = audiences
            .iter()
            .map(String::as_str)
            .chain(azp)
            .find(|a| client_ids.iter().any(|c| c == a))
            .ok_or(TokenError::Audience)?
            .to_owned();
        let subject = self
            .0
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(TokenError::MissingClaim("sub"))?
            .to_owned();
        let amr = self.0.get("amr").and_then(strings).unwrap_or_default();
        let (tags, transitive_tag_keys) = match self.0.get(TAGS_CLAIM) {
            Some(v) => session_tags(v)?,
            None => (Vec::new(), Vec::new()),
        };
        let source_identity = match self.0.get(SOURCE_IDENTITY_CLAIM) {
            None => None,
            Some(Value::String(s)) => {
                crate::claims::source_identity(s).map_err(TokenError::SourceIdentity)?;
                Some(s.clone())
            }
            Some(_) => return Err(TokenError::SourceIdentity("it must be a string".into())),
        };
        Ok(Identity {
            subject,
            audience,
            amr,
            tags,
            transitive_tag_keys,
            source_identity,
        })
    }
}

/// The tags claim: `principal_tags` maps keys to single-element arrays (or strings), and
/// `transitive_tag_keys` lists some of those keys. AssumeRole's limits apply.
fn session_tags(v: &Value) -> Result<(SessionTags, Vec<String>), TokenError> {
    let bad = |why: &str| TokenError::Tags(why.to_owned());
    let obj = v
        .as_object()
        .ok_or_else(|| bad("the claim must be an object"))?;
    let principal = match obj.get("principal_tags") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(bad("principal_tags must be an object")),
    };
    let transitive = match obj.get("transitive_tag_keys") {
        None => Vec::new(),
        Some(v) => {
            strings(v).ok_or_else(|| bad("transitive_tag_keys must be a list of strings"))?
        }
    };
    let mut pairs = Vec::with_capacity(principal.len());
    for (key, value) in principal {
        let value = match value {
            Value::String(s) => s,
            Value::Array(items) => match items.as_slice() {
                [Value::String(s)] => s.clone(),
                _ => return Err(bad(&format!("the value of '{key}' must be one string"))),
            },
            _ => return Err(bad(&format!("the value of '{key}' must be one string"))),
        };
        pairs.push((key, value));
    }
    crate::claims::session_tags(pairs, transitive).map_err(TokenError::Tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn token(header: &Value, claims: &Value) -> String {
        format!("{}.{}.c2ln", b64(header), b64(claims))
    }

    #[test]
    fn shape_and_algorithm() {
        for bad in ["", "abc", "a.b", "a.b.c.d", "!!.e30.x", "e30.!!.x"] {
            assert_eq!(
                Unverified::parse(bad).err(),
                Some(TokenError::NotJwt),
                "{bad}"
            );
        }
        let claims = json!({"iss": "https://i"});
        for alg in ["none", "HS256", "HS512", "EdDSA", "ES512", "rs256"] {
            let t = token(&json!({"alg": alg}), &claims);
            assert_eq!(
                Unverified::parse(&t).err(),
                Some(TokenError::Algorithm(alg.into()))
            );
        }
        let t = token(&json!({"typ": "JWT"}), &claims);
        assert_eq!(Unverified::parse(&t).err(), Some(TokenError::NotJwt));
        let t = token(&json!({"alg": "RS256", "crit": ["b64"]}), &claims);
        assert!(matches!(
            Unverified::parse(&t),
            Err(TokenError::Algorithm(_))
        ));
        let t = token(&json!({"alg": "RS256", "kid": "k"}), &claims);
        let u = Unverified::parse(&t).unwrap();
        assert_eq!(u.kid(), Some("k"));
        assert_eq!(u.issuer(), Ok("https://i"));
        let t = token(&json!({"alg": "RS256"}), &json!({"iss": 5}));
        assert_eq!(
            Unverified::parse(&t).unwrap().issuer(),
            Err(TokenError::MissingClaim("iss"))
        );
    }

    fn rules() -> Rules {
        Rules {
            now: 1_000_000,
            skew: 60,
            max_age: 86_400,
        }
    }

    fn base() -> Map<String, Value> {
        json!({"sub": "user-1", "aud": "app", "exp": 1_000_600, "iat": 999_900})
            .as_object()
            .cloned()
            .unwrap()
    }

    fn check(edit: impl FnOnce(&mut Map<String, Value>)) -> Result<Identity, TokenError> {
        let mut c = base();
        edit(&mut c);
        Claims(c).check(&["app".to_owned(), "other".to_owned()], &rules())
    }

    #[test]
    fn times() {
        assert!(check(|_| {}).is_ok());
        assert_eq!(
            check(|c| {
                c.insert("exp".into(), json!(1_000_000));
            })
            .err(),
            Some(TokenError::Expired {
                now: 1_000_000,
                exp: 1_000_000
            })
        );
        assert_eq!(
            check(|c| {
                c.insert("nbf".into(), json!(1_000_061));
            })
            .err(),
            Some(TokenError::NotYetValid(61))
        );
        assert!(
            check(|c| {
                c.insert("nbf".into(), json!(1_000_060));
            })
            .is_ok()
        );
        assert_eq!(
            check(|c| {
                c.insert("iat".into(), json!(1_000_100));
            })
            .err(),
            Some(TokenError::IssuedInFuture(100))
        );
        assert_eq!(
            check(|c| {
                c.insert("iat".into(), json!(1_000_000 - 86_401));
            })
            .err(),
            Some(TokenError::TooOld(86_401))
        );
        assert_eq!(
            check(|c| {
                c.insert("exp".into(), json!("soon"));
            })
            .err(),
            Some(TokenError::MissingClaim("exp"))
        );
        for claim in ["exp", "iat", "aud", "sub"] {
            assert_eq!(
                check(|c| {
                    c.remove(claim);
                })
                .err(),
                Some(TokenError::MissingClaim(claim))
            );
        }
    }

    #[test]
    fn audiences() {
        assert_eq!(check(|_| {}).unwrap().audience, "app");
        let listed = check(|c| {
            c.insert("aud".into(), json!(["x", "other"]));
        });
        assert_eq!(listed.unwrap().audience, "other");
        let by_azp = check(|c| {
            c.insert("aud".into(), json!("x"));
            c.insert("azp".into(), json!("app"));
        });
        assert_eq!(by_azp.unwrap().audience, "app");
        assert_eq!(
            check(|c| {
                c.insert("aud".into(), json!("x"));
            })
            .err(),
            Some(TokenError::Audience)
        );
        assert_eq!(
            check(|c| {
                c.insert("aud".into(), json!([]));
            })
            .err(),
            Some(TokenError::MissingClaim("aud"))
        );
    }

    #[test]
    fn tags_and_source_identity() {
        let ok = check(|c| {
            c.insert(
                TAGS_CLAIM.into(),
                json!({"principal_tags": {"team": ["blue"], "env": ["dev"]}, "transitive_tag_keys": ["team"]}),
            );
            c.insert(SOURCE_IDENTITY_CLAIM.into(), json!("alice"));
        })
        .unwrap();
        assert!(ok.tags.contains(&("team".into(), "blue".into(), true)));
        assert!(ok.tags.contains(&("env".into(), "dev".into(), false)));
        assert_eq!(ok.source_identity.as_deref(), Some("alice"));
        let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(["v"]))).collect();
        let cases = [
            json!({"principal_tags": many}),
            json!({"principal_tags": {"k": ["a", "b"]}}),
            json!({"principal_tags": {"k": [1]}}),
            json!({"principal_tags": {"a".repeat(129): ["v"]}}),
            json!({"principal_tags": {"k": ["v".repeat(257)]}}),
            json!({"principal_tags": {"aws:k": ["v"]}}),
            json!({"principal_tags": {"K": ["v"], "k": ["w"]}}),
            json!({"principal_tags": {"k": ["v"]}, "transitive_tag_keys": ["x"]}),
            json!({"principal_tags": {"k!": ["v"]}}),
            json!("tags"),
        ];
        for case in cases {
            let r = check(|c| {
                c.insert(TAGS_CLAIM.into(), case.clone());
            });
            assert!(matches!(r, Err(TokenError::Tags(_))), "{case}");
        }
        for si in [json!("a"), json!("aws:x"), json!("has space"), json!(5)] {
            let r = check(|c| {
                c.insert(SOURCE_IDENTITY_CLAIM.into(), si.clone());
            });
            assert!(matches!(r, Err(TokenError::SourceIdentity(_))), "{si}");
        }
    }
}
