//! The STS API (version 2011-06-15): its actions, typed requests validated to the model's limits,
//! and the XML encoding of results.

use crate::query::Params;
use crate::validate::Violations;
use crate::xml::XmlWriter;
use crate::{AccessKeyId, AccountId, ApiError, ErrorCode};
use std::fmt;
use tessera_sigv4::SecretKey;
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The only API version STS has.
pub const VERSION: &str = "2011-06-15";
/// The XML namespace of every STS response.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The eleven STS actions, by their wire names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `AssumeRole`.
    AssumeRole,
    /// `AssumeRoleWithSAML`.
    AssumeRoleWithSaml,
    /// `AssumeRoleWithWebIdentity`.
    AssumeRoleWithWebIdentity,
    /// `AssumeRoot`.
    AssumeRoot,
    /// `DecodeAuthorizationMessage`.
    DecodeAuthorizationMessage,
    /// `GetAccessKeyInfo`.
    GetAccessKeyInfo,
    /// `GetCallerIdentity`.
    GetCallerIdentity,
    /// `GetDelegatedAccessToken`.
    GetDelegatedAccessToken,
    /// `GetFederationToken`.
    GetFederationToken,
    /// `GetSessionToken`.
    GetSessionToken,
    /// `GetWebIdentityToken`.
    GetWebIdentityToken,
}

const ACTIONS: [(Action, &str); 11] = [
    (Action::AssumeRole, "AssumeRole"),
    (Action::AssumeRoleWithSaml, "AssumeRoleWithSAML"),
    (
        Action::AssumeRoleWithWebIdentity,
        "AssumeRoleWithWebIdentity",
    ),
    (Action::AssumeRoot, "AssumeRoot"),
    (
        Action::DecodeAuthorizationMessage,
        "DecodeAuthorizationMessage",
    ),
    (Action::GetAccessKeyInfo, "GetAccessKeyInfo"),
    (Action::GetCallerIdentity, "GetCallerIdentity"),
    (Action::GetDelegatedAccessToken, "GetDelegatedAccessToken"),
    (Action::GetFederationToken, "GetFederationToken"),
    (Action::GetSessionToken, "GetSessionToken"),
    (Action::GetWebIdentityToken, "GetWebIdentityToken"),
];

impl Action {
    /// Looks up an action by its exact (case-sensitive) wire name.
    pub fn parse(name: &str) -> Option<Self> {
        ACTIONS.iter().find(|(_, n)| *n == name).map(|(a, _)| *a)
    }

    /// The wire name.
    pub fn name(self) -> &'static str {
        ACTIONS
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("", |(_, n)| n)
    }

    /// Whether the action needs a SigV4 signature (all but the two federation actions, whose
    /// token or assertion is the credential).
    pub fn needs_signature(self) -> bool {
        !matches!(
            self,
            Self::AssumeRoleWithSaml | Self::AssumeRoleWithWebIdentity
        )
    }
}

/// Resolves `Action` and `Version` (spec §1.2): `MissingAction`, or `InvalidAction` for an
/// unknown action or a version other than 2011-06-15.
pub fn resolve_action(params: &Params) -> Result<Action, ApiError> {
    let name = params
        .get("Action")
        .ok_or_else(|| ApiError::new(ErrorCode::MissingAction, "Missing Action"))?;
    let version = params.get("Version").unwrap_or_default();
    match Action::parse(name) {
        Some(action) if version == VERSION => Ok(action),
        _ => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!(
                "Could not find operation {name} for version {}",
                if version.is_empty() {
                    "NO_VERSION_SPECIFIED"
                } else {
                    version
                }
            ),
        )),
    }
}

/// A session duration that is within `MIN..=MAX` seconds by construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationSeconds<const MIN: u32, const MAX: u32>(u32);

impl<const MIN: u32, const MAX: u32> DurationSeconds<MIN, MAX> {
    /// `None` unless `MIN <= secs <= MAX`.
    pub fn new(secs: u32) -> Option<Self> {
        (MIN..=MAX).contains(&secs).then_some(Self(secs))
    }

    /// The number of seconds.
    pub fn get(self) -> u32 {
        self.0
    }

    fn read(v: &mut Violations, params: &Params, name: &str, path: &str) -> Option<Self> {
        v.integer(params.get(name), path, i64::from(MIN), i64::from(MAX))
            .and_then(|n| u32::try_from(n).ok())
            .and_then(Self::new)
    }
}

