//! The signing side: what clients (our client crate and our tests) use.

use crate::canonical::{HttpRequest, canonical_request, payload_hash};
use crate::encode::encode_component;
use crate::key::{Scope, SigningKey, signature, string_to_sign};
use crate::{ALGORITHM, AmzDate, SecretKey};

/// What a signature is made with.
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    /// The access key id (`AKIA…` or `ASIA…`).
    pub access_key_id: &'a str,
    /// Its secret.
    pub secret: &'a SecretKey,
    /// The session token of temporary credentials.
    pub session_token: Option<&'a str>,
    /// The region to scope the signature to.
    pub region: &'a str,
    /// The service to scope the signature to.
    pub service: &'a str,
    /// The signing time.
    pub time: AmzDate,
}

impl Params<'_> {
    fn scope(&self) -> Scope<'_> {
        Scope {
            date: self.time.date_stamp().into(),
            region: self.region.into(),
            service: self.service.into(),
        }
    }
}

/// The result of signing, with the intermediate strings that AWS's test suite publishes.
#[derive(Clone, Debug)]
pub struct Signed {
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The hex signature.
    pub signature: String,
    /// For header signing: the headers to add. For presigning: empty.
    pub headers: Vec<(String, String)>,
    /// For presigning: the complete new query string. For header signing: the original.
    pub query: String,
}

/// Signs with an `Authorization` header. Every header of `req` is signed, plus `x-amz-date`
/// (added unless present) and `x-amz-security-token` (added for temporary credentials).
pub fn sign_headers(req: &HttpRequest<'_>, params: &Params<'_>) -> Signed {
    let date = params.time.to_string();
    let mut added: Vec<(String, String)> = Vec::new();
    if req.header("x-amz-date").is_none() {
        added.push(("x-amz-date".into(), date));
    }
    if let Some(token) = params.session_token {
        added.push(("x-amz-security-token".into(), token.to_owned()));
    }
    let all: Vec<(&str, &str)> = req
        .headers
        .iter()
        .copied()
        .chain(added.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .collect();
    let with_added = HttpRequest {
        headers: &all,
        ..*req
    };
    let mut signed: Vec<String> = all.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    signed.sort();
    signed.dedup();
    let scope = params.scope();
    let creq = canonical_request(&with_added, &signed, false, &payload_hash(req.body));
    let sts = string_to_sign(&params.time, &scope, &creq);
    let sig = signature(&SigningKey::derive(params.secret, &scope), &sts);
    added.push((
        "authorization".into(),
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={sig}",
            params.access_key_id,
            signed.join(";")
        ),
    ));
    Signed {
        canonical_request: creq,
        string_to_sign: sts,
        signature: sig,
        headers: added,
        query: req.query.to_owned(),
    }
}

/// Presigns: the signature and its parameters go into the query string, which is returned whole.
/// Every header of `req` is signed (usually just `host`).
pub fn presign(req: &HttpRequest<'_>, params: &Params<'_>, expires_secs: u32) -> Signed {
    let scope = params.scope();
    let mut signed: Vec<String> = req
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    signed.sort();
    signed.dedup();
    let mut query = req.query.to_owned();
    let mut push = |name: &str, value: &str| {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        query.push_str(&encode_component(value));
    };
    push("X-Amz-Algorithm", ALGORITHM);
    push(
        "X-Amz-Credential",
        &format!("{}/{scope}", params.access_key_id),
    );
    push("X-Amz-Date", &params.time.to_string());
    push("X-Amz-Expires", &expires_secs.to_string());
    push("X-Amz-SignedHeaders", &signed.join(";"));
    if let Some(token) = params.session_token {
        push("X-Amz-Security-Token", token);
    }
    let with_query = HttpRequest {
        query: &query,
        ..*req
    };
    let creq = canonical_request(&with_query, &signed, true, &payload_hash(req.body));
    let sts = string_to_sign(&params.time, &scope, &creq);
    let sig = signature(&SigningKey::derive(params.secret, &scope), &sts);
    query.push_str("&X-Amz-Signature=");
    query.push_str(&sig);
    Signed {
        canonical_request: creq,
        string_to_sign: sts,
        signature: sig,
        headers: Vec::new(),
        query,
    }
}