/// The MFA device serial and the code from it, always supplied together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mfa {
    /// The device ARN or hardware serial.
    pub serial_number: String,
    /// Six digits.
    pub token_code: String,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn read_mfa(v: &mut Violations, params: &Params) -> Option<Mfa> {
    let serial = params.get("SerialNumber");
    let code = params.get("TokenCode");
    if let Some(s) = serial {
        v.length(s, "serialNumber", 9, 256);
        v.pattern(s, "serialNumber", "[\\w+=/:,.@-]*", |c| {
            is_word(c) || "+=/:,.@-".contains(c)
        });
    }
    if let Some(c) = code {
        v.length(c, "tokenCode", 6, 6);
        v.pattern(c, "tokenCode", "[\\d]*", |ch| ch.is_ascii_digit());
    }
    match (serial, code) {
        (Some(s), Some(c)) => Some(Mfa {
            serial_number: s.to_owned(),
            token_code: c.to_owned(),
        }),
        (Some(_), None) => {
            v.missing("tokenCode");
            None
        }
        (None, Some(_)) => {
            v.missing("serialNumber");
            None
        }
        (None, None) => None,
    }
}

/// `GetSessionToken` parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetSessionToken {
    /// Requested duration; the default depends on the caller (43200 for users, 3600 for root).
    pub duration: Option<DurationSeconds<900, 129_600>>,
    /// MFA, when the caller authenticates with a device.
    pub mfa: Option<Mfa>,
}

/// `GetAccessKeyInfo` parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetAccessKeyInfo {
    /// The key to look up, as given (16–128 word characters; it may be any AWS-shaped id).
    pub access_key_id: String,
}

/// `AssumeRole` parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssumeRole {
    /// The role to assume, as given (parsed by the operation).
    pub role_arn: String,
    /// 2–64 `[\w+=,.@-]`.
    pub role_session_name: String,
    /// Requested duration; default 3600.
    pub duration: Option<DurationSeconds<900, 43_200>>,
    /// Inline session policy.
    pub policy: Option<String>,
    /// Managed session policy ARNs.
    pub policy_arns: Vec<String>,
    /// Session tags `(key, value)`, keys unique case-insensitively.
    pub tags: Vec<(String, String)>,
    /// Which session tags are transitive.
    pub transitive_tag_keys: Vec<String>,
    /// For `sts:ExternalId` conditions.
    pub external_id: Option<String>,
    /// MFA.
    pub mfa: Option<Mfa>,
    /// Source identity to set.
    pub source_identity: Option<String>,
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

fn is_session_name_char(c: char) -> bool {
    is_word(c) || "+=,.@-".contains(c)
}

fn read_session_tags(
    v: &mut Violations,
    params: &Params<'_>,
) -> (Vec<(String, String)>, Vec<String>) {
    let items = params.struct_list("Tags").unwrap_or_else(|bad| {
        v.push(Some(&bad), "tags", "be a well-formed list of Tag");
        Vec::new()
    });
    if items.len() > 50 {
        v.push(None, "tags", "have length less than or equal to 50");
    }
    let mut tags = Vec::with_capacity(items.len());
    for (i, members) in items.iter().enumerate() {
        let get = |m: &str| members.iter().find(|(n, _)| *n == m).map(|(_, val)| *val);
        let (kp, vp) = (
            format!("tags.{}.member.key", i + 1),
            format!("tags.{}.member.value", i + 1),
        );
        let key = get("Key").unwrap_or_else(|| {
            v.missing(&kp);
            ""
        });
        let value = get("Value").unwrap_or_else(|| {
            v.missing(&vp);
            ""
        });
        v.length(key, &kp, 1, 128);
        v.pattern(key, &kp, "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", is_tag_char);
        v.length(value, &vp, 0, 256);
        v.pattern(value, &vp, "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", is_tag_char);
        tags.push((key.to_owned(), value.to_owned()));
    }
    let transitive: Vec<String> = params
        .list("TransitiveTagKeys")
        .unwrap_or_else(|bad| {
            v.push(Some(&bad), "transitiveTagKeys", "be a well-formed list");
            Vec::new()
        })
        .into_iter()
        .map(str::to_owned)
        .collect();
    if transitive.len() > 50 {
        v.push(
            None,
            "transitiveTagKeys",
            "have length less than or equal to 50",
        );
    }
    for k in &transitive {
        v.length(k, "transitiveTagKeys", 1, 128);
    }
    (tags, transitive)
}

fn read_assume_role(v: &mut Violations, params: &Params<'_>) -> AssumeRole {
    let role_arn = read_role_arn(v, params);
    let role_session_name = read_role_session_name(v, params);
    let policy = read_policy(v, params, usize::MAX);
    let policy_arns = read_policy_arns(v, params);
    let (tags, transitive_tag_keys) = read_session_tags(v, params);
    let external_id = params.get("ExternalId").map(|e| {
        v.length(e, "externalId", 2, 1224);
        v.pattern(e, "externalId", "[\\w+=,.@:\\/-]*", |c| {
            is_word(c) || "+=,.@:/-".contains(c)
        });
        e.to_owned()
    });
    let source_identity = params.get("SourceIdentity").map(|si| {
        v.length(si, "sourceIdentity", 2, 64);
        v.pattern(si, "sourceIdentity", "[\\w+=,.@-]*", is_session_name_char);
        si.to_owned()
    });
    if params
        .struct_list("ProvidedContexts")
        .is_ok_and(|c| !c.is_empty())
    {
        v.push(
            None,
            "providedContexts",
            "be absent: no trusted context provider is configured on this server",
        );
    }
    AssumeRole {
        role_arn,
        role_session_name,
        duration: DurationSeconds::read(v, params, "DurationSeconds", "durationSeconds"),
        policy,
        policy_arns,
        tags,
        transitive_tag_keys,
        external_id,
        mfa: read_mfa(v, params),
        source_identity,
    }
}

/// `GetFederationToken` parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetFederationToken {
    /// The federated user's name, 2–32 `[\w+=,.@-]`.
    pub name: String,
    /// Requested duration; the default depends on the caller (43200 for users, 3600 for root).
    pub duration: Option<DurationSeconds<900, 129_600>>,
    /// Inline session policy (1–2048 characters).
    pub policy: Option<String>,
    /// Managed session policy ARNs.
    pub policy_arns: Vec<String>,
    /// Session tags `(key, value)`.
    pub tags: Vec<(String, String)>,
}

fn read_policy(v: &mut Violations, params: &Params<'_>, max: usize) -> Option<String> {
    params.get("Policy").map(|p| {
        v.length(p, "policy", 1, max);
        if !p
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
        {
            v.push(
                Some(p),
                "policy",
                "satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
            );
        }
        p.to_owned()
    })
}

fn read_policy_arns(v: &mut Violations, params: &Params<'_>) -> Vec<String> {
    params
        .struct_list("PolicyArns")
        .unwrap_or_else(|bad| {
            v.push(
                Some(&bad),
                "policyArns",
                "be a well-formed list of PolicyDescriptorType",
            );
            Vec::new()
        })
        .iter()
        .filter_map(|members| {
            members.iter().find(|(n, _)| *n == "arn").map(|(_, a)| {
                v.length(a, "policyArns.member.arn", 20, 2048);
                (*a).to_owned()
            })
        })
        .collect()
}

fn read_federation(v: &mut Violations, params: &Params<'_>) -> GetFederationToken {
    let name = match params.get("Name") {
        Some(n) => {
            v.length(n, "name", 2, 32);
            v.pattern(n, "name", "[\\w+=,.@-]*", is_session_name_char);
            n.to_owned()
        }
        None => {
            v.missing("name");
            String::new()
        }
    };
    let (tags, _) = read_session_tags(v, params);
    GetFederationToken {
        name,
        duration: DurationSeconds::read(v, params, "DurationSeconds", "durationSeconds"),
        policy: read_policy(v, params, 2048),
        policy_arns: read_policy_arns(v, params),
        tags,
    }
}

/// `AssumeRoleWithWebIdentity` parameters. `Debug` leaves the token out.
#[derive(Clone, PartialEq, Eq)]
pub struct AssumeRoleWithWebIdentity {
    /// The role to assume, as given (parsed by the operation).
    pub role_arn: String,
    /// 2–64 `[\w+=,.@-]`.
    pub role_session_name: String,
    /// The OIDC ID token (4–20000 characters); a bearer secret, so never logged.
    pub web_identity_token: String,
    /// The OAuth 2.0 provider (`www.amazon.com`, `graph.facebook.com`), when the token is an
    /// access token rather than an ID token.
    pub provider_id: Option<String>,
    /// Requested duration; default 3600.
    pub duration: Option<DurationSeconds<900, 43_200>>,
    /// Inline session policy (1–2048 characters).
    pub policy: Option<String>,
    /// Managed session policy ARNs.
    pub policy_arns: Vec<String>,
}

impl fmt::Debug for AssumeRoleWithWebIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumeRoleWithWebIdentity")
            .field("role_arn", &self.role_arn)
            .field("role_session_name", &self.role_session_name)
            .field("web_identity_token", &"<redacted>")
            .field("provider_id", &self.provider_id)
            .field("duration", &self.duration)
            .finish_non_exhaustive()
    }
}

fn read_role_arn(v: &mut Violations, params: &Params<'_>) -> String {
    match params.get("RoleArn") {
        Some(a) => {
            v.length(a, "roleArn", 20, 2048);
            a.to_owned()
        }
        None => {
            v.missing("roleArn");
            String::new()
        }
    }
}

fn read_role_session_name(v: &mut Violations, params: &Params<'_>) -> String {
    match params.get("RoleSessionName") {
        Some(n) => {
            v.length(n, "roleSessionName", 2, 64);
            v.pattern(n, "roleSessionName", "[\\w+=,.@-]*", is_session_name_char);
            n.to_owned()
        }
        None => {
            v.missing("roleSessionName");
            String::new()
        }
    }
}

fn read_web_identity(v: &mut Violations, params: &Params<'_>) -> AssumeRoleWithWebIdentity {
    let role_arn = read_role_arn(v, params);
    let role_session_name = read_role_session_name(v, params);
    let web_identity_token = match params.get("WebIdentityToken") {
        Some(t) => {
            // The token is a secret: a violation names its length, never its value.
            if !(4..=20_000).contains(&t.chars().count()) {
                v.push(None, "webIdentityToken", "have length between 4 and 20000");
            }
            t.to_owned()
        }
        None => {
            v.missing("webIdentityToken");
            String::new()
        }
    };
    let provider_id = params.get("ProviderId").map(|p| {
        v.length(p, "providerId", 4, 2048);
        p.to_owned()
    });
    AssumeRoleWithWebIdentity {
        role_arn,
        role_session_name,
        web_identity_token,
        provider_id,
        duration: DurationSeconds::read(v, params, "DurationSeconds", "durationSeconds"),
        policy: read_policy(v, params, 2048),
        policy_arns: read_policy_arns(v, params),
    }
}

/// `AssumeRoleWithSAML` parameters. `Debug` leaves the assertion out.
#[derive(Clone, PartialEq, Eq)]
pub struct AssumeRoleWithSaml {
    /// The role to assume, as given (parsed by the operation).
    pub role_arn: String,
    /// The IAM SAML provider's ARN, as given.
    pub principal_arn: String,
    /// The base64 SAML response (4–100000 characters); a bearer credential, so never logged.
    pub saml_assertion: String,
    /// Requested duration; default 3600.
    pub duration: Option<DurationSeconds<900, 43_200>>,
    /// Inline session policy (1–2048 characters).
    pub policy: Option<String>,
    /// Managed session policy ARNs.
    pub policy_arns: Vec<String>,
}

impl fmt::Debug for AssumeRoleWithSaml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumeRoleWithSaml")
            .field("role_arn", &self.role_arn)
            .field("principal_arn", &self.principal_arn)
            .field("saml_assertion", &"<redacted>")
            .field("duration", &self.duration)
            .finish_non_exhaustive()
    }
}

fn read_saml(v: &mut Violations, params: &Params<'_>) -> AssumeRoleWithSaml {
    let role_arn = read_role_arn(v, params);
    let principal_arn = match params.get("PrincipalArn") {
        Some(a) => {
            v.length(a, "principalArn", 20, 2048);
            a.to_owned()
        }
        None => {
            v.missing("principalArn");
            String::new()
        }
    };
    let saml_assertion = match params.get("SAMLAssertion") {
        Some(a) => {
            // A credential, and large: a violation names its length, never its value.
            let len = a.chars().count();
            if len < 4 {
                v.push(
                    None,
                    "sAMLAssertion",
                    "have length greater than or equal to 4",
                );
            } else if len > 100_000 {
                v.push(
                    None,
                    "sAMLAssertion",
                    "have length less than or equal to 100000",
                );
            }
            a.to_owned()
        }
        None => {
            v.missing("sAMLAssertion");
            String::new()
        }
    };
    AssumeRoleWithSaml {
        role_arn,
        principal_arn,
        saml_assertion,
        duration: DurationSeconds::read(v, params, "DurationSeconds", "durationSeconds"),
        policy: read_policy(v, params, 2048),
        policy_arns: read_policy_arns(v, params),
    }
}

/// A validated request of an unsigned STS action: its token or assertion is the credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unsigned {
    /// `AssumeRoleWithWebIdentity`.
    WebIdentity(Box<AssumeRoleWithWebIdentity>),
    /// `AssumeRoleWithSAML`.
    Saml(Box<AssumeRoleWithSaml>),
}

/// Decodes and validates the parameters of an action that needs no signature
/// ([`Action::needs_signature`] is false); the others give `NotImplemented` until they exist.
pub fn decode_unsigned(action: Action, params: &Params) -> Result<Unsigned, ApiError> {
    let mut v = Violations::new();
    let request = match action {
        Action::AssumeRoleWithWebIdentity => {
            Unsigned::WebIdentity(Box::new(read_web_identity(&mut v, params)))
        }
        Action::AssumeRoleWithSaml => Unsigned::Saml(Box::new(read_saml(&mut v, params))),
        other => {
            return Err(ApiError::new(
                ErrorCode::NotImplemented,
                format!("{} is not implemented by this server yet.", other.name()),
            ));
        }
    };
    v.finish()?;
    Ok(request)
}

/// A validated request of a signed STS action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `GetFederationToken`.
    GetFederationToken(Box<GetFederationToken>),
    /// `AssumeRole`.
    AssumeRole(Box<AssumeRole>),
    /// `GetCallerIdentity`.
    GetCallerIdentity,
    /// `GetSessionToken`.
    GetSessionToken(GetSessionToken),
    /// `GetAccessKeyInfo`.
    GetAccessKeyInfo(GetAccessKeyInfo),
}

/// Decodes and validates the parameters of `action`. Every constraint violation is reported
/// together; actions this server does not implement yet give `NotImplemented`.
pub fn decode(action: Action, params: &Params) -> Result<Request, ApiError> {
    let mut v = Violations::new();
    let request = match action {
        Action::GetCallerIdentity => Request::GetCallerIdentity,
        Action::GetSessionToken => Request::GetSessionToken(GetSessionToken {
            duration: DurationSeconds::read(&mut v, params, "DurationSeconds", "durationSeconds"),
            mfa: read_mfa(&mut v, params),
        }),
        Action::GetAccessKeyInfo => {
            let id = params.get("AccessKeyId");
            match id {
                Some(id) => {
                    v.length(id, "accessKeyId", 16, 128);
                    v.pattern(id, "accessKeyId", "[\\w]*", is_word);
                }
                None => v.missing("accessKeyId"),
            }
            Request::GetAccessKeyInfo(GetAccessKeyInfo {
                access_key_id: id.unwrap_or_default().to_owned(),
            })
        }
        Action::AssumeRole => Request::AssumeRole(Box::new(read_assume_role(&mut v, params))),
        Action::GetFederationToken => {
            Request::GetFederationToken(Box::new(read_federation(&mut v, params)))
        }
        Action::AssumeRoleWithSaml
        | Action::AssumeRoleWithWebIdentity
        | Action::AssumeRoot
        | Action::DecodeAuthorizationMessage
        | Action::GetDelegatedAccessToken
        | Action::GetWebIdentityToken => {
            return Err(ApiError::new(
                ErrorCode::NotImplemented,
                format!("{} is not implemented by this server yet.", action.name()),
            ));
        }
    };
    v.finish()?;
    Ok(request)
}

/// A session token: opaque to clients, a bearer secret to us, so never printed whole.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// Wraps a token.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token itself, for the response body and for opening it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head: String = self.0.chars().take(8).collect();
        write!(f, "SessionToken({head}…<{} bytes>)", self.0.len())
    }
}

/// Temporary credentials as returned by every credential-issuing action.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// `ASIA…`.
    pub access_key_id: AccessKeyId,
    /// The temporary secret.
    pub secret_access_key: SecretKey,
    /// The session token.
    pub session_token: SessionToken,
    /// When the credentials stop working.
    pub expiration: OffsetDateTime,
}

/// What every action that starts a role session returns.
#[derive(Clone, Debug)]
pub struct RoleSessionOut {
    /// The session's credentials.
    pub credentials: Credentials,
    /// `<role id>:<session name>`.
    pub assumed_role_id: String,
    /// `arn:…:sts::<account>:assumed-role/<role>/<session>`.
    pub arn: String,
    /// Percentage of the packed limit, when session policies or tags were packed.
    pub packed_policy_size: Option<usize>,
    /// The session's source identity.
    pub source_identity: Option<String>,
}

/// The SAML-specific part of `AssumeRoleWithSAML`'s result.
#[derive(Clone, Debug)]
pub struct SamlClaimsOut {
    /// `Subject/NameID`.
    pub subject: String,
    /// The NameID format, without the SAML 2.0 prefix for the short forms.
    pub subject_type: String,
    /// The assertion's issuer.
    pub issuer: String,
    /// The bearer confirmation's recipient.
    pub audience: String,
    /// Base64 SHA-1 of issuer, account and provider name.
    pub name_qualifier: String,
}

/// A successful STS result.
#[derive(Clone, Debug)]
pub enum Response {
    /// `AssumeRole`.
    AssumedRole(Box<RoleSessionOut>),
    /// `AssumeRoleWithWebIdentity`.
    WebIdentity {
        /// What every role session returns.
        session: Box<RoleSessionOut>,
        /// The token's `sub`.
        subject: String,
        /// The matched client id.
        audience: String,
        /// The IAM OIDC provider's ARN.
        provider: String,
    },
    /// `AssumeRoleWithSAML`.
    Saml {
        /// What every role session returns.
        session: Box<RoleSessionOut>,
        /// What the assertion said about its subject and issuer.
        claims: Box<SamlClaimsOut>,
    },
    /// `GetCallerIdentity`.
    CallerIdentity {
        /// The caller's ARN.
        arn: String,
        /// The caller's `aws:userid`.
        user_id: String,
        /// The caller's account.
        account: AccountId,
    },
    /// `GetSessionToken`.
    SessionToken(Credentials),
    /// `GetFederationToken`.
    FederationToken {
        /// The session's credentials.
        credentials: Credentials,
        /// `<account>:<name>`.
        federated_user_id: String,
        /// `arn:…:sts::<account>:federated-user/<name>`.
        arn: String,
        /// Percentage of the packed limit, when session policies or tags were packed.
        packed_policy_size: Option<usize>,
    },
    /// `GetAccessKeyInfo`.
    AccessKeyInfo {
        /// The account that owns the key.
        account: AccountId,
    },
}

const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Formats a timestamp as STS does (`2019-11-01T20:26:47Z`). Runs for every response and
/// audit record, so the digits are written directly rather than through a format description.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let Ok(year) = u16::try_from(t.year()) else {
        return t.format(TIMESTAMP).unwrap_or_default();
    };
    if year > 9999 {
        return t.format(TIMESTAMP).unwrap_or_default();
    }
    let mut out = String::with_capacity(20);
    let mut digits = |n: u16, width: u32, after: char| {
        for place in (0..width).rev() {
            let digit = (n / 10u16.pow(place)) % 10;
            out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
        out.push(after);
    };
    digits(year, 4, '-');
    digits(u16::from(u8::from(t.month())), 2, '-');
    digits(u16::from(t.day()), 2, 'T');
    digits(u16::from(t.hour()), 2, ':');
    digits(u16::from(t.minute()), 2, ':');
    digits(u16::from(t.second()), 2, 'Z');
    out
}

fn write_credentials(w: &mut XmlWriter, c: &Credentials) {
    w.open("Credentials");
    w.text_element("AccessKeyId", c.access_key_id.as_str());
    w.text_element("SecretAccessKey", c.secret_access_key.expose());
    w.text_element("SessionToken", c.session_token.expose());
    w.text_element("Expiration", &format_timestamp(c.expiration));
    w.close("Credentials");
}

/// `AssumedRoleUser`, `PackedPolicySize` and `SourceIdentity` of a role session.
fn write_role_session(w: &mut XmlWriter, s: &RoleSessionOut) {
    w.open("AssumedRoleUser");
    w.text_element("AssumedRoleId", &s.assumed_role_id);
    w.text_element("Arn", &s.arn);
    w.close("AssumedRoleUser");
    if let Some(size) = s.packed_policy_size {
        w.text_element("PackedPolicySize", &size.to_string());
    }
    if let Some(si) = &s.source_identity {
        w.text_element("SourceIdentity", si);
    }
}

impl Response {
    fn action(&self) -> Action {
        match self {
            Self::AssumedRole(_) => Action::AssumeRole,
            Self::WebIdentity { .. } => Action::AssumeRoleWithWebIdentity,
            Self::Saml { .. } => Action::AssumeRoleWithSaml,
            Self::CallerIdentity { .. } => Action::GetCallerIdentity,
            Self::SessionToken(_) => Action::GetSessionToken,
            Self::FederationToken { .. } => Action::GetFederationToken,
            Self::AccessKeyInfo { .. } => Action::GetAccessKeyInfo,
        }
    }

    /// The `<{Action}Response>` document.
    pub fn to_xml(&self, request_id: &str) -> String {
        crate::xml::envelope(
            self.action().name(),
            NAMESPACE,
            request_id,
            true,
            |w| match self {
                Self::CallerIdentity {
                    arn,
                    user_id,
                    account,
                } => {
                    w.text_element("UserId", user_id);
                    w.text_element("Account", &account.to_string());
                    w.text_element("Arn", arn);
                }
                Self::SessionToken(c) => write_credentials(w, c),
                Self::FederationToken {
                    credentials,
                    federated_user_id,
                    arn,
                    packed_policy_size,
                } => {
                    write_credentials(w, credentials);
                    w.open("FederatedUser");
                    w.text_element("FederatedUserId", federated_user_id);
                    w.text_element("Arn", arn);
                    w.close("FederatedUser");
                    if let Some(size) = packed_policy_size {
                        w.text_element("PackedPolicySize", &size.to_string());
                    }
                }
                Self::AssumedRole(session) => {
                    write_credentials(w, &session.credentials);
                    write_role_session(w, session);
                }
                Self::WebIdentity {
                    session,
                    subject,
                    audience,
                    provider,
                } => {
                    write_credentials(w, &session.credentials);
                    w.text_element("SubjectFromWebIdentityToken", subject);
                    write_role_session(w, session);
                    w.text_element("Provider", provider);
                    w.text_element("Audience", audience);
                }
                Self::Saml { session, claims } => {
                    write_credentials(w, &session.credentials);
                    write_role_session(w, session);
                    w.text_element("Subject", &claims.subject);
                    w.text_element("SubjectType", &claims.subject_type);
                    w.text_element("Issuer", &claims.issuer);
                    w.text_element("Audience", &claims.audience);
                    w.text_element("NameQualifier", &claims.name_qualifier);
                }
                Self::AccessKeyInfo { account } => w.text_element("Account", &account.to_string()),
            },
        )
    }
}

#[cfg(test)]
mod timestamp_tests {
    use super::*;

    #[test]
    fn timestamps_match_the_format_description() {
        for unix in [
            0,
            1,
            59,
            951_782_400,
            1_572_640_007,
            4_102_444_799,
            253_402_300_799,
        ] {
            let t = OffsetDateTime::from_unix_timestamp(unix).unwrap();
            assert_eq!(format_timestamp(t), t.format(TIMESTAMP).unwrap(), "{unix}");
        }
        let offset = time::UtcOffset::from_hms(5, 30, 0).unwrap();
        let t = OffsetDateTime::from_unix_timestamp(1_572_640_007)
            .unwrap()
            .to_offset(offset);
        assert_eq!(format_timestamp(t), "2019-11-01T20:26:47Z", "shown in UTC");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: &str) -> Params<'_> {
        Params::decode("", body).unwrap()
    }

    #[test]
    fn action_and_version_resolution() {
        assert_eq!(
            resolve_action(&params("Action=GetCallerIdentity&Version=2011-06-15")),
            Ok(Action::GetCallerIdentity)
        );
        assert_eq!(
            resolve_action(&params("Version=2011-06-15"))
                .unwrap_err()
                .code,
            ErrorCode::MissingAction
        );
        let e = resolve_action(&params("Action=getcalleridentity&Version=2011-06-15")).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidAction);
        assert_eq!(
            e.message,
            "Could not find operation getcalleridentity for version 2011-06-15"
        );
        assert_eq!(
            resolve_action(&params("Action=GetCallerIdentity&Version=2010-05-08"))
                .unwrap_err()
                .code,
            ErrorCode::InvalidAction
        );
        assert_eq!(
            resolve_action(&params("Action=GetCallerIdentity"))
                .unwrap_err()
                .code,
            ErrorCode::InvalidAction
        );
    }

    #[test]
    fn web_identity_token_is_not_in_debug() {
        let r = decode_unsigned(
            Action::AssumeRoleWithWebIdentity,
            &params("RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=s1&WebIdentityToken=secret.token.value"),
        )
        .unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("secret.token.value"), "{shown}");
        assert!(shown.contains("role/r"));
    }

    #[test]
    fn every_action_name_round_trips() {
        for (action, name) in ACTIONS {
            assert_eq!(Action::parse(name), Some(action));
            assert_eq!(action.name(), name);
        }
        assert!(!Action::AssumeRoleWithSaml.needs_signature());
        assert!(Action::GetCallerIdentity.needs_signature());
    }

    #[test]
    fn session_token_duration_limits() {
        let ok = decode(Action::GetSessionToken, &params("DurationSeconds=900")).unwrap();
        assert_eq!(
            ok,
            Request::GetSessionToken(GetSessionToken {
                duration: DurationSeconds::new(900),
                mfa: None
            })
        );
        for (value, rule) in [
            ("899", "greater than or equal to 900"),
            ("129601", "less than or equal to 129600"),
            ("x", "be an integer"),
        ] {
            let e = decode(
                Action::GetSessionToken,
                &params(&format!("DurationSeconds={value}")),
            )
            .unwrap_err();
            assert_eq!(e.code, ErrorCode::ValidationError);
            assert!(e.message.contains(rule), "{}", e.message);
            assert!(
                e.message
                    .contains(&format!("Value '{value}' at 'durationSeconds'")),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn mfa_parameters_are_checked_for_format_and_pairing() {
        let ok = decode(
            Action::GetSessionToken,
            &params(
                "SerialNumber=arn%3Aaws%3Aiam%3A%3A111122223333%3Amfa%2Falice&TokenCode=123456",
            ),
        )
        .unwrap();
        assert!(matches!(
            ok,
            Request::GetSessionToken(GetSessionToken { mfa: Some(_), .. })
        ));
        for (body, needle) in [
            (
                "SerialNumber=GAHT12345678&TokenCode=12345",
                "have length greater than or equal to 6",
            ),
            (
                "SerialNumber=GAHT12345678&TokenCode=12345a",
                "satisfy regular expression pattern: [\\d]*",
            ),
            (
                "SerialNumber=short&TokenCode=123456",
                "have length greater than or equal to 9",
            ),
            (
                "SerialNumber=GAHT%2012345678&TokenCode=123456",
                "[\\w+=/:,.@-]*",
            ),
            ("SerialNumber=GAHT12345678", "Value null at 'tokenCode'"),
            ("TokenCode=123456", "Value null at 'serialNumber'"),
        ] {
            let e = decode(Action::GetSessionToken, &params(body)).unwrap_err();
            assert!(e.message.contains(needle), "{body}: {}", e.message);
        }
        let two = decode(
            Action::GetSessionToken,
            &params("DurationSeconds=1&SerialNumber=GAHT12345678&TokenCode=12"),
        )
        .unwrap_err();
        assert!(
            two.message.starts_with("2 validation errors detected:"),
            "{}",
            two.message
        );
    }

    #[test]
    fn access_key_info_needs_a_well_formed_id() {
        let e = decode(Action::GetAccessKeyInfo, &params("")).unwrap_err();
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'accessKeyId' failed to satisfy constraint: Member must not be null"
        );
        let e = decode(Action::GetAccessKeyInfo, &params("AccessKeyId=AKIA1")).unwrap_err();
        assert!(
            e.message
                .contains("Member must have length greater than or equal to 16")
        );
        let e = decode(
            Action::GetAccessKeyInfo,
            &params("AccessKeyId=AKIAIOSFODNN7EXAM-LE"),
        )
        .unwrap_err();
        assert!(e.message.contains("pattern"));
    }

    #[test]
    fn assume_role_parameters() {
        let ok = decode(Action::AssumeRole, &params("RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FDeploy&RoleSessionName=s1&Tags.member.1.Key=Project&Tags.member.1.Value=P&TransitiveTagKeys.member.1=Project&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2FX")).unwrap();
        let Request::AssumeRole(r) = ok else { panic!() };
        assert_eq!(r.tags, vec![("Project".to_owned(), "P".to_owned())]);
        assert_eq!(r.transitive_tag_keys, vec!["Project".to_owned()]);
        assert_eq!(r.policy_arns.len(), 1);
        for (body, needle) in [
            ("RoleSessionName=s1", "Value null at 'roleArn'"),
            (
                "RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FD&RoleSessionName=a%3Ab",
                "roleSessionName",
            ),
            (
                "RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FD&RoleSessionName=a",
                "greater than or equal to 2",
            ),
            (
                "RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FD&RoleSessionName=ab&DurationSeconds=43201",
                "less than or equal to 43200",
            ),
            (
                "RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FD&RoleSessionName=ab&ExternalId=x",
                "externalId",
            ),
            (
                "RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FD&RoleSessionName=ab&Tags.member.1.Key=k",
                "tags.1.member.value",
            ),
            (
                "RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FD&RoleSessionName=ab&ProvidedContexts.member.1.ProviderArn=x",
                "providedContexts",
            ),
        ] {
            let e = decode(Action::AssumeRole, &params(body)).unwrap_err();
            assert!(e.message.contains(needle), "{body}: {}", e.message);
        }
    }

    #[test]
    fn federation_token_parameters() {
        let Request::GetFederationToken(r) = decode(
            Action::GetFederationToken,
            &params("Name=bob&Policy=%7B%7D&DurationSeconds=900"),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!((r.name.as_str(), r.policy.as_deref()), ("bob", Some("{}")));
        for (body, needle) in [
            ("", "Value null at 'name'"),
            ("Name=b", "greater than or equal to 2"),
            (
                &format!("Name={}", "b".repeat(33)),
                "less than or equal to 32",
            ),
            ("Name=a%20b", "[\\w+=,.@-]*"),
            (
                "Name=bob&DurationSeconds=129601",
                "less than or equal to 129600",
            ),
            (
                &format!("Name=bob&Policy={}", "x".repeat(2049)),
                "less than or equal to 2048",
            ),
        ] {
            let e = decode(Action::GetFederationToken, &params(body)).unwrap_err();
            assert!(e.message.contains(needle), "{body}: {}", e.message);
        }
    }

    #[test]
    fn saml_parameters_are_validated_without_echoing_the_assertion() {
        let ok = decode_unsigned(
            Action::AssumeRoleWithSaml,
            &params("RoleArn=arn:aws:iam::123456789012:role/r&PrincipalArn=arn:aws:iam::123456789012:saml-provider/p&SAMLAssertion=PHNhbWw%2B&DurationSeconds=900"),
        )
        .unwrap();
        let Unsigned::Saml(r) = ok else {
            panic!("a SAML request")
        };
        assert_eq!(r.saml_assertion, "PHNhbWw+");
        assert!(!format!("{r:?}").contains("PHNhbWw"));
        let big = "A".repeat(100_001);
        let e = decode_unsigned(
            Action::AssumeRoleWithSaml,
            &params(&format!(
                "RoleArn=x&SAMLAssertion={big}&DurationSeconds=43201"
            )),
        )
        .unwrap_err();
        assert!(
            e.message.starts_with("4 validation errors detected"),
            "{}",
            e.message
        );
        assert!(e.message.contains("principalArn"), "{}", e.message);
        assert!(e.message.contains("'sAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to 100000"), "{}", e.message);
        assert!(!e.message.contains("AAAA"), "the assertion is not echoed");
    }

    #[test]
    fn unimplemented_actions_say_so() {
        assert_eq!(
            decode(Action::AssumeRoot, &params("")).unwrap_err().code,
            ErrorCode::NotImplemented
        );
    }

    #[test]
    fn caller_identity_xml() {
        let r = Response::CallerIdentity {
            arn: "arn:aws:iam::000000000001:user/a&b".into(),
            user_id: "AIDA".into(),
            account: AccountId::from_u64(1).unwrap(),
        };
        assert_eq!(
            r.to_xml("rid"),
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><UserId>AIDA</UserId><Account>000000000001</Account><Arn>arn:aws:iam::000000000001:user/a&amp;b</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        );
    }

    #[test]
    fn session_token_debug_is_redacted() {
        let t = SessionToken::new("ABCDEFGHIJKLMNOP".into());
        assert_eq!(format!("{t:?}"), "SessionToken(ABCDEFGH…<16 bytes>)");
    }
}
